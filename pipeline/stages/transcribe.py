"""Transcribe stage: decode any common media to 16 kHz mono PCM and recognise the speech.

Decoding uses PyAV (FFmpeg). Recognition is pluggable: :func:`register_transcriber` adds a named
backend, and a ``"module:callable"`` path names one without registering it. A backend takes the
media file's path and returns text. The default, ``"pocketsphinx"``, runs offline with the English
model bundled in the ``pocketsphinx`` package.

PyAV, NumPy and pocketsphinx come with the ``media`` extra (``pip install
'pytest-jobstate[media]'``); without it this module still imports, and decoding or the
default recogniser raise :class:`TranscriptionError` naming the extra.
"""

from __future__ import annotations

import importlib
import io
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pipeline.stages.registry import Registry
from pipeline.stages.stage_errors import TranscriptionError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "DEFAULT_TRANSCRIBER",
    "MAX_SECONDS",
    "MEDIA_EXTRA",
    "SAMPLE_RATE",
    "Transcriber",
    "decode_audio",
    "get_transcriber",
    "media_module",
    "pocketsphinx_transcriber",
    "register_transcriber",
    "transcribe",
    "transcriber_names",
]

Transcriber = Callable[[Path], str]
"""A recogniser: media file path in, transcript out."""

SAMPLE_RATE = 16_000
MAX_SECONDS = 3 * 3600
DEFAULT_TRANSCRIBER = "pocketsphinx"
# FFmpeg checks every input a demuxer opens by itself (playlist segments, concat lists, external
# references) against this list. "none" names no protocol, so a media file cannot make the worker
# fetch URLs or read other local files.
_NO_NESTED_INPUTS = {"protocol_whitelist": "none"}
_MAX_DETAIL = 200
MEDIA_EXTRA = "pip install 'pytest-jobstate[media]'"
"""How to install what decoding and the default recogniser need."""

_transcribers: Registry[Transcriber] = Registry("transcriber", TranscriptionError)
_local = threading.local()


def media_module(name: str) -> ModuleType:
    """Import ``name`` (``av``, ``numpy``, ``pocketsphinx``) of the ``media`` extra.

    Raises :class:`TranscriptionError` naming the extra when it is not installed.
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise TranscriptionError(
            f"transcribing needs the media extra ({name} is not installed): {MEDIA_EXTRA}"
        ) from exc


def register_transcriber(name: str, transcriber: Transcriber) -> None:
    """Make ``transcriber`` available under ``name`` (replacing any backend of that name)."""
    _transcribers.register(name, transcriber)


def get_transcriber(spec: str) -> Transcriber:
    """The backend registered as ``spec``, or the callable at a ``"module:callable"`` path."""
    return _transcribers.get(spec)


def transcriber_names() -> tuple[str, ...]:
    """Names of the registered transcribers."""
    return _transcribers.names()


def transcribe(path: str | os.PathLike[str], backend: str = DEFAULT_TRANSCRIBER) -> str:
    """Recognise the speech in the media file at ``path`` with ``backend``.

    Raises :class:`TranscriptionError` for an unknown backend, an undecodable file or a backend
    failure.
    """
    transcriber = get_transcriber(backend)
    try:
        text = transcriber(Path(path))
    except TranscriptionError:
        raise
    except Exception as exc:
        detail = str(exc)[:_MAX_DETAIL]
        raise TranscriptionError(
            f"transcriber {backend!r} failed: {type(exc).__name__}: {detail}"
        ) from exc
    if not isinstance(text, str):
        raise TranscriptionError(f"transcriber {backend!r} returned {type(text).__name__}")
    return " ".join(text.split())


def decode_audio(
    path: str | os.PathLike[str], *, max_seconds: float = MAX_SECONDS
) -> NDArray[np.int16]:
    """Decode the first audio stream of any media file to 16 kHz mono 16-bit samples.

    Raises :class:`TranscriptionError` when the file is missing, is not media, has no audio, or
    is longer than ``max_seconds``.
    """
    av = media_module("av")
    source = _regular_file(path)
    try:
        with source.open("rb") as raw, av.open(raw, "r", options=_NO_NESTED_INPUTS) as media:
            return _decode_first_audio(media, source.name, int(max_seconds * SAMPLE_RATE))
    except (av.FFmpegError, OSError) as exc:
        raise TranscriptionError(
            f"cannot decode {source.name}: not a supported audio or video file"
        ) from exc


def pocketsphinx_transcriber(path: Path) -> str:
    """Offline English recognition with pocketsphinx, one utterance per detected speech region."""
    samples = decode_audio(path)
    decoder = _pocketsphinx_decoder()
    texts = (_recognise(decoder, pcm) for pcm in _speech_regions(samples))
    return " ".join(text for text in texts if text)


def _regular_file(path: str | os.PathLike[str]) -> Path:
    source = Path(path)
    if not source.is_file():
        raise TranscriptionError(f"{source.name or str(source)!r} is not an existing file")
    return source


def _decode_first_audio(media: Any, name: str, max_samples: int) -> NDArray[np.int16]:
    numpy = media_module("numpy")
    if not media.streams.audio:
        raise TranscriptionError(f"{name} has no audio stream")
    chunks: list[NDArray[np.int16]] = []
    total = 0
    for chunk in _resampled(media, media.streams.audio[0]):
        total += chunk.size
        if total > max_samples:
            limit = max_samples // SAMPLE_RATE
            raise TranscriptionError(f"{name} is longer than the {limit} s limit")
        chunks.append(chunk)
    if not chunks:
        raise TranscriptionError(f"{name} contains no audio samples")
    joined: NDArray[np.int16] = numpy.concatenate(chunks)
    return joined


def _resampled(media: Any, stream: Any) -> Iterator[NDArray[np.int16]]:
    """Blocks of 16 kHz mono int16 samples, the resampler's tail included."""
    av, numpy = media_module("av"), media_module("numpy")
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    for frame in media.decode(stream):
        for out in resampler.resample(frame):
            yield out.to_ndarray().reshape(-1).astype(numpy.int16, copy=False)
    for out in resampler.resample(None):
        yield out.to_ndarray().reshape(-1).astype(numpy.int16, copy=False)


def _pocketsphinx_decoder() -> Any:
    """One decoder per thread: loading the model is slow and a decoder is not thread-safe."""
    decoder = getattr(_local, "decoder", None)
    if decoder is None:
        decoder = media_module("pocketsphinx").Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        _local.decoder = decoder
    return decoder


def _speech_regions(samples: NDArray[np.int16]) -> Iterator[bytes]:
    """Split long audio at silences so each utterance stays short."""
    segmenter = media_module("pocketsphinx").Segmenter(sample_rate=SAMPLE_RATE)
    for segment in segmenter.segment(io.BytesIO(samples.tobytes())):
        yield bytes(segment.pcm)


def _recognise(decoder: Any, pcm: bytes) -> str:
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return str(hypothesis.hypstr) if hypothesis is not None else ""


register_transcriber(DEFAULT_TRANSCRIBER, pocketsphinx_transcriber)
