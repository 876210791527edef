"""Twitch chat over IRC-over-WebSocket: the async wrapper around :class:`TwitchIrcProtocol`.

Spec: ``twitch:CHANNEL`` with options (after ``?`` in the spec or from the command line):

``endpoint``
    WebSocket URL, default ``wss://irc-ws.chat.twitch.tv:443`` (relays, proxies, tests).
``token`` / ``nick``
    OAuth token (``chat:read`` scope) and the login name of its account; default from
    ``STREAMWATCH_TWITCH_TOKEN`` / ``STREAMWATCH_TWITCH_NICK``; without a token the source
    reads anonymously as ``justinfan<digits>``. The token is never logged or shown in a status.
``heartbeat``
    Seconds of silence before we send ``PING`` (default 360: Twitch pings about every 5 min).
``pong_timeout``
    Seconds to wait after that ``PING`` before the connection counts as stalled (default 15).

Reliability: connection failures reconnect with the injected :class:`Backoff`; a ``RECONNECT``
from Twitch opens the new connection first and closes the old one only once the new one has
joined, with chat messages de-duplicated by their ``id`` tag across the overlap; a stalled
connection (no data, ``PING`` unanswered) is dropped and reopened. Fatal notices (bad login,
suspended channel) end the source with a ``failed`` status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeAlias
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from streamwatch.connectors.base import SourceSpec
from streamwatch.connectors.health import SourceHealth
from streamwatch.connectors.irc import (
    JoinedEvent,
    NoticeEvent,
    ReconnectRequestedEvent,
    TwitchEvent,
    TwitchIrcProtocol,
    normalize_channel,
    redact_line,
)
from streamwatch.connectors.reconnect import Backoff
from streamwatch.errors import ConfigError
from streamwatch.events import (
    ChatMessage,
    InputSkipped,
    MessageDeleted,
    SourceEvent,
    SourceState,
)

log = logging.getLogger(__name__)
ws_log = logging.getLogger(__name__ + ".websocket")
"""Given to websockets; kept at INFO because its DEBUG output prints frames (the PASS line)."""
ws_log.setLevel(logging.INFO)

DEFAULT_ENDPOINT: Final = "wss://irc-ws.chat.twitch.tv:443"
TOKEN_ENV: Final = "STREAMWATCH_TWITCH_TOKEN"
NICK_ENV: Final = "STREAMWATCH_TWITCH_NICK"
WS_MAX_SIZE: Final = 8 << 20
"""Frames up to this size reach the protocol core, which skips those over 1 MiB (counted)."""
_KNOWN_OPTIONS: Final = frozenset(
    {"endpoint", "token", "nick", "heartbeat", "pong_timeout", "open_timeout", "status_interval"}
)


def float_option(options: Mapping[str, str], key: str, default: float) -> float:
    raw = options.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"option {key}={raw!r} is not a number of seconds") from exc
    if value < 0:
        raise ConfigError(f"option {key} must not be negative")
    return value


def check_endpoint(url: str) -> str:
    """Accept ``ws://`` and ``wss://`` URLs only."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConfigError(f"endpoint must be a ws:// or wss:// URL, got {safe_url(url)!r}")
    return url


def safe_url(url: str) -> str:
    """The URL without user info, query or fragment (they may carry secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class RecentIds:
    """A bounded set of recently seen keys: remembers the last ``size`` of them."""

    def __init__(self, size: int = 50_000) -> None:
        self._order: deque[str] = deque()
        self._set: set[str] = set()
        self._size = size

    def seen(self, key: str) -> bool:
        """True if ``key`` was seen before; otherwise remember it and return False."""
        if key in self._set:
            return True
        self._set.add(key)
        self._order.append(key)
        if len(self._order) > self._size:
            self._set.discard(self._order.popleft())
        return False


@dataclass(eq=False)
class _Conn:
    """One WebSocket connection and the task reading it."""

    number: int
    task: asyncio.Task[None] | None = None
    joined: bool = False


@dataclass(frozen=True, slots=True)
class _Idle:
    """No data for ``age`` seconds; a PING went out."""

    age: float


@dataclass(frozen=True, slots=True)
class _Alive:
    """Data flows again after an :class:`_Idle`."""


@dataclass(frozen=True, slots=True)
class _Closed:
    reason: str
    fatal: bool = False


class _Stalled(Exception):
    pass


_Item: TypeAlias = list[TwitchEvent] | _Idle | _Alive | _Closed


@dataclass
class _Settings:
    endpoint: str
    token: str | None = field(repr=False)
    nick: str | None
    heartbeat: float
    pong_timeout: float
    open_timeout: float
    status_interval: float


class TwitchSource:
    """Live chat of one Twitch channel; see the module docstring for options."""

    platform = "twitch"

    def __init__(
        self,
        spec: SourceSpec,
        *,
        backoff: Backoff | None = None,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        heartbeat: float | None = None,
        pong_timeout: float | None = None,
    ) -> None:
        environ = os.environ if env is None else env
        options = spec.options
        unknown = sorted(set(options) - _KNOWN_OPTIONS)
        if unknown:
            log.warning("twitch:%s ignores unknown options: %s", spec.target, ", ".join(unknown))
        self.channel = normalize_channel(spec.target)
        token = options.get("token") or environ.get(TOKEN_ENV) or None
        nick = options.get("nick") or environ.get(NICK_ENV) or None
        self._settings = _Settings(
            endpoint=check_endpoint(options.get("endpoint") or DEFAULT_ENDPOINT),
            token=token,
            nick=nick,
            heartbeat=heartbeat
            if heartbeat is not None
            else float_option(options, "heartbeat", 360.0),
            pong_timeout=pong_timeout
            if pong_timeout is not None
            else float_option(options, "pong_timeout", 15.0),
            open_timeout=float_option(options, "open_timeout", 10.0),
            status_interval=float_option(options, "status_interval", 30.0),
        )
        # Build one protocol now so a bad token / nick fails at start, not on first connect.
        TwitchIrcProtocol(self.channel, token=token, nick=nick)
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._health = SourceHealth(self.name, clock=clock)
        self._recent = RecentIds()
        self._numbers = 0

    @property
    def name(self) -> str:
        return f"{self.platform}:{self.channel}"

    @property
    def health(self) -> SourceHealth:
        return self._health

    def __repr__(self) -> str:
        return f"TwitchSource({self.name!r}, endpoint={safe_url(self._settings.endpoint)!r})"

    # -- the supervisor -------------------------------------------------------------------

    async def events(self) -> AsyncGenerator[SourceEvent, None]:
        """Yield chat, deletions, skips and status until cancelled or a fatal error."""
        health = self._health
        queue: asyncio.Queue[tuple[_Conn, _Item]] = asyncio.Queue(maxsize=256)
        conns: list[_Conn] = []
        where = safe_url(self._settings.endpoint)
        yield health.status(SourceState.CONNECTING, f"connecting to {where}")
        current = self._start(queue, conns)
        pending: _Conn | None = None
        state = SourceState.CONNECTING
        try:
            while True:
                try:
                    async with asyncio.timeout(self._settings.status_interval or None):
                        conn, item = await queue.get()
                except TimeoutError:
                    yield health.status(state, "periodic status")
                    continue
                if isinstance(item, list):
                    for event in item:
                        if isinstance(event, JoinedEvent):
                            if conn is pending:  # RECONNECT handover complete
                                old, current, pending = current, conn, None
                                self._close(old)
                                self._backoff.reset()
                                state = SourceState.LIVE
                                yield health.status(state, "moved to a new connection (RECONNECT)")
                            elif conn is current:
                                gap = health.reconnected()
                                self._backoff.reset()
                                state = SourceState.LIVE
                                yield health.status(
                                    state, f"joined #{event.channel}", gap_seconds=gap
                                )
                        elif isinstance(event, ReconnectRequestedEvent):
                            if conn is current and pending is None:
                                pending = self._start(queue, conns)
                                yield health.status(
                                    SourceState.RECONNECTING,
                                    "server asked to reconnect: opening a new connection first",
                                )
                        elif isinstance(event, NoticeEvent):
                            if event.fatal:
                                detail = f"twitch refused: {event.text or event.msg_id}"
                                yield health.status(SourceState.FAILED, detail)
                                return
                            log.info("%s notice %s: %s", self.name, event.msg_id, event.text)
                        else:
                            out = self._admit(event)
                            if out is not None:
                                yield out
                elif conn is not current:
                    if isinstance(item, _Closed) and conn is pending:
                        pending = None  # the handover failed; the old connection carries on
                        health.count("handover_failed")
                        if item.fatal:
                            yield health.status(SourceState.FAILED, item.reason)
                            return
                elif isinstance(item, _Idle):
                    state = SourceState.DEGRADED
                    yield health.status(state, f"no data for {item.age:.0f} s; sent PING")
                elif isinstance(item, _Alive):
                    state = SourceState.LIVE
                    yield health.status(state, "server answered")
                else:  # the current connection closed
                    health.disconnected()
                    if item.fatal:
                        yield health.status(SourceState.FAILED, item.reason)
                        return
                    if pending is not None:
                        current, pending = pending, None
                        state = SourceState.RECONNECTING
                        yield health.status(state, f"old connection closed: {item.reason}")
                        continue
                    if self._backoff.exhausted():
                        detail = f"gave up after {self._backoff.attempt} attempts: {item.reason}"
                        yield health.status(SourceState.FAILED, detail)
                        return
                    delay = self._backoff.next_delay()
                    state = SourceState.RECONNECTING
                    health.count("reconnects")
                    yield health.status(state, item.reason, attempt=self._backoff.attempt)
                    await asyncio.sleep(delay)
                    current = self._start(queue, conns)
        finally:
            await self._shutdown(conns)

    def _admit(
        self, event: ChatMessage | MessageDeleted | InputSkipped
    ) -> ChatMessage | MessageDeleted | InputSkipped | None:
        """Drop duplicates (same message id, same deletion) seen on an overlapping connection."""
        if isinstance(event, ChatMessage):
            if self._recent.seen(event.message_id):
                self._health.count("duplicates")
                return None
            self._health.count("received")
        elif isinstance(event, MessageDeleted):
            key = f"del:{event.message_id}:{event.author_id}:{event.at}"
            if self._recent.seen(key):
                self._health.count("duplicates")
                return None
        return event

    def _start(self, queue: asyncio.Queue[tuple[_Conn, _Item]], conns: list[_Conn]) -> _Conn:
        self._numbers += 1
        conn = _Conn(self._numbers)
        conn.task = asyncio.create_task(self._run(conn, queue), name=f"{self.name}#{conn.number}")
        conns[:] = [c for c in conns if c.task is not None and not c.task.done()]
        conns.append(conn)
        return conn

    def _close(self, conn: _Conn) -> None:
        if conn.task is not None and not conn.task.done():
            conn.task.cancel()

    async def _shutdown(self, conns: list[_Conn]) -> None:
        tasks = [c.task for c in conns if c.task is not None and not c.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- one connection -------------------------------------------------------------------

    async def _run(self, conn: _Conn, queue: asyncio.Queue[tuple[_Conn, _Item]]) -> None:
        settings = self._settings
        proto = TwitchIrcProtocol(
            self.channel,
            token=settings.token,
            nick=settings.nick,
            counters=self._health.counters,
            clock=self._clock,
        )
        closed: _Closed
        try:
            async with connect(
                settings.endpoint,
                open_timeout=settings.open_timeout or None,
                max_size=WS_MAX_SIZE,
                close_timeout=2,
                logger=ws_log,
            ) as ws:
                proto.initiate()
                await self._flush(ws, proto)
                try:
                    await self._read(conn, ws, proto, queue)
                except asyncio.CancelledError:  # replaced or shut down: close politely (1000)
                    await ws.close()
                    raise
            closed = _Closed("server closed the connection")
        except _Stalled as exc:
            closed = _Closed(str(exc))
        except (ConnectionClosed, InvalidHandshake, InvalidURI, TimeoutError, OSError) as exc:
            reason, fatal = describe_failure(exc)
            closed = _Closed(reason, fatal)
        except Exception as exc:  # a bug must not leave the supervisor waiting forever
            log.exception("%s: connection %d failed unexpectedly", self.name, conn.number)
            closed = _Closed(f"unexpected error: {type(exc).__name__}")
        await queue.put((conn, closed))

    async def _read(
        self,
        conn: _Conn,
        ws: ClientConnection,
        proto: TwitchIrcProtocol,
        queue: asyncio.Queue[tuple[_Conn, _Item]],
    ) -> None:
        settings = self._settings
        loop = asyncio.get_running_loop()
        last = loop.time()
        pinged = False
        while True:
            timeout = settings.pong_timeout if pinged else settings.heartbeat
            try:
                async with asyncio.timeout(timeout or None):
                    data = await ws.recv(decode=False)
            except TimeoutError:
                age = loop.time() - last
                if pinged:
                    self._health.count("stalls")
                    raise _Stalled(f"stalled: no data for {age:.1f} s, PING unanswered") from None
                pinged = True
                proto.send_ping()
                await self._flush(ws, proto)
                await queue.put((conn, _Idle(age)))
                continue
            last = loop.time()
            self._health.seen()
            if pinged:
                pinged = False
                await queue.put((conn, _Alive()))
            proto.receive_data(data)
            events = proto.events_received()
            await self._flush(ws, proto)
            if events:
                await queue.put((conn, events))

    @staticmethod
    async def _flush(ws: ClientConnection, proto: TwitchIrcProtocol) -> None:
        for line in proto.data_to_send():
            if log.isEnabledFor(logging.DEBUG):
                log.debug("> %s", redact_line(line).rstrip())
            await ws.send(line)


def describe_failure(exc: BaseException) -> tuple[str, bool]:
    """A status line for a connection failure and whether retrying is pointless.

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
