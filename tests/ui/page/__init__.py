"""The job page in a real Chromium."""
