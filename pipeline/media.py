"""The reference media pipeline: download -> transcribe -> quotes -> summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.stages.download import download
from pipeline.stages.text import extract_quotes, summarise
from pipeline.stages.transcribe import transcribe
from pipeline.tracking import StageRun, Tracker

__all__ = ["register_media_stages"]


def _download(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    """Fetch the media (SSRF-guarded, size- and time-limited), reporting bytes."""
    s = run.settings

    def report(done: int, total: int | None) -> None:
        percent = round(100 * done / total, 1) if total else None
        run.progress({"bytes": done, "total": total, "percent": percent})

    path = download(
        ctx["url"],
        run.workdir,
        allow_hosts=s.allow_hosts,
        max_bytes=s.download_max_bytes,
        timeout=s.download_timeout_seconds,
        on_progress=report,
    )
    ctx.setdefault("artifacts", {})["media"] = str(path)
    return ctx


def _transcribe(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    """Decode to 16 kHz mono and recognise speech with the configured backend."""
    text = transcribe(Path(ctx["artifacts"]["media"]), backend=run.settings.transcriber)
    out = run.workdir / "transcript.txt"
    out.write_text(text, encoding="utf-8")
    ctx["artifacts"]["transcript"] = str(out)
    return ctx


def _quotes(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    """Pick the most representative sentences of the transcript."""
    text = Path(ctx["artifacts"]["transcript"]).read_text(encoding="utf-8")
    out = run.workdir / "quotes.json"
    out.write_text(json.dumps(extract_quotes(text)), encoding="utf-8")
    ctx["artifacts"]["quotes"] = str(out)
    return ctx


def _summary(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    """Summarise the transcript with the configured backend; the result travels to the
    final status."""
    text = Path(ctx["artifacts"]["transcript"]).read_text(encoding="utf-8")
    quotes = json.loads(Path(ctx["artifacts"]["quotes"]).read_text(encoding="utf-8"))
    summary = summarise(text, backend=run.settings.summariser)
    ctx["result"] = {"transcript": text, "quotes": quotes, "summary": summary}
    return ctx


def register_media_stages(tracker: Tracker) -> None:
    """Register the four media stages on ``tracker``'s app."""
    tracker.stage("DOWNLOADING", name="jobstate.download")(_download)
    tracker.stage("TRANSCRIBING", name="jobstate.transcribe")(_transcribe)
    tracker.stage("GENERATING_QUOTES", name="jobstate.quotes")(_quotes)
    tracker.stage("GENERATING_SUMMARY", name="jobstate.summary")(_summary)
