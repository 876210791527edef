"""YouTube Live chat source: polls the Data API v3 with aiohttp (``youtube:VIDEO_ID``).

Options (``youtube:VIDEO_ID?key=...&quota=10000`` or from the command line):

``key``
    API key; default: the ``STREAMWATCH_YOUTUBE_API_KEY`` environment variable. Sent in the
    ``X-Goog-Api-Key`` header (never in a URL), never logged.
``endpoint``
    API base URL (default ``https://www.googleapis.com/youtube/v3``) for proxies and tests; with
    a non-default endpoint the key may be omitted (a relay can add it).
``chat``
    a live chat id, to skip the ``videos.list`` lookup.
``quota`` / ``quota_used``
    daily quota units (default 10,000) and units already spent today by other tools.
``min_interval``
    poll no faster than this many seconds, whatever ``pollingIntervalMillis`` says (saves quota).
``timeout``
    seconds before a request counts as stalled (default 30).
``retries``
    give up after this many consecutive failures (default: retry forever).
``status_interval``
    seconds between periodic status events with fresh counters (default 30; 0: only on change).

The protocol logic lives in :mod:`streamwatch.connectors.youtube_protocol`; this module only moves
bytes, sleeps and reports health.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncGenerator, Callable

import aiohttp

from streamwatch.connectors.base import SourceSpec
from streamwatch.connectors.common import RecentIds, StatusTicker, option_float, option_int
from streamwatch.connectors.health import SourceHealth
from streamwatch.connectors.reconnect import Backoff, Disconnected, Reconnects, Sleep, retry_backoff
from streamwatch.connectors.youtube_protocol import (
    DEFAULT_DAILY_QUOTA,
    DEFAULT_ENDPOINT,
    KEY_HEADER,
    PLATFORM,
    PollStep,
    QuotaExhaustedError,
    QuotaMeter,
    YouTubeChatProtocol,
    YouTubeRetryableError,
    parse_video_id,
    redact,
)
from streamwatch.errors import ConfigError, FatalConnectorError, RetryableError
from streamwatch.events import SourceEvent, SourceState

log = logging.getLogger(__name__)

KEY_ENV = "STREAMWATCH_YOUTUBE_API_KEY"
MAX_BODY_BYTES = 32 * 1024 * 1024


class YouTubeSource:
    """A running YouTube Live chat; see the module docstring for options."""

    def __init__(
        self,
        spec: SourceSpec,
        *,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        options = spec.options
        self.video_id = parse_video_id(spec.target, options)
        self.endpoint = (options.get("endpoint") or DEFAULT_ENDPOINT).rstrip("/")
        key = options.get("key") or os.environ.get(KEY_ENV) or None
        if key is None and self.endpoint == DEFAULT_ENDPOINT.rstrip("/"):
            raise ConfigError(
                f"youtube:{self.video_id} needs an API key: set {KEY_ENV} or add ?key=..."
                " (create one in the Google Cloud console, see docs/connectors-feeds.md)"
            )
        self._key = key
        self.timeout = option_float(options, "timeout", 30.0, minimum=0.1)
        self.backoff = retry_backoff(options, backoff)
        self.clock = clock
        self.sleep = sleep
        self.health = SourceHealth(self.name, clock=clock)
        self.protocol = YouTubeChatProtocol(
            self.video_id,
            health=self.health,
            quota=QuotaMeter(
                daily_limit=option_int(options, "quota", DEFAULT_DAILY_QUOTA, minimum=1),
                used=option_int(options, "quota_used", 0),
                clock=clock,
            ),
            seen=RecentIds(),
            live_chat_id=options.get("chat") or None,
            min_interval=option_float(options, "min_interval", 0.0),
            clock=clock,
        )
        self.status_interval = option_float(options, "status_interval", 30.0)
        self._state: SourceState | None = None

    @property
    def name(self) -> str:
        return f"{PLATFORM}:{self.video_id}"

    def __repr__(self) -> str:  # never show the key
        return f"YouTubeSource({self.video_id!r}, endpoint={self.endpoint!r})"

    def events(self) -> AsyncGenerator[SourceEvent, None]:
        """Poll until the chat ends, the quota runs out or a fatal error; never raises for those."""
        reconnects = Reconnects(self.health, self.backoff, self.sleep)
        return reconnects.run(self._polls, connecting="looking up the live chat")

    async def _polls(self) -> AsyncGenerator[SourceEvent, None]:
        """Poll until an error (raises :class:`Disconnected`) or the end of the chat."""
        timeout = aiohttp.ClientTimeout(total=self.timeout, sock_read=self.timeout)
        headers = {"Accept": "application/json"}
        if self._key:
            headers[KEY_HEADER] = self._key
        ticker = StatusTicker(self.status_interval, self.clock)
        self._state = None  # the first good page after a failure reports the state again
        async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
            while True:
                try:
                    request = self.protocol.next_request()
                except QuotaExhaustedError as exc:
                    raise Disconnected(str(exc), final=SourceState.FAILED) from exc
                url = request.url(self.endpoint)
                log.debug("GET %s", url)
                try:
                    step = await self._fetch(session, url)
                except FatalConnectorError as exc:
                    detail = redact(str(exc), self._key)
                    raise Disconnected(detail, final=SourceState.FAILED) from exc
                except RetryableError as exc:
                    raise self._retry(exc) from exc
                self.health.seen()
                gap = self.health.reconnected()
                if self.protocol.pages > 0 or step.ended:
                    self.backoff.reset()
                    healthy = SourceState.DEGRADED if self.protocol.quota.low else SourceState.LIVE
                    detail = ""
                    if healthy is SourceState.DEGRADED:
                        detail = f"quota low: {self.protocol.quota.remaining} units left today"
                    if ticker.due(force=self._state is not healthy or gap > 0):
                        self._state = healthy
                        yield self.health.status(healthy, detail, gap_seconds=gap)
                for event in step.events:
                    yield event
                if step.ended:
                    yield self.health.status(SourceState.ENDED, step.ended)
                    return
                if step.delay > 0:
                    await self.sleep(step.delay)

    def _retry(self, exc: RetryableError) -> Disconnected:
        """A failed request as a lost connection: ``degraded`` while rate limited, ``connecting``
        until the live chat is found, else ``reconnecting``."""
        self.health.count("errors")
        rate_limited = isinstance(exc, YouTubeRetryableError) and exc.rate_limited
        state = SourceState.DEGRADED if rate_limited else SourceState.RECONNECTING
        if self.protocol.live_chat_id is None and not rate_limited:
            state = SourceState.CONNECTING
        retry_after = exc.retry_after if isinstance(exc, YouTubeRetryableError) else None
        return Disconnected(redact(str(exc), self._key), state=state, min_delay=retry_after)

    async def _fetch(self, session: aiohttp.ClientSession, url: str) -> PollStep:
        try:
            async with session.get(url) as response:
                status = response.status
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_chunked(1 << 16):
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        self.health.count("oversized")
                        raise YouTubeRetryableError("response larger than 32 MB")
                    chunks.append(chunk)
        except (aiohttp.ClientError, TimeoutError) as exc:
            kind = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
            raise YouTubeRetryableError(f"request failed: {kind}") from None
        return self.protocol.receive(status, b"".join(chunks))
