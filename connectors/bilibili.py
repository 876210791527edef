"""Bilibili live danmaku over WebSocket: the async wrapper around :class:`BilibiliProtocol`.

Spec: ``bilibili:ROOM_ID`` (the room's real, long id) with options:

``endpoint``
    WebSocket URL, default ``wss://broadcastlv.chat.bilibili.com/sub``. The real server now
    wants the ``key`` token from ``getDanmuInfo`` (and the host it names) for full data.
``key`` / ``uid`` / ``buvid``
    Auth token from ``https://api.live.bilibili.com/xlive/web-room/v1/index/getDanmuInfo?id=ROOM``,
    the uid of the logged-in account the key was issued to, and the browser's ``buvid3``
    cookie; default from ``STREAMWATCH_BILIBILI_KEY`` / ``_UID`` / ``_BUVID``. Without them
    the server hides uids and masks names (``用户***``): the source reports ``degraded``
    ("names masked") and tells authors apart by the user hash the server still sends.
``host_uid``
    The streamer's uid, so their own danmaku get the ``host`` role.
``heartbeat``
    Seconds between heartbeats (default 30, as the web client does).
``stall_timeout``
    Seconds without any data (the server answers every heartbeat) before the connection
    counts as stalled and is reopened (default 70).

The key is never logged or shown in a status.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from streamwatch.connectors.base import SourceSpec
from streamwatch.connectors.bilibili_protocol import (
    AuthReplyEvent,
    BilibiliProtocol,
    HeartbeatReplyEvent,
    NamesMaskedEvent,
    RoomStateEvent,
)
from streamwatch.connectors.common import (
    RecentIds,
    check_endpoint,
    describe_failure,
    option_float,
    option_int,
    quiet_websocket_logger,
    safe_url,
    warn_unknown_options,
)
from streamwatch.connectors.health import SourceHealth
from streamwatch.connectors.reconnect import Backoff, Disconnected, Reconnects
from streamwatch.errors import ConfigError
from streamwatch.events import ChatMessage, MessageDeleted, SourceEvent, SourceState

ws_log = quiet_websocket_logger(__name__)
"""Given to websockets, whose DEBUG output would print frames (the auth key)."""

DEFAULT_ENDPOINT: Final = "wss://broadcastlv.chat.bilibili.com/sub"
KEY_ENV: Final = "STREAMWATCH_BILIBILI_KEY"
UID_ENV: Final = "STREAMWATCH_BILIBILI_UID"
BUVID_ENV: Final = "STREAMWATCH_BILIBILI_BUVID"
WS_MAX_SIZE: Final = 2 << 20
"""Frames up to this size reach the codec, which skips packets over 1 MiB (counted)."""
RECENT_IDS: Final = 50_000
"""How many danmaku ids are remembered to drop repeats after a reconnect."""
_KNOWN_OPTIONS: Final = frozenset(
    {"endpoint", "key", "uid", "buvid", "host_uid", "heartbeat", "stall_timeout", "open_timeout"}
)


@dataclass
class _Settings:
    endpoint: str
    key: str | None = field(repr=False)
    uid: int
    buvid: str | None = field(repr=False)
    host_uid: int | None
    heartbeat: float
    stall_timeout: float
    open_timeout: float


class BilibiliSource:
    """Danmaku and super chats of one Bilibili live room; see the module docstring."""

    platform = "bilibili"

    def __init__(
        self,
        spec: SourceSpec,
        *,
        backoff: Backoff | None = None,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        heartbeat: float | None = None,
        stall_timeout: float | None = None,
    ) -> None:
        environ = os.environ if env is None else env
        options = spec.options
        warn_unknown_options(f"bilibili:{spec.target}", options, _KNOWN_OPTIONS)
        target = spec.target.strip()
        if not target.isdigit() or int(target) <= 0:
            raise ConfigError(f"{spec.target!r} is not a Bilibili room id (digits)")
        self.room_id = int(target)
        merged = {
            "key": environ.get(KEY_ENV, ""),
            "uid": environ.get(UID_ENV, ""),
            "buvid": environ.get(BUVID_ENV, ""),
        }
        merged.update({k: v for k, v in options.items() if v != ""})
        self._settings = _Settings(
            endpoint=check_endpoint(options.get("endpoint") or DEFAULT_ENDPOINT),
            key=merged["key"] or None,
            uid=option_int(merged, "uid", 0),
            buvid=merged["buvid"] or None,
            host_uid=option_int(options, "host_uid", None),
            heartbeat=heartbeat
            if heartbeat is not None
            else option_float(options, "heartbeat", 30.0),
            stall_timeout=stall_timeout
            if stall_timeout is not None
            else option_float(options, "stall_timeout", 70.0),
            open_timeout=option_float(options, "open_timeout", 10.0),
        )
        if self._settings.buvid and any(c in self._settings.buvid for c in ";\r\n"):
            raise ConfigError("the buvid option contains ';' or a line break")
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._health = SourceHealth(self.name, clock=clock)
        self._recent = RecentIds(RECENT_IDS)

    @property
    def name(self) -> str:
        return f"{self.platform}:{self.room_id}"

    @property
    def health(self) -> SourceHealth:
        return self._health

    def __repr__(self) -> str:
        return f"BilibiliSource({self.name!r}, endpoint={safe_url(self._settings.endpoint)!r})"

    def _protocol(self) -> BilibiliProtocol:
        s = self._settings
        return BilibiliProtocol(
            self.room_id,
            uid=s.uid,
            key=s.key,
            buvid=s.buvid,
            host_uid=s.host_uid,
            counters=self._health.counters,
            clock=self._clock,
        )

    def events(self) -> AsyncGenerator[SourceEvent, None]:
        """Yield danmaku, super chats, deletions, skips and status until cancelled."""
        reconnects = Reconnects(self._health, self._backoff, limit="reconnects")
        where = safe_url(self._settings.endpoint)
        return reconnects.run(self._connection, connecting=f"connecting to {where}")

    async def _connection(self) -> AsyncGenerator[SourceEvent, None]:
        """One WebSocket connection, until it ends (raises :class:`Disconnected`)."""
        health = self._health
        s = self._settings
        headers = {"Cookie": f"buvid3={s.buvid}"} if s.buvid else None
        heartbeats: asyncio.Task[None] | None = None
        try:
            async with connect(
                s.endpoint,
                additional_headers=headers,
                open_timeout=s.open_timeout or None,
                max_size=WS_MAX_SIZE,
                close_timeout=2,
                logger=ws_log,
            ) as ws:
                proto = self._protocol()
                proto.initiate()
                await self._flush(ws, proto)
                while True:
                    try:
                        async with asyncio.timeout(s.stall_timeout or None):
                            data = await ws.recv(decode=False)
                    except TimeoutError:
                        health.count("stalls")
                        raise Disconnected(
                            f"stalled: no data for {s.stall_timeout:g} s (heartbeats unanswered)"
                        ) from None
                    health.seen()
                    proto.receive_data(data)
                    for event in proto.events_received():
                        if isinstance(event, AuthReplyEvent):
                            if not event.ok:
                                raise Disconnected(
                                    f"auth refused (code {event.code}): the key is missing,"
                                    " expired or not for this room",
                                    final=SourceState.FAILED,
                                )
                            if heartbeats is None:
                                heartbeats = asyncio.create_task(self._beat(ws, proto))
                            self._backoff.reset()
                            yield health.live(f"joined room {self.room_id}")
                        elif isinstance(event, NamesMaskedEvent):
                            yield health.status(
                                SourceState.DEGRADED,
                                "names masked: anonymous session (set key, uid and buvid)",
                            )
                        elif isinstance(event, RoomStateEvent):
                            if event.live:
                                yield health.status(SourceState.LIVE, "stream started")
                            else:
                                yield health.status(
                                    SourceState.ENDED,
                                    "stream went offline (PREPARING); still listening",
                                )
                        elif isinstance(event, HeartbeatReplyEvent):
                            continue
                        elif isinstance(event, ChatMessage | MessageDeleted):
                            if not self._recent.add(_event_key(event)):
                                health.count("duplicates")
                                continue
                            if isinstance(event, ChatMessage):
                                health.count("received")
                            yield event
                        else:
                            yield event
                    await self._flush(ws, proto)
        except (ConnectionClosed, InvalidHandshake, InvalidURI, TimeoutError, OSError) as exc:
            reason, fatal = describe_failure(exc)
            raise Disconnected(reason, final=SourceState.FAILED if fatal else None) from exc
        finally:
            if heartbeats is not None:
                heartbeats.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeats

    async def _beat(self, ws: ClientConnection, proto: BilibiliProtocol) -> None:
        """Send a heartbeat now and then every ``heartbeat`` seconds until cancelled."""
        interval = self._settings.heartbeat
        with contextlib.suppress(ConnectionClosed):
            while True:
                proto.send_heartbeat()
                await self._flush(ws, proto)
                if interval <= 0:
                    return
                await asyncio.sleep(interval)

    @staticmethod
    async def _flush(ws: ClientConnection, proto: BilibiliProtocol) -> None:
        for packet in proto.data_to_send():
            await ws.send(packet)


def _event_key(event: ChatMessage | MessageDeleted) -> str:
    if isinstance(event, ChatMessage):
        return event.message_id
    return f"del:{event.message_id}:{event.author_id}"
