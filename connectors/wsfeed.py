"""Generic WebSocket JSON chat feed (``ws://`` / ``wss://``), for relays and home-grown scrapers.

Each text or binary frame holds a JSON object, or a JSON array of objects, that the field mapping
(:mod:`streamwatch.connectors.fieldmap`) turns into chat messages. Built on the ``websockets``
client: it validates nothing in text frames itself (we decode UTF-8 ourselves so one bad frame is
a counted skip, not a dropped connection), answers pings and detects a stalled server by its
keepalive pings going unanswered.

Options come from the command line or from the URL fragment, which is never sent to the server
(``wss://relay.example/feed#map=text=data.content&platform=douyin``):

``map``         field mapping spec (see :mod:`~streamwatch.connectors.fieldmap`)
``token``       sent as ``Authorization: Bearer TOKEN``; default ``STREAMWATCH_FEED_TOKEN``
``platform``    platform name for messages that carry none (default ``ws``)
``stream``      stream id for messages that carry none (default: host and path of the URL)
``subscribe``   a text frame to send after each connect (some relays want a subscribe message)
``max_bytes``   frames above this are counted and skipped (default 1,000,000)
``ping_interval`` / ``ping_timeout``  keepalive, seconds (default 20 / 20); a server that does
                not answer in time counts as stalled and is reconnected
``reconnect``   ``false`` to end when the server closes cleanly (errors are still retried)
``retries``     give up after this many consecutive failed connections (default: never)
``status_interval``  seconds between periodic status events (default 30; 0: only on change)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import connect
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedOK,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)

from streamwatch.connectors.base import SourceSpec
from streamwatch.connectors.common import (
    FATAL_HTTP,
    StatusTicker,
    option_float,
    receive_within,
    safe_url,
    url_secrets,
)
from streamwatch.connectors.fieldmap import FeedSettings, feed_options
from streamwatch.connectors.health import SourceHealth
from streamwatch.connectors.reconnect import Backoff, Disconnected, Reconnects, Sleep, retry_backoff
from streamwatch.errors import ConfigError
from streamwatch.events import InputSkipped, SourceEvent, SourceState

log = logging.getLogger(__name__)

HARD_LIMIT_FACTOR = 16
"""The client accepts frames up to this many times ``max_bytes`` (then counts and skips them);
beyond that the connection is closed with 1009 before the frame is buffered."""


class RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Hands the websockets library a logger that masks secrets (its DEBUG log prints headers)."""

    def __init__(self, logger: logging.Logger, secrets: list[str]) -> None:
        super().__init__(logger, {})
        self.secrets = sorted((s for s in secrets if s), key=len, reverse=True)

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        for secret in self.secrets:
            text = text.replace(secret, "REDACTED")
        self.logger.log(level, "%s", text, **kwargs)


class WebSocketFeedSource:
    """A JSON chat feed over WebSocket; see the module docstring for options."""

    def __init__(
        self,
        spec: SourceSpec,
        *,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        url, options = feed_options(spec)
        if urlsplit(url).scheme.lower() not in ("ws", "wss"):
            raise ConfigError(f"{safe_url(url)!r} is not a ws:// or wss:// URL")
        self.url = url
        self.options: Mapping[str, str] = options
        self.feed = FeedSettings.read(options, platform="ws", url=url)
        self.ping_interval = option_float(options, "ping_interval", 20.0, minimum=0.01)
        self.ping_timeout = option_float(options, "ping_timeout", 20.0, minimum=0.01)
        self.open_timeout = option_float(options, "open_timeout", 10.0, minimum=0.01)
        self.subscribe = options.get("subscribe") or None
        self.backoff = retry_backoff(options, backoff)
        self.clock = clock
        self.sleep = sleep
        self.health = SourceHealth(self.name, clock=clock)
        self.normalizer = self.feed.normalizer(self.health, clock)
        self.connections = 0

    @property
    def name(self) -> str:
        return self.feed.source_name

    def __repr__(self) -> str:
        return f"WebSocketFeedSource({safe_url(self.url)!r})"

    def events(self) -> AsyncGenerator[SourceEvent, None]:
        """Receive frames until the feed ends or fails; reconnects with backoff in between."""
        reconnects = Reconnects(self.health, self.backoff, self.sleep)
        return reconnects.run(self._connection, connecting=safe_url(self.url))

    async def _connection(self) -> AsyncGenerator[SourceEvent, None]:
        """One connection: frames in, events out, until it ends (raises :class:`Disconnected`)."""
        health, token = self.health, self.feed.token
        headers = {"Authorization": f"Bearer {token}"} if token else None
        wire_log = RedactingLogger(
            logging.getLogger("websockets.client"), [token or "", *url_secrets(self.url)]
        )
        interval = self.feed.status_interval
        try:
            async with connect(
                self.url,
                additional_headers=headers,
                max_size=self.feed.max_bytes * HARD_LIMIT_FACTOR,
                open_timeout=self.open_timeout,
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_timeout,
                close_timeout=2,
                user_agent_header="streamwatch",
                logger=wire_log,
            ) as ws:
                self.connections += 1
                if self.subscribe:
                    with contextlib.suppress(ConnectionClosed):  # recv() will tell, after
                        await ws.send(self.subscribe)  # handing out frames already received
                health.seen()
                yield health.live()
                ticker = StatusTicker(interval, self.clock)
                frame = 0
                while True:
                    data = await receive_within(lambda: ws.recv(decode=False), interval)
                    if ticker.due(force=data is None):
                        yield health.status(SourceState.LIVE, "periodic status")
                    if data is None:
                        continue
                    health.seen()
                    frame += 1
                    where = f"connection {self.connections} frame {frame}"
                    for event in self.normalizer.feed(data, where):
                        yield event
                    if self.backoff.attempt:
                        self.backoff.reset()  # a frame arrived: the connection is healthy
        except ConnectionClosedOK as exc:
            final = None if self.feed.reconnect else SourceState.ENDED
            raise Disconnected("server closed the connection", final=final) from exc
        except ConnectionClosed as exc:
            detail, skipped = self._closed_detail(exc)
            if skipped is not None:
                yield skipped
            raise Disconnected(detail) from exc
        except InvalidStatus as exc:
            code = exc.response.status_code
            final = SourceState.FAILED if code in FATAL_HTTP else None
            detail = f"server refused the WebSocket upgrade: HTTP {code}"
            raise Disconnected(detail, final=final) from exc
        except InvalidURI as exc:
            raise ConfigError(f"invalid feed URL {safe_url(self.url)!r}") from exc
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise Disconnected(f"cannot connect: {type(exc).__name__}") from exc

    def _closed_detail(self, exc: ConnectionClosed) -> tuple[str, InputSkipped | None]:
        sent, received = exc.sent, exc.rcvd
        if sent is not None and sent.code == 1009:
            self.health.count("oversized")
            limit = self.feed.max_bytes * HARD_LIMIT_FACTOR
            reason = f"frame over {limit} bytes: connection dropped"
            skipped = InputSkipped(self.name, "frame", reason, self.clock())
            return reason, skipped
        if sent is not None and sent.code == 1011 and "keepalive" in sent.reason:
            self.health.count("stalls")
            return f"server stalled (no pong within {self.ping_timeout:g} s)", None
        if received is None and sent is None:
            self.health.count("drops")
            return "connection dropped without a close frame", None
        code = received.code if received is not None else sent.code if sent is not None else 1006
        return f"connection closed (code {code})", None
