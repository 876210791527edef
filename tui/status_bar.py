"""The status bar: each source's health, the pipeline's counters, and the stream's state.

Line 1, one entry per source::

    ● twitch:shop live hb 2s   ↻ youtube:abc reconnecting #3 (timeout)   ✖ bilibili:1 FAILED: ...

with, where a source had gaps, ``2 gaps 15s ~40 missed``. The heartbeat age is how long ago the
last sign of life was: the newer of the status's heartbeat and the source's last message.

Line 2, the pipeline: state (running / stopping / stream ended / failed), rate, queue depth,
latency. Line 3, the counters, with every loss counter (``dropped``, ``skipped``,
``unclassified``) always drawn and highlighted when non-zero; a failed source is never hidden.
Line 4 names the last skipped input.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from rich.text import Text
from textual.widgets import Static

from streamwatch.events import InputSkipped, PipelineStats, SourceState, SourceStatus
from streamwatch.tui.sanitize import clean

STALE_HEARTBEAT: Final = 30.0
"""A live source silent for longer than this shows its heartbeat age in yellow."""

_ICONS: Final[dict[SourceState, tuple[str, str]]] = {
    SourceState.CONNECTING: ("○", "yellow"),
    SourceState.LIVE: ("●", "green"),
    SourceState.RECONNECTING: ("↻", "yellow"),
    SourceState.DEGRADED: ("◐", "yellow"),
    SourceState.ENDED: ("■", "dim"),
    SourceState.FAILED: ("✖", "bold red"),
}

_LOSS: Final = "bold white on red"
_WARN: Final = "bold yellow"


@dataclass(slots=True)
class _SourceView:
    status: SourceStatus
    gaps: int = 0
    gap_seconds: float = 0.0
    missed: int = 0


class StatusBar(Static):
    """Source health and pipeline counters; re-rendered on the app's refresh timer."""

    def __init__(self, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock
        self._sources: dict[str, _SourceView] = {}
        self._last_message: dict[str, float] = {}
        self.stats: PipelineStats | None = None
        self.skipped_seen = 0
        self.last_skip: InputSkipped | None = None
        self.pipeline_state = "no pipeline attached"
        """``running``, ``stopping…``, ``stream ended``, ``pipeline failed: ...``."""

    # -- model ----------------------------------------------------------------------------

    def source_status(self, status: SourceStatus) -> None:
        view = self._sources.get(status.source)
        if view is None:
            view = self._sources[status.source] = _SourceView(status)
        view.status = status
        if status.gap_seconds > 0:
            view.gaps += 1
            view.gap_seconds += status.gap_seconds
            view.missed += status.missed_estimate or 0

    def message_seen(self, source: str, received_at: float) -> None:
        """A message arrived from ``source`` (``platform:stream_id``): a sign of life."""
        self._last_message[source] = received_at

    def input_skipped(self, event: InputSkipped) -> None:
        self.skipped_seen += 1
        self.last_skip = event

    def set_stats(self, stats: PipelineStats) -> None:
        self.stats = stats

    def set_pipeline_state(self, state: str) -> None:
        self.pipeline_state = state
        self.redraw()

    def source(self, name: str) -> SourceStatus | None:
        view = self._sources.get(name)
        return None if view is None else view.status

    # -- drawing --------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        now = self._clock()
        text = Text(end="")
        text.append_text(self._sources_line(now))
        text.append("\n")
        text.append_text(self._pipeline_line())
        if self.last_skip is not None:
            s = self.last_skip
            text.append("\n")
            text.append(
                f"last skipped: {clean(s.source, limit=40)} {clean(s.where, limit=24)}: "
                f"{clean(s.reason, limit=120)}",
                style="yellow",
            )
        self.update(text)

    def _heartbeat(self, name: str, view: _SourceView, now: float) -> float | None:
        seen: list[float] = []
        st = view.status
        if st.heartbeat_age is not None:
            seen.append(st.at - st.heartbeat_age)
        last = self._last_message.get(name)
        if last is not None:
            seen.append(last)
        return None if not seen else max(0.0, now - max(seen))

    def _sources_line(self, now: float) -> Text:
        line = Text(end="")
        if not self._sources:
            line.append("sources: none reported yet", style="dim")
            return line
        for i, (name, view) in enumerate(sorted(self._sources.items())):
            st = view.status
            if i:
                line.append("   ")
            icon, style = _ICONS.get(st.state, ("?", ""))
            line.append(f"{icon} ", style=style)
            line.append(clean(name, limit=40), style="bold")
            label = "FAILED" if st.state is SourceState.FAILED else st.state.value
            line.append(f" {label}", style=style)
            if st.state is SourceState.RECONNECTING and st.attempt:
                line.append(f" #{st.attempt}", style=style)
            if st.detail:
                sep = ": " if st.state in (SourceState.FAILED, SourceState.DEGRADED) else " "
                line.append(f"{sep}{clean(st.detail, limit=60)}", style=style)
            age = self._heartbeat(name, view, now)
            if age is not None and st.state in (SourceState.LIVE, SourceState.DEGRADED):
                line.append(f" hb {age:.0f}s", style=_WARN if age > STALE_HEARTBEAT else "dim")
            if view.gaps:
                gap = f" {view.gaps} gap{'s' if view.gaps > 1 else ''} {view.gap_seconds:.0f}s"
                if view.missed:
                    gap += f" ~{view.missed} missed"
                line.append(gap, style=_WARN)
            counters = [(k, v) for k, v in st.counters if v and k != "received"]
            if counters:
                shown = " ".join(f"{clean(k, limit=16)} {v}" for k, v in counters[:4])
                line.append(f" [{shown}]", style="yellow")
        return line

    def _pipeline_line(self) -> Text:
        line = Text(end="")
        state = self.pipeline_state
        if state == "running":
            line.append("▶ running", style="green")
        elif state.startswith("pipeline failed"):
            line.append(f"✖ {clean(state, limit=80)}", style=_LOSS)
        elif state == "stream ended":
            line.append("■ stream ended", style="bold")
        else:
            line.append(clean(state, limit=40), style=_WARN)
        s = self.stats or PipelineStats(at=0.0)
        line.append(f" │ {s.rate_per_s:.1f} msg/s")
        queue_style = ""
        if s.queue_capacity and s.queue_depth >= 0.8 * s.queue_capacity:
            queue_style = _LOSS
        elif s.queue_capacity and s.queue_depth >= 0.5 * s.queue_capacity:
            queue_style = _WARN
        line.append(" │ ")
        line.append(f"queue {s.queue_depth}/{s.queue_capacity}", style=queue_style)
        line.append(f" │ p50 {s.latency_p50_ms:.0f} p99 {s.latency_p99_ms:.0f} ms")
        line.append("\n")
        line.append(f"received {s.received}  classified {s.classified}  journaled {s.journaled}  ")
        line.append(f"dropped {s.dropped_overload}", style=_LOSS if s.dropped_overload else "dim")
        line.append("  ")
        skipped = max(s.skipped_invalid, self.skipped_seen)
        line.append(f"skipped {skipped}", style=_WARN if skipped else "dim")
        line.append("  ")
        line.append(f"unclassified {s.unclassified}", style=_WARN if s.unclassified else "dim")
        return line
