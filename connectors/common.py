"""Helpers every network connector shares: options, URLs that are safe to log, de-duplication,
WebSocket failure descriptions and periodic status.

* **Options** (:func:`option_float`, :func:`option_int`, :func:`option_bool`) come from the spec
  (after ``?`` or in a feed URL's fragment) or the command line, always as text; a bad value is a
  :class:`~streamwatch.errors.ConfigError` naming the option.
* **URLs and secrets**: :func:`safe_url` is what a log line or a status may show of an endpoint;
  :func:`url_secrets` lists the parts of a URL to mask; :func:`quiet_websocket_logger` keeps the
  websockets library from logging frames (they carry tokens).
* **De-duplication**: :class:`RecentIds` remembers the last ids seen, across reconnects, pages
  and overlapping connections.
* **Status**: :func:`receive_within` waits for data or for the next periodic status, and
  :class:`StatusTicker` says when that status is due.

The reconnect loop itself is :class:`~streamwatch.connectors.reconnect.Reconnects`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeVar
from urllib.parse import parse_qsl, urlsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from streamwatch.errors import ConfigError

log = logging.getLogger(__name__)

FATAL_HTTP: Final = frozenset({400, 401, 403, 404, 405, 410})
"""HTTP answers a JSON feed does not retry: the URL or the token is wrong (429 and 5xx are)."""

_T = TypeVar("_T")
_V = TypeVar("_V")
_D = TypeVar("_D", int, None)


# ---------------------------------------------------------------- options


def option_float(
    options: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0
) -> float:
    """A finite number option of at least ``minimum``, or ConfigError naming it."""
    value = _parsed(options, name, float, "a number")
    if value is None:
        return default
    if not math.isfinite(value) or value < minimum:
        raise ConfigError(f"option {name}={options[name]!r} must be a number >= {minimum:g}")
    return value


def option_int(options: Mapping[str, str], name: str, default: _D, *, minimum: int = 0) -> int | _D:
    """A whole number option of at least ``minimum`` (``default`` may be None), or ConfigError."""
    value = _parsed(options, name, int, "a whole number")
    if value is None:
        return default
    if value < minimum:
        raise ConfigError(f"option {name}={options[name]!r} must be >= {minimum}")
    return value


def option_bool(options: Mapping[str, str], name: str, default: bool) -> bool:
    """A yes/no option (``1/0``, ``true/false``, ``yes/no``, ``on/off``), or ConfigError."""
    value = _parsed(options, name, _yes_no, "true or false")
    return default if value is None else value


def _parsed(
    options: Mapping[str, str], name: str, parse: Callable[[str], _V], what: str
) -> _V | None:
    """Option ``name`` parsed (None when absent or empty); ConfigError when ``parse`` fails."""
    raw = options.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse(raw)
    except ValueError:
        raise ConfigError(f"option {name}={raw!r} is not {what}") from None


def _yes_no(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def warn_unknown_options(source: str, options: Mapping[str, str], known: frozenset[str]) -> None:
    """Log (never fail on) options this connector does not read: usually a typo."""
    unknown = sorted(set(options) - known)
    if unknown:
        log.warning("%s ignores unknown options: %s", source, ", ".join(unknown))


# ---------------------------------------------------------------- URLs and secrets


def safe_url(url: str) -> str:
    """``scheme://host:port/path`` without user info, query or fragment: safe to log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def url_secrets(url: str) -> list[str]:
    """Query values and user info of a URL: things that may be credentials."""
    parts = urlsplit(url)
    found = [value for _, value in parse_qsl(parts.query) if len(value) >= 4]
    if parts.password:
        found.append(parts.password)
    return found


def check_endpoint(url: str) -> str:
    """Accept ``ws://`` and ``wss://`` URLs with a host only; ConfigError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConfigError(f"endpoint must be a ws:// or wss:// URL, got {safe_url(url)!r}")
    return url


def quiet_websocket_logger(name: str) -> logging.Logger:
    """``name.websocket``, a logger for the websockets library kept at INFO: its DEBUG output
    prints whole frames, and frames carry tokens and keys."""
    logger = logging.getLogger(name + ".websocket")
    logger.setLevel(logging.INFO)
    return logger


# ---------------------------------------------------------------- WebSocket failures


def describe_failure(exc: BaseException) -> tuple[str, bool]:
    """A status line for a failed WebSocket connection and whether retrying is pointless.

    An HTTP 4xx answer to the WebSocket upgrade (other than 408 / 429) is fatal: the endpoint
    is wrong or refuses us; everything else (resets, timeouts, 5xx, DNS) is retryable.
    """
    if isinstance(exc, ConnectionClosed):
        return _describe_close(exc), False
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        fatal = 400 <= status < 500 and status not in (408, 429)
        return f"server refused the WebSocket: HTTP {status}", fatal
    if isinstance(exc, InvalidHandshake | InvalidURI):
        return f"WebSocket handshake failed: {type(exc).__name__}", False
    if isinstance(exc, TimeoutError):
        return "timed out opening the connection", False
    if isinstance(exc, OSError):
        return f"connection failed: {exc.strerror or type(exc).__name__}", False
    return f"unexpected error: {type(exc).__name__}", False


def _describe_close(exc: ConnectionClosed) -> str:
    if exc.rcvd is not None:
        reason = f" ({exc.rcvd.reason})" if exc.rcvd.reason else ""
        return f"server closed the connection: code {exc.rcvd.code}{reason}"
    if exc.sent is not None:
        return f"connection closed: code {exc.sent.code} {exc.sent.reason}".rstrip()
    return "connection lost"


# ---------------------------------------------------------------- de-duplication


class RecentIds:
    """A bounded set of recently seen keys, for de-duplication across pages and reconnects.

    Holds the ``capacity`` most recently seen keys; a key seen again counts as recent again.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """Remember ``key``; True if it is new, False if it was seen (a duplicate)."""
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._seen

    def __len__(self) -> int:
        return len(self._seen)


# ---------------------------------------------------------------- periodic status


async def receive_within(receive: Callable[[], Awaitable[_T]], seconds: float) -> _T | None:
    """``await receive()``, or None once ``seconds`` pass first (0: wait as long as it takes).

    A TimeoutError raised by ``receive`` itself (a read timeout: the server stalled) propagates.
    """
    try:
        async with asyncio.timeout(seconds or None) as deadline:
            return await receive()
    except TimeoutError:
        if not deadline.expired():
            raise
        return None


@dataclass
class StatusTicker:
    """When a periodic status (fresh counters, heartbeat age) is due: every ``interval``
    seconds while data flows (0: never), and whenever the caller forces one."""

    interval: float
    clock: Callable[[], float] = time.time
    last: float = field(init=False)

    def __post_init__(self) -> None:
        self.last = self.clock()

    def due(self, force: bool = False) -> bool:
        """True (and the clock restarts) when a status should go out now."""
        if force or (self.interval and self.clock() - self.last >= self.interval):
            self.last = self.clock()
            return True
        return False
