"""Alerts the host should look at now (distrust surges), newest first.

The panel keeps the last :data:`MAX_ALERTS` alerts, shows how long ago each fired (from the
app's clock, so tests are deterministic), and carries the ``-fresh`` class while the newest alert
is younger than :data:`FRESH_SECONDS`, which the stylesheet turns into a red border.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from itertools import islice
from typing import Final

from rich.text import Text
from textual.widgets import Static

from streamwatch.events import AlertEvent
from streamwatch.tui.concern_queue import format_age
from streamwatch.tui.sanitize import clean

MAX_ALERTS: Final = 50
FRESH_SECONDS: Final = 60.0
_DRAWN: Final = 12
"""Alerts rendered at most (the panel is a few lines high; the title counts them all)."""

_KIND_NAMES: Final = {"distrust_surge": "DISTRUST SURGE"}


def render_alert(alert: AlertEvent, now: float) -> Text:
    """One alert line: age, kind, source, the engine's sentence (cleaned: it may quote chat)."""
    fresh = now - alert.at < FRESH_SECONDS
    line = Text(end="")
    line.append("⚠ ", style="bold red" if fresh else "dim")
    line.append(f"{format_age(now - alert.at)} ago ", style="" if fresh else "dim")
    kind = _KIND_NAMES.get(alert.kind, clean(alert.kind, limit=24))
    line.append(kind, style="bold red" if fresh else "red")
    line.append(f" {clean(alert.source, limit=40)}", style="dim")
    line.append("\n")
    line.append(clean(alert.message, limit=240), style="" if fresh else "dim")
    if alert.concern_id:
        line.append(f" (concern {clean(alert.concern_id, limit=16)})", style="dim")
    return line


class AlertsPanel(Static):
    """The newest alerts; empty state says so plainly."""

    def __init__(self, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock
        self._alerts: deque[AlertEvent] = deque(maxlen=MAX_ALERTS)
        self._dirty = True
        self.border_title = "alerts"

    def add(self, alert: AlertEvent) -> None:
        self._alerts.appendleft(alert)
        self._dirty = True

    @property
    def alerts(self) -> list[AlertEvent]:
        """Alerts kept, newest first."""
        return list(self._alerts)

    def on_mount(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Re-render (ages move, so this runs on every refresh tick; it is a few lines)."""
        now = self._clock()
        if not self._alerts:
            if self._dirty:
                self.update(Text("no alerts", style="dim"))
                self._dirty = False
            return
        self._dirty = False
        body = Text(end="")
        for i, alert in enumerate(islice(self._alerts, _DRAWN)):
            if i:
                body.append("\n")
            body.append_text(render_alert(alert, now))
        self.update(body)
        self.set_class(now - self._alerts[0].at < FRESH_SECONDS, "-fresh")
        self.border_title = f"alerts ({len(self._alerts)})"
