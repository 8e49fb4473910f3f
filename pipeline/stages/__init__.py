"""The reference pipeline's stages as plain functions (no Celery): wire them into tasks elsewhere.

- :mod:`pipeline.stages.download` -- ``download(url, dest_dir, ...)``: streamed, SSRF-guarded,
  size- and time-limited.
- :mod:`pipeline.stages.transcribe` -- ``decode_audio(path)`` and ``transcribe(path, backend)``.
- :mod:`pipeline.stages.text` -- ``extract_quotes(text, n)`` and ``summarise(text, max_sentences)``.
- :mod:`pipeline.stages.stage_errors` -- the typed errors, re-exported here.

Functions are not re-exported, so ``pipeline.stages.download`` always names the module.
"""

from pipeline.deprecation import alias_modules
from pipeline.stages.stage_errors import (
    DownloadBlocked,
    DownloadError,
    DownloadTimeout,
    DownloadTooLarge,
    StageError,
    TextError,
    TooManyRedirects,
    TranscriptionError,
    TransportFailed,
    UpstreamStatus,
)

__all__ = [
    "DownloadBlocked",
    "DownloadError",
    "DownloadTimeout",
    "DownloadTooLarge",
    "StageError",
    "TextError",
    "TooManyRedirects",
    "TranscriptionError",
    "TransportFailed",
    "UpstreamStatus",
]

# The module's old name (one of three errors.py): importing it still works, warning once.
alias_modules({"pipeline.stages.errors": "pipeline.stages.stage_errors"})
