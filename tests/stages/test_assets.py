"""The bundled speech sample and the script that makes it."""

from __future__ import annotations

from pathlib import Path

import av

from pipeline.assets import SAMPLE_NAME, SAMPLE_TEXT, SAMPLE_WORDS, sample_path
from pipeline.assets.make_sample import encode_opus
from pipeline.stages.transcribe import SAMPLE_RATE, decode_audio
from tests.stages.media_files import write_media


def test_sample_is_a_small_packaged_file() -> None:
    path = sample_path()
    assert path.name == SAMPLE_NAME
    assert path.is_file()
    assert 1_000 < path.stat().st_size < 200_000
    assert sample_path() == path


def test_sample_is_opus_speech_of_a_few_seconds() -> None:
    with av.open(str(sample_path())) as media:
        assert media.streams.audio[0].codec_context.name == "opus"
    assert 5 < len(decode_audio(sample_path())) / SAMPLE_RATE < 15


def test_expected_words_are_in_the_sample_text() -> None:
    spoken = set(SAMPLE_TEXT.lower().replace(".", "").replace(",", "").split())
    assert SAMPLE_WORDS.issubset(spoken)


def test_encoder_round_trip(tmp_path: Path) -> None:
    speech = decode_audio(sample_path())
    wav = write_media(tmp_path / "speech.wav", speech, container="wav", audio_codec="pcm_s16le")
    out = tmp_path / "again.ogg"
    encode_opus(wav, out)
    assert out.stat().st_size < 200_000
    assert abs(len(decode_audio(out)) - len(speech)) < 0.05 * SAMPLE_RATE
