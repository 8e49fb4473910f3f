"""Regenerate the bundled speech sample: ``python -m pipeline.assets.make_sample [OUT]``.

Speaks :data:`pipeline.assets.SAMPLE_TEXT` with flite's ``rms`` voice (``apt-get install
flite``), then encodes the speech with PyAV as Opus at 24 kbit/s, 16 kHz mono, in an Ogg
container (about 35 KB). The voice and bitrate were chosen because the default pocketsphinx
recogniser transcribes this sentence almost word for word.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import av

from pipeline.assets import SAMPLE_NAME, SAMPLE_TEXT
from pipeline.stages.transcribe import SAMPLE_RATE, decode_audio

__all__ = ["encode_opus", "main", "synthesise"]

VOICE = "rms"
BITRATE = 24_000


def synthesise(text: str, wav: Path, voice: str = VOICE) -> None:
    """Write ``text`` spoken by flite's ``voice`` to the WAV file ``wav``."""
    flite = shutil.which("flite")
    if flite is None:
        raise SystemExit("flite not found on PATH: install it with 'apt-get install flite'")
    subprocess.run([flite, "-voice", voice, "-t", text, "-o", str(wav)], check=True)


def encode_opus(wav: Path, out: Path, bitrate: int = BITRATE) -> None:
    """Encode ``wav`` as 16 kHz mono Opus in an Ogg container at ``out``."""
    samples = decode_audio(wav)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = SAMPLE_RATE
    with av.open(str(out), "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=SAMPLE_RATE)
        stream.layout = "mono"
        stream.bit_rate = bitrate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def main(argv: list[str] | None = None) -> None:
    """Synthesise and encode the sample to ``argv[0]`` (default: next to this script)."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else Path(__file__).with_name(SAMPLE_NAME)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        synthesise(SAMPLE_TEXT, wav)
        encode_opus(wav, out)
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
