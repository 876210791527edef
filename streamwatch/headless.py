"""Running the pipeline without the TUI: progress on stderr, a summary at the end."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import TextIO

from streamwatch.engine import ConcernEngine
from streamwatch.events import (
    AlertEvent,
    ClassifiedMessage,
    ConcernStatus,
    InputSkipped,
    OutputEvent,
    PipelineStats,
    Role,
    SourceState,
    SourceStatus,
)
from streamwatch.pipeline import Pipeline

MAX_SKIP_LINES = 50


class ReportSink:
    """Counts what passes and reports skipped rows, failures and progress on ``out``."""

    def __init__(self, out: TextIO = sys.stderr, *, progress_every: float = 1.0) -> None:
        self.out = out
        self.progress_every = progress_every
        self.questions = 0
        """Viewers' questions and distrust (moderators count as viewers); the host's own lines
        and system notices raise no concern, so they are not counted."""
        self.distrust = 0
        self.languages: Counter[str] = Counter()
        self.alerts: list[AlertEvent] = []
        self.skipped = 0
        self.statuses: dict[str, SourceStatus] = {}
        self._last_progress = 0.0

    async def publish(self, events: Sequence[OutputEvent]) -> None:
        for event in events:
            if isinstance(event, ClassifiedMessage) and event.classification is not None:
                c = event.classification
                if event.message.role not in (Role.HOST, Role.SYSTEM):
                    self.questions += c.is_question
                    self.distrust += c.distrust
                self.languages[c.lang] += 1
            elif isinstance(event, InputSkipped):
                self.skipped += 1
                if self.skipped <= MAX_SKIP_LINES:
                    print(f"skipped {event.source} {event.where}: {event.reason}", file=self.out)
                elif self.skipped == MAX_SKIP_LINES + 1:
                    print("skipped: more rows skipped; counted in the summary", file=self.out)
            elif isinstance(event, AlertEvent):
                self.alerts.append(event)
                print(f"alert: {event.source}: {event.message}", file=self.out)
            elif isinstance(event, SourceStatus):
                self.statuses[event.source] = event
                if event.state in (
                    SourceState.FAILED,
                    SourceState.DEGRADED,
                    SourceState.RECONNECTING,
                ):
                    print(
                        f"source {event.source}: {event.state.value} {event.detail}", file=self.out
                    )
            elif isinstance(event, PipelineStats):
                now = time.monotonic()
                if now - self._last_progress >= self.progress_every:
                    self._last_progress = now
                    print(
                        f"progress: received={event.received} journaled={event.journaled}"
                        f" queue={event.queue_depth} rate={event.rate_per_s:.0f}/s",
                        file=self.out,
                        flush=True,
                    )

    async def close(self) -> None:
        self.out.flush()


async def run_headless(pipeline: Pipeline) -> PipelineStats:
    """Run until the sources end, the configured duration passes, or SIGINT/SIGTERM; then drain."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, pipeline.stop)
            installed.append(sig)
    try:
        return await pipeline.run()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def summary(stats: PipelineStats, engine: ConcernEngine, report: ReportSink, top: int = 10) -> str:
    """A plain-text summary of a finished run."""
    concerns = engine.concerns()
    open_ = [c for c in concerns if c.status is ConcernStatus.OPEN]
    answered = sum(c.status is ConcernStatus.ANSWERED for c in concerns)
    langs = ", ".join(f"{lang} {n}" for lang, n in report.languages.most_common(8))
    lines = [
        f"messages: {stats.received} received, {stats.classified} classified,"
        f" {stats.unclassified} unclassified, {stats.skipped_invalid} rows skipped,"
        f" {stats.dropped_overload} dropped (overload)",
        f"viewers' questions: {report.questions}   distrust: {report.distrust}"
        f"   languages: {langs or '-'}",
        f"concerns: {len(concerns)} ({len(open_)} open, {answered} answered)"
        f"   alerts: {len(report.alerts)}",
        f"throughput: {stats.rate_per_s:.0f} msg/s   latency p50 {stats.latency_p50_ms:.1f} ms"
        f"  p99 {stats.latency_p99_ms:.1f} ms",
    ]
    for status in report.statuses.values():
        lines.append(f"source {status.source}: {status.state.value} {status.detail}".rstrip())
    if open_:
        lines.append("top open concerns:")
        for c in open_[:top]:
            label = c.label.replace("\n", " ")[:70]
            lines.append(
                f"  {c.priority:6.1f}  {c.author_count:3d} viewers  {c.topic.value:<24} {label}"
            )
    for alert in report.alerts[:5]:
        lines.append(f"alert: {alert.message}")
    return "\n".join(lines)
