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
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from streamwatch.connectors.base import SourceSpec
from streamwatch.connectors.common import (
    RecentIds,
    check_endpoint,
    describe_failure,
    option_float,
    quiet_websocket_logger,
    receive_within,
    safe_url,
    warn_unknown_options,
)
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
from streamwatch.connectors.reconnect import Backoff, Disconnected, Reconnects
from streamwatch.events import (
    ChatMessage,
    InputSkipped,
    MessageDeleted,
    SourceEvent,
    SourceState,
)

log = logging.getLogger(__name__)
ws_log = quiet_websocket_logger(__name__)
"""Given to websockets, whose DEBUG output would print frames (the PASS line)."""

DEFAULT_ENDPOINT: Final = "wss://irc-ws.chat.twitch.tv:443"
TOKEN_ENV: Final = "STREAMWATCH_TWITCH_TOKEN"
NICK_ENV: Final = "STREAMWATCH_TWITCH_NICK"
WS_MAX_SIZE: Final = 8 << 20
"""Frames up to this size reach the protocol core, which skips those over 1 MiB (counted)."""
RECENT_IDS: Final = 50_000
"""How many message ids are remembered to drop repeats across a RECONNECT overlap."""
_KNOWN_OPTIONS: Final = frozenset(
    {"endpoint", "token", "nick", "heartbeat", "pong_timeout", "open_timeout", "status_interval"}
)


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
        warn_unknown_options(f"twitch:{spec.target}", options, _KNOWN_OPTIONS)
        self.channel = normalize_channel(spec.target)
        token = options.get("token") or environ.get(TOKEN_ENV) or None
        nick = options.get("nick") or environ.get(NICK_ENV) or None
        self._settings = _Settings(
            endpoint=check_endpoint(options.get("endpoint") or DEFAULT_ENDPOINT),
            token=token,
            nick=nick,
            heartbeat=heartbeat
            if heartbeat is not None
            else option_float(options, "heartbeat", 360.0),
            pong_timeout=pong_timeout
            if pong_timeout is not None
            else option_float(options, "pong_timeout", 15.0),
            open_timeout=option_float(options, "open_timeout", 10.0),
            status_interval=option_float(options, "status_interval", 30.0),
        )
        # Build one protocol now so a bad token / nick fails at start, not on first connect.
        TwitchIrcProtocol(self.channel, token=token, nick=nick)
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._health = SourceHealth(self.name, clock=clock)
        self._reconnects = Reconnects(self._health, self._backoff, limit="reconnects")
        self._recent = RecentIds(RECENT_IDS)
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
                got = await receive_within(queue.get, self._settings.status_interval)
                if got is None:
                    yield health.status(state, "periodic status")
                    continue
                conn, item = got
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
                                self._backoff.reset()
                                state = SourceState.LIVE
                                yield health.live(f"joined #{event.channel}")
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
                    status, delay = self._reconnects.after(Disconnected(item.reason))
                    yield status
                    if delay is None:
                        return
                    state = status.state
                    await self._reconnects.sleep(delay)
                    current = self._start(queue, conns)
        finally:
            await self._shutdown(conns)

    def _admit(
        self, event: ChatMessage | MessageDeleted | InputSkipped
    ) -> ChatMessage | MessageDeleted | InputSkipped | None:
        """Drop duplicates (same message id, same deletion) seen on an overlapping connection."""
        if isinstance(event, ChatMessage):
            if not self._recent.add(event.message_id):
                self._health.count("duplicates")
                return None
            self._health.count("received")
        elif isinstance(event, MessageDeleted):
            key = f"del:{event.message_id}:{event.author_id}:{event.at}"
            if not self._recent.add(key):
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
