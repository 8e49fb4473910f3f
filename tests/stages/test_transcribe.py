"""The transcribe stage: decode any common media to 16 kHz mono, pluggable recognisers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from pipeline.assets import SAMPLE_WORDS, sample_path
from pipeline.stages.stage_errors import TranscriptionError
from pipeline.stages.transcribe import (
    SAMPLE_RATE,
    decode_audio,
    get_transcriber,
    pocketsphinx_transcriber,
    register_transcriber,
    transcribe,
    transcriber_names,
)
from tests.stages.conftest import MediaServer
from tests.stages.media_files import write_media

VARIANTS = {
    "speech.wav": {
        "container": "wav",
        "audio_codec": "pcm_s16le",
        "rate": 44_100,
        "layout": "stereo",
    },
    "speech.mp3": {"container": "mp3", "audio_codec": "libmp3lame", "rate": 44_100},
    "speech.m4a": {"container": "mp4", "audio_codec": "aac", "rate": 22_050, "layout": "stereo"},
    "talk.mp4": {"container": "mp4", "audio_codec": "aac", "rate": 48_000, "video_codec": "mpeg4"},
    "talk.webm": {
        "container": "webm",
        "audio_codec": "libopus",
        "rate": 48_000,
        "video_codec": "libvpx",
    },
    "talk.mkv": {
        "container": "matroska",
        "audio_codec": "flac",
        "rate": 32_000,
        "video_codec": "mpeg4",
    },
}


@pytest.fixture(scope="module")
def sample_pcm() -> NDArray[np.int16]:
    """The bundled sample, decoded once per module."""
    return decode_audio(sample_path())


def test_decodes_sample_to_16k_mono_int16(sample_pcm: NDArray[np.int16]) -> None:
    assert sample_pcm.dtype == np.int16
    assert sample_pcm.ndim == 1
    assert 5 < len(sample_pcm) / SAMPLE_RATE < 15
    assert int(np.abs(sample_pcm.astype(np.int32)).max()) > 1000


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_decodes_common_audio_and_video_formats(
    tmp_path: Path, sample_pcm: NDArray[np.int16], name: str
) -> None:
    path = write_media(tmp_path / name, sample_pcm, **VARIANTS[name])  # type: ignore[arg-type]
    decoded = decode_audio(path)
    assert decoded.dtype == np.int16
    assert abs(len(decoded) - len(sample_pcm)) < 0.1 * SAMPLE_RATE
    assert int(np.abs(decoded.astype(np.int32)).max()) > 1000


def test_non_media_file_is_a_transcription_error(tmp_path: Path) -> None:
    fake = tmp_path / "episode.mp3"
    fake.write_text("<html>this is not audio</html>" * 100)
    with pytest.raises(TranscriptionError, match=r"episode\.mp3: not a supported audio or video"):
        decode_audio(fake)
    with pytest.raises(TranscriptionError):
        transcribe(fake)


def test_empty_file_is_a_transcription_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.ogg"
    empty.write_bytes(b"")
    with pytest.raises(TranscriptionError):
        decode_audio(empty)


def test_missing_file_and_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TranscriptionError, match="not an existing file"):
        decode_audio(tmp_path / "missing.ogg")
    with pytest.raises(TranscriptionError, match="not an existing file"):
        decode_audio(tmp_path)


def test_url_is_never_opened_as_media(media_server: MediaServer) -> None:
    with pytest.raises(TranscriptionError, match="not an existing file"):
        decode_audio(media_server.url("/sample.ogg"))
    assert media_server.state.hits == []


def test_playlist_cannot_fetch_other_inputs(tmp_path: Path, media_server: MediaServer) -> None:
    playlist = tmp_path / "list.m3u8"
    segment = media_server.url("/sample.ogg")
    playlist.write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:11\n#EXTINF:11,\n{segment}\n#EXT-X-ENDLIST\n"
    )
    with pytest.raises(TranscriptionError):
        decode_audio(playlist)
    assert media_server.state.hits == []


def test_video_without_audio_is_refused(tmp_path: Path) -> None:
    path = write_media(tmp_path / "silent.mp4", None, container="mp4", video_codec="mpeg4")
    with pytest.raises(TranscriptionError, match="has no audio stream"):
        decode_audio(path)


def test_duration_limit(sample_pcm: NDArray[np.int16]) -> None:
    with pytest.raises(TranscriptionError, match="longer than the 2 s limit"):
        decode_audio(sample_path(), max_seconds=2)


def test_unknown_backend_names_the_choices() -> None:
    with pytest.raises(TranscriptionError, match=r"unknown transcriber 'whisper-xl'.*pocketsphinx"):
        transcribe(sample_path(), backend="whisper-xl")


def test_default_backend_is_registered() -> None:
    assert "pocketsphinx" in transcriber_names()
    assert get_transcriber("pocketsphinx") is pocketsphinx_transcriber


def test_registered_backend_is_used(tmp_path: Path) -> None:
    calls: list[Path] = []

    def fake(path: Path) -> str:
        calls.append(path)
        return "  hello \n world  "

    register_transcriber("test-fake", fake)
    assert transcribe(str(sample_path()), backend="test-fake") == "hello world"
    assert calls == [sample_path()]


def test_dotted_path_backend() -> None:
    assert transcribe(sample_path(), backend="os.path:basename") == sample_path().name


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("no_such_module_for_jobstate:run", "cannot import"),
        ("os:sep", "not a callable"),
        ("os.path:no_such_function", "os.path has no .no_such_function."),
        ("bad name!", "unknown transcriber"),
    ],
)
def test_bad_dotted_paths(spec: str, problem: str) -> None:
    with pytest.raises(TranscriptionError, match=problem):
        transcribe(sample_path(), backend=spec)


def test_backend_failure_is_typed() -> None:
    def broken(path: Path) -> str:
        raise RuntimeError("model exploded")

    register_transcriber("test-broken", broken)
    with pytest.raises(TranscriptionError, match="'test-broken' failed: RuntimeError: model"):
        transcribe(sample_path(), backend="test-broken")


def test_backend_must_return_text() -> None:
    register_transcriber("test-bytes", lambda path: b"bytes")  # type: ignore[arg-type,return-value]
    with pytest.raises(TranscriptionError, match="returned bytes"):
        transcribe(sample_path(), backend="test-bytes")


def test_backend_names_are_checked() -> None:
    with pytest.raises(TranscriptionError, match="name"):
        register_transcriber("has:colon", lambda path: "")


@pytest.mark.slow
def test_pocketsphinx_recognises_the_sample() -> None:
    text = transcribe(sample_path())
    heard = set(text.split()) & SAMPLE_WORDS
    assert text
    assert len(heard) >= 4, text


@pytest.mark.slow
def test_pocketsphinx_reads_video_containers(tmp_path: Path, sample_pcm: NDArray[np.int16]) -> None:
    path = write_media(tmp_path / "talk.mp4", sample_pcm, **VARIANTS["talk.mp4"])  # type: ignore[arg-type]
    assert set(transcribe(path).split()) & SAMPLE_WORDS
