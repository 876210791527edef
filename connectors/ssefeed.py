"""Server-Sent Events and NDJSON chat feeds over HTTP(S) with aiohttp streaming.

``sse+https://relay.example/chat/events`` reads ``text/event-stream``: each event's ``data`` is a
JSON object (or array of objects) mapped with :mod:`~streamwatch.connectors.fieldmap`. On
reconnect it sends ``Last-Event-ID`` so a server that keeps history resumes exactly after the last
event we saw, and it waits at least the ``retry:`` time the server asked for. Events without a
message id are identified by their SSE id, so a replayed event is dropped as a duplicate.

``ndjson+https://relay.example/chat.ndjson`` reads one JSON object per line.

Options (command line or URL fragment, e.g. ``sse+https://h/events#map=text=msg&events=chat``):
``map``, ``token`` (``Authorization: Bearer``; default ``STREAMWATCH_FEED_TOKEN``), ``platform``
(default ``sse`` / ``ndjson``), ``stream``, ``max_bytes`` (per event or line, default 1,000,000),
``events`` (SSE event types to read, comma-separated; default all), ``timeout`` (seconds without
a byte before the server counts as stalled, default 60), ``reconnect`` (``false``: end when the
server ends the response cleanly; errors are still retried), ``retries``, ``status_interval``
(seconds between periodic status events, default 30; 0: only on change). HTTP 204 ends the
feed (as for a browser EventSource); 401/403/404/410 are fatal; 429 and 5xx are retried,
honouring ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable

import aiohttp

from streamwatch.connectors.base import SourceSpec
from streamwatch.connectors.common import (
    FATAL_HTTP,
    StatusTicker,
    option_float,
    receive_within,
    safe_url,
)
from streamwatch.connectors.fieldmap import FeedSettings, feed_options
from streamwatch.connectors.health import SourceHealth
from streamwatch.connectors.reconnect import Backoff, Disconnected, Reconnects, Sleep, retry_backoff
from streamwatch.connectors.sse_protocol import (
    NdjsonLine,
    NdjsonSplitter,
    SseEvent,
    SseItem,
    SseParser,
)
from streamwatch.errors import ConfigError
from streamwatch.events import InputSkipped, SourceEvent, SourceState

_SCHEMES = {
    "sse+http": "sse",
    "sse+https": "sse",
    "ndjson+http": "ndjson",
    "ndjson+https": "ndjson",
}


class _HttpRefused(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: fall back to the backoff
    return seconds if 0 <= seconds <= 3600 else None


class SseFeedSource:
    """An SSE or NDJSON chat feed; see the module docstring for options."""

    def __init__(
        self,
        spec: SourceSpec,
        *,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        url, options = feed_options(spec)
        _, sep, rest = url.partition("+")
        full_scheme = url.split("://", 1)[0].lower()
        if not sep or full_scheme not in _SCHEMES:
            raise ConfigError(
                f"{safe_url(url)!r} is not an sse+http(s):// or ndjson+http(s):// URL"
            )
        self.mode = _SCHEMES[full_scheme]
        self.http_url = rest
        self.feed = FeedSettings.read(options, platform=self.mode, url=rest)
        self.timeout = option_float(options, "timeout", 60.0, minimum=0.01)
        types = options.get("events") or ""
        self.event_types = frozenset(t.strip() for t in types.split(",") if t.strip())
        self.backoff = retry_backoff(options, backoff)
        self.clock = clock
        self.sleep = sleep
        self.health = SourceHealth(self.name, clock=clock)
        self.normalizer = self.feed.normalizer(self.health, clock)
        self.sse = SseParser(max_event_bytes=self.feed.max_bytes)
        self.ndjson = NdjsonSplitter(max_line_bytes=self.feed.max_bytes)
        self.connections = 0

    @property
    def name(self) -> str:
        return self.feed.source_name

    def __repr__(self) -> str:
        return f"SseFeedSource({self.mode}, {safe_url(self.http_url)!r})"

    def _headers(self) -> dict[str, str]:
        accept = "text/event-stream" if self.mode == "sse" else "application/x-ndjson"
        headers = {"Accept": accept, "Cache-Control": "no-cache"}
        if self.feed.token:
            headers["Authorization"] = f"Bearer {self.feed.token}"
        last_id = self.sse.last_event_id if self.mode == "sse" else ""
        if last_id:
            headers["Last-Event-ID"] = last_id
        return headers

    def events(self) -> AsyncGenerator[SourceEvent, None]:
        """Stream until the feed ends or fails; reconnects (resuming where SSE allows)."""
        reconnects = Reconnects(self.health, self.backoff, self.sleep)
        return reconnects.run(self._connection, connecting=safe_url(self.http_url))

    async def _connection(self) -> AsyncGenerator[SourceEvent, None]:
        """One response: chunks in, events out, until it ends (raises :class:`Disconnected`)."""
        health = self.health
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.timeout, sock_read=self.timeout
        )
        clean = False
        retry_after: float | None = None
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(self.http_url, headers=self._headers()) as response,
            ):
                if response.status == 204:
                    raise Disconnected("server has no more (HTTP 204)", final=SourceState.ENDED)
                if response.status != 200:
                    retry = _retry_after(response.headers.get("Retry-After"))
                    raise _HttpRefused(response.status, retry)
                self.connections += 1
                health.seen()
                yield health.live()
                interval = self.feed.status_interval
                ticker = StatusTicker(interval, self.clock)
                while True:
                    # None: the interval passed; a TimeoutError is aiohttp's read timeout: a stall
                    chunk = await receive_within(response.content.readany, interval)
                    if ticker.due(force=chunk is None):
                        yield health.status(SourceState.LIVE, "periodic status")
                    if chunk is None:
                        continue
                    if not chunk:
                        break  # end of the response body
                    health.seen()
                    for event in self._feed(chunk):
                        yield event
            clean = True
            detail = "server ended the response"
        except _HttpRefused as exc:
            detail = f"server refused: HTTP {exc.status}"
            if exc.status in FATAL_HTTP:
                raise Disconnected(detail, final=SourceState.FAILED) from exc
            retry_after = exc.retry_after
        except aiohttp.ClientPayloadError:
            health.count("drops")
            detail = "connection dropped mid-stream"
        except TimeoutError:
            health.count("stalls")
            detail = f"server stalled (nothing for {self.timeout:g} s)"
        except aiohttp.ClientError as exc:
            detail = f"cannot connect: {type(exc).__name__}"
        for event in self._end_of_stream(clean):
            yield event
        if clean and not self.feed.reconnect:
            raise Disconnected(detail, final=SourceState.ENDED)
        waits = [retry_after]
        if self.mode == "sse" and self.sse.retry is not None:
            waits.append(self.sse.retry / 1000.0)
        raise Disconnected(detail, min_delay=max((w for w in waits if w is not None), default=None))

    def _feed(self, chunk: bytes) -> list[SourceEvent]:
        out: list[SourceEvent] = []
        if self.mode == "sse":
            before = self.sse.invalid_utf8
            self.sse.receive_data(chunk)
            if self.sse.invalid_utf8 > before:
                self.health.count("invalid_utf8", self.sse.invalid_utf8 - before)
            for item in self.sse.events_received():
                self._sse_item(item, out)
        else:
            self.ndjson.receive_data(chunk)
            self._ndjson_items(out)
        if out and self.backoff.attempt:
            self.backoff.reset()
        return out

    def _sse_item(self, item: SseItem, out: list[SourceEvent]) -> None:
        if isinstance(item, SseEvent):
            if self.event_types and item.event not in self.event_types:
                self.health.count("ignored")
                return
            where = f"event {item.number}" + (f" (id {item.id[:40]})" if item.id else "")
            fallback = f"sse-{item.id}" if item.id else None
            out.extend(self.normalizer.feed(item.data, where, fallback_id=fallback))
        else:
            self.health.count("oversized")
            reason = f"oversized event (> {self.feed.max_bytes} bytes, {item.size} seen)"
            out.append(InputSkipped(self.name, f"event {item.number}", reason, self.clock()))

    def _ndjson_items(self, out: list[SourceEvent]) -> None:
        for item in self.ndjson.lines_received():
            where = f"line {item.number}"
            if isinstance(item, NdjsonLine):
                out.extend(self.normalizer.feed(item.data, where))
            else:
                self.health.count("oversized")
                reason = f"oversized line ({item.size} > {self.feed.max_bytes} bytes)"
                out.append(InputSkipped(self.name, where, reason, self.clock()))

    def _end_of_stream(self, clean: bool) -> list[SourceEvent]:
        out: list[SourceEvent] = []
        if self.mode == "sse":
            self.sse.receive_eof()  # an unfinished event is discarded (it is resent on resume)
            return out
        if self.ndjson.pending_bytes and not clean:
            self.health.count("truncated")
            number = self.ndjson.line_number + 1
            reason = "line cut off by a dropped connection"
            out.append(InputSkipped(self.name, f"line {number}", reason, self.clock()))
        self.ndjson.receive_eof(clean=clean)
        self._ndjson_items(out)
        self.ndjson.line_number = 0  # a new response starts at line 1
        return out
