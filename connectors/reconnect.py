"""Reconnect policy and loop shared by the network connectors.

A :class:`Backoff` is an object (not a loop hidden in a connector) so tests swap in a zero-delay
one: a random first delay, then x1.6 per attempt up to a cap, reset after a connection that stayed
up. Modelled on websockets' ``asyncio/client.py`` backoff generator and redis-py's ``Retry``.

:class:`Reconnects` turns a lost connection into the status the user sees and the wait before
the next try. A connector writes one connection as an async generator that yields events and
ends by raising :class:`Disconnected` (how it ended), and :meth:`Reconnects.run` drives it::

    connecting -> [connection: live, chat...] -> reconnecting #1 -> [connection] -> ...
                                                 -> failed (fatal, or retries exhausted)
                                                 -> ended (the stream is over)
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Literal

from streamwatch.connectors.common import option_int
from streamwatch.connectors.health import SourceHealth
from streamwatch.errors import ConnectorError
from streamwatch.events import SourceEvent, SourceState, SourceStatus

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
"""How a source waits (``asyncio.sleep``; tests record the delays instead)."""


@dataclass
class Backoff:
    """Jittered exponential backoff; call :meth:`next_delay` per failed attempt."""

    initial: float = 1.0
    """Upper bound of the random first delay, seconds."""
    factor: float = 1.6
    cap: float = 60.0
    max_attempts: int | None = None
    """Give up (fatal) after this many consecutive failures; None retries forever."""
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0
    _delay: float = 0.0

    def next_delay(self) -> float:
        """The delay before the next attempt; increments :attr:`attempt`."""
        self.attempt += 1
        if self.attempt == 1:
            self._delay = self.rng.uniform(0.0, self.initial)
        else:
            self._delay = min(self.cap, max(self._delay, self.initial / 4) * self.factor)
        return self._delay

    def exhausted(self) -> bool:
        return self.max_attempts is not None and self.attempt >= self.max_attempts

    def reset(self) -> None:
        """Call once a connection is up and healthy."""
        self.attempt = 0
        self._delay = 0.0


def no_delay_backoff(max_attempts: int | None = None) -> Backoff:
    """A backoff for tests: retries at once."""
    return Backoff(initial=0.0, factor=1.0, cap=0.0, max_attempts=max_attempts)


def retry_backoff(
    options: Mapping[str, str], backoff: Backoff | None = None, default_retries: int = 0
) -> Backoff:
    """``backoff`` if one was injected, else one giving up after the ``retries`` option's number
    of consecutive failures (0: never)."""
    if backoff is not None:
        return backoff
    retries = option_int(options, "retries", default_retries)
    return Backoff(max_attempts=retries or None)


class Disconnected(ConnectorError):
    """How one connection ended; raised by a connection that :meth:`Reconnects.run` drives."""

    def __init__(
        self,
        detail: str,
        *,
        final: SourceState | None = None,
        state: SourceState = SourceState.RECONNECTING,
        min_delay: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        """Why, for the status line (never with a secret in it)."""
        self.final = final
        """``failed`` or ``ended``: stop without retrying; None: reconnect."""
        self.state = state
        """The state shown while waiting to reconnect (``degraded`` when rate limited...)."""
        self.min_delay = min_delay
        """Wait at least this long (the server's ``Retry-After``)."""


@dataclass
class Reconnects:
    """What a lost connection leads to: the status to show and how long to wait."""

    health: SourceHealth
    backoff: Backoff
    sleep: Sleep = asyncio.sleep
    limit: Literal["failures", "reconnects"] = "failures"
    """What ``backoff.max_attempts`` counts: consecutive failed connections, the first one
    included ("gave up after 3 tries"), or reconnect attempts after the first failure, so the
    source gives up one failure later ("gave up after 2 attempts"; Twitch and Bilibili)."""

    def after(self, lost: Disconnected) -> tuple[SourceStatus, float | None]:
        """The status for a lost connection and the delay before the next one (None: stop).

        Counts ``reconnects`` and marks the source disconnected, so that the next
        :meth:`SourceHealth.live` status carries the gap.
        """
        health, backoff = self.health, self.backoff
        health.disconnected()
        if lost.final is not None:
            return self._stop(lost.final, lost.detail), None
        if self.limit == "reconnects" and backoff.exhausted():
            detail = f"gave up after {backoff.attempt} attempts: {lost.detail}"
            return self._stop(SourceState.FAILED, detail), None
        delay = backoff.next_delay()
        if self.limit == "failures" and backoff.exhausted():
            detail = f"gave up after {backoff.attempt} tries: {lost.detail}"
            return self._stop(SourceState.FAILED, detail), None
        if lost.min_delay is not None:
            delay = max(delay, lost.min_delay)
        health.count("reconnects")
        log.info("%s: %s; reconnecting in %.1f s", health.source, lost.detail, delay)
        return health.status(lost.state, lost.detail, attempt=backoff.attempt), delay

    def _stop(self, state: SourceState, detail: str) -> SourceStatus:
        level = logging.WARNING if state is SourceState.FAILED else logging.INFO
        log.log(level, "%s: %s", self.health.source, detail)
        return self.health.status(state, detail)

    async def run(
        self,
        connection: Callable[[], AsyncGenerator[SourceEvent, None]],
        *,
        connecting: str,
    ) -> AsyncGenerator[SourceEvent, None]:
        """Yield ``connecting``, then the events of one ``connection()`` after another.

        A connection ends by raising :class:`Disconnected`; one that returns ends the source
        (it has yielded its own final status).
        """
        yield self.health.status(SourceState.CONNECTING, connecting)
        while True:
            try:
                async with aclosing(connection()) as events:
                    async for event in events:
                        yield event
                return
            except Disconnected as lost:
                status, delay = self.after(lost)
            yield status
            if delay is None:
                return
            await self.sleep(delay)
