"""Reconnect policy shared by the network connectors.

A :class:`Backoff` is an object (not a loop hidden in a connector) so tests swap in a zero-delay
one: a random first delay, then x1.6 per attempt up to a cap, reset after a connection that stayed
up. Modelled on websockets' ``asyncio/client.py`` backoff generator and redis-py's ``Retry``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


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
