"""Write small media files in several containers with PyAV, for decoder tests."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray

VIDEO_RATE = 10


def write_media(
    path: Path,
    samples: NDArray[np.int16] | None,
    *,
    container: str,
    audio_codec: str = "",
    rate: int = 16_000,
    layout: str = "mono",
    video_codec: str = "",
) -> Path:
    """Write 16 kHz mono ``samples`` (resampled to ``rate``/``layout``) and/or a blank video."""
    with av.open(str(path), "w", format=container) as out:
        audio = _audio_stream(out, audio_codec, rate, layout) if samples is not None else None
        video = _video_stream(out, video_codec) if video_codec else None
        seconds = len(samples) / 16_000 if samples is not None else 2.0
        if video is not None:
            _write_video(out, video, seconds)
        if audio is not None and samples is not None:
            _write_audio(out, audio, samples)
    return path


def _audio_stream(
    out: av.container.OutputContainer, codec: str, rate: int, layout: str
) -> av.AudioStream:
    stream = out.add_stream(codec, rate=rate)
    stream.layout = layout
    return stream


def _video_stream(out: av.container.OutputContainer, codec: str) -> av.VideoStream:
    stream = out.add_stream(codec, rate=VIDEO_RATE)
    stream.width = 64
    stream.height = 48
    stream.pix_fmt = "yuv420p"
    return stream


def _write_audio(
    out: av.container.OutputContainer, stream: av.AudioStream, samples: NDArray[np.int16]
) -> None:
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = 16_000
    frame.time_base = Fraction(1, 16_000)
    frame.pts = 0
    for packet in stream.encode(frame):
        out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def _write_video(out: av.container.OutputContainer, stream: av.VideoStream, seconds: float) -> None:
    picture = np.zeros((48, 64, 3), dtype=np.uint8)
    for index in range(int(seconds * VIDEO_RATE)):
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        frame.pts = index
        frame.time_base = Fraction(1, VIDEO_RATE)
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)
