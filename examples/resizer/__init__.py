"""Resize images in the background: QUEUED -> RESIZING -> UPLOADING -> DONE (or FAILED)."""
