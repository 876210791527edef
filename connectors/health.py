"""Per-source health bookkeeping, snapshotted as :class:`~streamwatch.events.SourceStatus`."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from streamwatch.events import SourceState, SourceStatus


@dataclass
class SourceHealth:
    """Counters and timestamps of one source; :meth:`status` snapshots them as an event."""

    source: str
    clock: object = field(default=time.time, repr=False)
    counters: Counter[str] = field(default_factory=Counter)
    last_seen: float | None = None
    disconnected_at: float | None = None

    def now(self) -> float:
        clock = self.clock
        assert callable(clock)
        value = clock()
        assert isinstance(value, float)
        return value

    def count(self, name: str, n: int = 1) -> None:
        """Count ``received``, ``malformed``, ``oversized``, ``duplicates``, ``invalid_utf8``..."""
        self.counters[name] += n

    def seen(self) -> None:
        """Any sign of life from the server (a message, a PING, a heartbeat reply)."""
        self.last_seen = self.now()

    def status(
        self,
        state: SourceState,
        detail: str = "",
        *,
        attempt: int = 0,
        gap_seconds: float = 0.0,
        missed_estimate: int | None = None,
    ) -> SourceStatus:
        now = self.now()
        age = None if self.last_seen is None else max(0.0, now - self.last_seen)
        return SourceStatus(
            source=self.source,
            state=state,
            at=now,
            detail=detail,
            attempt=attempt,
            heartbeat_age=age,
            gap_seconds=gap_seconds,
            missed_estimate=missed_estimate,
            counters=tuple(sorted(self.counters.items())),
        )

    def live(self, detail: str = "") -> SourceStatus:
        """A ``live`` status for a connection that is up, with the gap since the last one."""
        return self.status(SourceState.LIVE, detail, gap_seconds=self.reconnected())

    def disconnected(self) -> None:
        if self.disconnected_at is None:
            self.disconnected_at = self.now()

    def reconnected(self) -> float:
        """Mark the connection back up; returns the gap in seconds (0 if there was none)."""
        if self.disconnected_at is None:
            return 0.0
        gap = max(0.0, self.now() - self.disconnected_at)
        self.disconnected_at = None
        return gap
