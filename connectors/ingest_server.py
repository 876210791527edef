"""``streamwatch ingest-server``: an authenticated endpoint that browser extensions and scrapers
push chat into, for platforms with no usable API (Douyin, Kuaishou, Taobao Live, Whatnot...).

Endpoints (aiohttp):

``GET /ws``
    WebSocket. Each text or binary frame is a JSON object or an array of objects. A rejected
    frame is answered with ``{"frame": N, "errors": [...]}``; with ``?ack=1`` every frame is
    answered with ``{"frame": N, "accepted": a, "duplicates": d, "errors": [...]}``.
``POST /messages``
    Body: a JSON object, a JSON array of objects, or NDJSON (one object per line; sent as
    ``application/x-ndjson`` or detected). 200 ``{"accepted", "duplicates", "errors": []}``;
    400 with ``errors: [{"where": "line 3", "line": 3, "error": "..."}]`` when some rows are bad
    (the good rows are still accepted); 413 when the body is over ``max_body``.
``GET /health`` (no token) and ``GET /stats`` (per-connection counters).

Every endpoint but ``/health`` needs the token, as ``Authorization: Bearer TOKEN`` or
``?token=TOKEN`` (browsers cannot set headers on a WebSocket); it is compared in constant time
and never logged (the access log is ours and omits query strings). ``?platform=`` and ``?stream=``
label what a connection or request sends when the objects do not say. Rows are mapped with
:mod:`~streamwatch.connectors.fieldmap` and de-duplicated by ``platform:stream:id``.

:class:`IngestServer` is a :class:`~streamwatch.connectors.base.Source` named ``ingest:PORT``;
``open_ingest_source`` builds one from a ``ingest:[HOST:]PORT?token=...`` spec and :func:`main`
runs it standalone, writing generic JSONL to stdout or a file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import itertools
import json
import logging
import os
import secrets
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Final

from aiohttp import WSMsgType, web

from streamwatch.connectors.base import SourceSpec
from streamwatch.connectors.common import RecentIds, option_float, option_int, receive_within
from streamwatch.connectors.fieldmap import (
    DEFAULT_MAX_BYTES,
    FeedNormalizer,
    FieldMap,
    to_generic_json,
)
from streamwatch.connectors.health import SourceHealth
from streamwatch.connectors.sse_protocol import NdjsonLine, NdjsonSplitter
from streamwatch.errors import ConfigError, ConnectorError, StreamwatchError, error_line
from streamwatch.events import ChatMessage, InputSkipped, SourceEvent, SourceState, SourceStatus

log = logging.getLogger(__name__)

TOKEN_ENV: Final = "STREAMWATCH_INGEST_TOKEN"
DEFAULT_PORT: Final = 8765
DEFAULT_MAX_BODY: Final = 8 * 1024 * 1024
HARD_FRAME_FACTOR: Final = 16
"""WebSocket frames up to this many times ``max_bytes`` are read, then counted and skipped;
larger ones make aiohttp close the connection (1009) before buffering them."""
MAX_ERRORS_REPORTED: Final = 100
_NDJSON_TYPES: Final = frozenset(
    {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/json-seq"}
)


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """How the ingest server listens and maps what it receives."""

    token: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    fmap: FieldMap = field(default_factory=FieldMap)
    platform: str = "ingest"
    stream_id: str | None = None
    """Stream id for rows that carry none; default: the port."""
    max_body: int = DEFAULT_MAX_BODY
    max_bytes: int = DEFAULT_MAX_BYTES
    """Largest single frame or NDJSON line."""
    queue_size: int = 10_000
    """Events buffered for the pipeline; when full, pushers wait (nothing is dropped)."""
    cors: bool = True
    status_interval: float = 30.0
    """Seconds of quiet after which a status with fresh counters is emitted (0: never)."""

    def __post_init__(self) -> None:
        if not self.token:
            raise ConfigError(f"the ingest server needs a token (set {TOKEN_ENV} or --token)")
        if len(self.token) < 8:
            raise ConfigError("the ingest token must be at least 8 characters")

    def __repr__(self) -> str:  # never show the token
        return f"IngestConfig(host={self.host!r}, port={self.port}, token=<hidden>)"


@dataclass
class _Conn:
    """Counters of one WebSocket connection or one POST request."""

    conn_id: int
    kind: str
    peer: str
    opened: float
    counters: Counter[str] = field(default_factory=Counter)
    closed: float | None = None


class IngestServer:
    """The push endpoint as a chat source: start it, then iterate :meth:`events`."""

    def __init__(self, config: IngestConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.port = config.port
        self.health = SourceHealth(self.name, clock=clock)
        self.seen = RecentIds()
        self.queue: asyncio.Queue[SourceEvent] = asyncio.Queue(config.queue_size)
        self.connections: dict[int, _Conn] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._token = config.token.encode()

    @property
    def name(self) -> str:
        return f"ingest:{self.config.port}"

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen; ``self.port`` is the real port afterwards (useful with port 0)."""
        if self._runner is not None:
            return
        app = web.Application(client_max_size=self.config.max_body, middlewares=[self._middleware])
        app.router.add_get("/ws", self._handle_ws)
        app.router.add_post("/messages", self._handle_post)
        app.router.add_get("/health", self._handle_health)
        app.router.add_get("/stats", self._handle_stats)
        app.router.add_route("OPTIONS", "/{tail:.*}", self._handle_options)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ConnectorError(
                f"cannot listen on {self.config.host}:{self.config.port}: {exc.strerror or exc}"
            ) from exc
        self._runner = runner
        address = runner.addresses[0]
        self.port = int(address[1])
        log.info("ingest server listening on %s", self.url)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> IngestServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def events(self) -> AsyncGenerator[SourceEvent, None]:
        """Start (if needed) and yield what pushers send until cancelled."""
        try:
            await self.start()
            yield self.health.status(SourceState.LIVE, f"listening on {self.url}")
            while True:
                event = await receive_within(self.queue.get, self.config.status_interval)
                if event is None:
                    open_ws = sum(
                        1 for c in self.connections.values() if c.kind == "ws" and c.closed is None
                    )
                    detail = f"listening on {self.url}; {open_ws} WebSocket pusher(s)"
                    yield self.health.status(SourceState.LIVE, detail)
                    continue
                yield event
        finally:
            await self.stop()

    def stats(self) -> dict[str, Any]:
        """Totals and per-connection counters (no secrets)."""
        return {
            "totals": dict(self.health.counters),
            "connections": [
                {
                    "id": c.conn_id,
                    "kind": c.kind,
                    "peer": c.peer,
                    "open": c.closed is None,
                    "seconds": round((c.closed or self.clock()) - c.opened, 3),
                    **dict(c.counters),
                }
                for c in self.connections.values()
            ],
        }

    # ------------------------------------------------------------ plumbing

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, value = header.partition(" ")
            supplied = value.strip() if scheme.lower() == "bearer" else ""
        else:
            supplied = request.query.get("token", "")
        return hmac.compare_digest(supplied.encode(), self._token)

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        started = self.clock()
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException as exc:
            if exc.status == 413:
                self.health.count("oversized_bodies")
                response = self._json(
                    {"error": "body too large", "limit": self.config.max_body}, 413
                )
            else:
                raise
        if self.config.cors and not response.prepared:
            response.headers["Access-Control-Allow-Origin"] = "*"
        # our access log: no query string (it may hold the token), never headers
        log.debug(
            "%s %s %s -> %s (%.1f ms)",
            request.remote,
            request.method,
            request.path,
            response.status,
            (self.clock() - started) * 1000,
        )
        return response

    def _unauthorized(self, request: web.Request) -> web.Response:
        self.health.count("unauthorized")
        log.warning(
            "ingest: refused %s %s from %s: bad or missing token",
            request.method,
            request.path,
            request.remote,
        )
        return self._json({"error": "unauthorized"}, 401, {"WWW-Authenticate": "Bearer"})

    @staticmethod
    def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response(body, status=status, headers=headers)

    def _normalizer(self, request: web.Request) -> FeedNormalizer:
        return FeedNormalizer(
            self.config.fmap,
            platform=request.query.get("platform") or self.config.platform,
            stream_id=request.query.get("stream") or self.config.stream_id or str(self.port),
            health=self.health,
            max_bytes=self.config.max_bytes,
            seen=self.seen,
            clock=self.clock,
        )

    def _open(self, kind: str, request: web.Request) -> _Conn:
        conn = _Conn(next(self._ids), kind, request.remote or "?", self.clock())
        self.connections[conn.conn_id] = conn
        if len(self.connections) > 1000:  # keep the table bounded: forget old closed ones
            for old in [c for c in self.connections.values() if c.closed is not None][:100]:
                del self.connections[old.conn_id]
        return conn

    async def _deliver(
        self, events: list[SourceEvent], conn: _Conn
    ) -> tuple[int, list[InputSkipped]]:
        accepted = 0
        errors: list[InputSkipped] = []
        self.health.seen()
        for event in events:
            if isinstance(event, ChatMessage):
                accepted += 1
            elif isinstance(event, InputSkipped):
                errors.append(event)
            await self.queue.put(event)  # waits when the pipeline is behind: backpressure
        conn.counters["accepted"] += accepted
        conn.counters["skipped"] += len(errors)
        return accepted, errors

    def _ws_error(self, exc: object, conn: _Conn) -> None:
        """aiohttp closes a WebSocket on a frame over the hard limit (1009) or a text frame that
        is not UTF-8 (1007); count which, so the loss is visible."""
        code = getattr(exc, "code", None)
        name = _WS_ERRORS.get(code, "ws_errors") if isinstance(code, int) else "ws_errors"
        self.health.count(name)
        conn.counters[name] += 1
        log.info("ingest: WebSocket %d closed on a bad frame (%s)", conn.conn_id, name)

    # ------------------------------------------------------------ handlers

    async def _handle_options(self, request: web.Request) -> web.Response:
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": "600",
            },
        )

    async def _handle_health(self, request: web.Request) -> web.Response:
        return self._json({"ok": True})

    async def _handle_stats(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._unauthorized(request)
        return self._json(self.stats())

    async def _handle_post(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._unauthorized(request)
        if request.content_length is not None and request.content_length > self.config.max_body:
            self.health.count("oversized_bodies")
            return self._json({"error": "body too large", "limit": self.config.max_body}, 413)
        body = await request.read()  # aiohttp enforces max_body for chunked bodies too (413)
        conn = self._open("post", request)
        conn.counters["bytes"] += len(body)
        normalizer = self._normalizer(request)
        duplicates_before = self.health.counters["duplicates"]
        events = self._parse_body(body, request.content_type, normalizer)
        accepted, errors = await self._deliver(events, conn)
        duplicates = self.health.counters["duplicates"] - duplicates_before
        conn.counters["duplicates"] += duplicates
        conn.closed = self.clock()
        result: dict[str, Any] = {
            "accepted": accepted,
            "duplicates": duplicates,
            "errors": [_error_row(e) for e in errors[:MAX_ERRORS_REPORTED]],
        }
        if len(errors) > MAX_ERRORS_REPORTED:
            result["errors_not_shown"] = len(errors) - MAX_ERRORS_REPORTED
        return self._json(result, 400 if errors else 200)

    def _parse_body(
        self, body: bytes, content_type: str, normalizer: FeedNormalizer
    ) -> list[SourceEvent]:
        if content_type in _NDJSON_TYPES:
            return self._parse_ndjson(body, normalizer)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            if b"\n" in body.strip():
                return self._parse_ndjson(body, normalizer)
            return normalizer.feed(body, "body")  # says exactly what is wrong
        if not isinstance(data, list):
            return normalizer.feed(body, "body")  # size check, then the one object
        return normalizer.feed_value(data, "body")

    def _parse_ndjson(self, body: bytes, normalizer: FeedNormalizer) -> list[SourceEvent]:
        splitter = NdjsonSplitter(max_line_bytes=self.config.max_bytes)
        splitter.receive_data(body)
        splitter.receive_eof(clean=True)
        out: list[SourceEvent] = []
        for item in splitter.lines_received():
            where = f"line {item.number}"
            if isinstance(item, NdjsonLine):
                out.extend(normalizer.feed(item.data, where))
            else:
                self.health.count("oversized")
                reason = f"oversized line ({item.size} > {self.config.max_bytes} bytes)"
                out.append(InputSkipped(self.name, where, reason, self.clock()))
        return out

    async def _handle_ws(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return self._unauthorized(request)
        ws = web.WebSocketResponse(
            heartbeat=30.0, max_msg_size=self.config.max_bytes * HARD_FRAME_FACTOR
        )
        await ws.prepare(request)
        conn = self._open("ws", request)
        ack = request.query.get("ack") in ("1", "true", "yes")
        normalizer = self._normalizer(request)
        self.health.count("ws_connections")
        log.info("ingest: WebSocket %d opened from %s", conn.conn_id, conn.peer)
        frame = 0
        try:
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    if msg.type is WSMsgType.ERROR:
                        self._ws_error(msg.data, conn)
                    continue
                frame += 1
                conn.counters["frames"] += 1
                data: str | bytes = msg.data
                conn.counters["bytes"] += len(data)
                duplicates_before = self.health.counters["duplicates"]
                events = normalizer.feed(data, f"connection {conn.conn_id} frame {frame}")
                accepted, errors = await self._deliver(events, conn)
                duplicates = self.health.counters["duplicates"] - duplicates_before
                conn.counters["duplicates"] += duplicates
                if ack or errors:
                    reply: dict[str, Any] = {
                        "frame": frame,
                        "errors": [_error_row(e) for e in errors[:MAX_ERRORS_REPORTED]],
                    }
                    if ack:
                        reply["accepted"] = accepted
                        reply["duplicates"] = duplicates
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        await ws.send_json(reply)
        finally:
            conn.closed = self.clock()
            log.info(
                "ingest: WebSocket %d closed (code %s): %s",
                conn.conn_id,
                ws.close_code,
                dict(conn.counters),
            )
        return ws


_WS_ERRORS: Final = {1009: "oversized", 1007: "invalid_utf8"}


def _error_row(event: InputSkipped) -> dict[str, Any]:
    row: dict[str, Any] = {"where": event.where, "error": event.reason}
    first = event.where.split(" ")
    if len(first) >= 2 and first[0] == "line" and first[1].isdigit():
        row["line"] = int(first[1])
    return row


# ---------------------------------------------------------------- spec and CLI


def open_ingest_source(spec: SourceSpec) -> IngestServer:
    """Entry point for ``ingest:[HOST:]PORT?token=...&map=...`` sources."""
    host, sep, port_text = spec.target.rpartition(":")
    if not sep:
        host, port_text = "127.0.0.1", spec.target
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"ingest:{spec.target}: the port must be a number") from None
    options = spec.options
    token = options.get("token") or os.environ.get(TOKEN_ENV) or ""
    if not token:
        raise ConfigError(f"ingest:{spec.target} needs a token: set {TOKEN_ENV} or add ?token=...")
    config = IngestConfig(
        token=token,
        host=host.strip("[]") or "127.0.0.1",
        port=port,
        fmap=FieldMap.parse(options.get("map")),
        platform=options.get("platform") or "ingest",
        stream_id=options.get("stream") or None,
        max_body=option_int(options, "max_body", DEFAULT_MAX_BODY, minimum=1),
        max_bytes=option_int(options, "max_bytes", DEFAULT_MAX_BYTES, minimum=1),
        status_interval=option_float(options, "status_interval", 30.0),
    )
    return IngestServer(config)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamwatch ingest-server",
        description=(
            "Accept chat pushed by browser extensions and scrapers (WebSocket /ws, POST /messages)"
            " and write it as generic JSONL."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port (default: %(default)s)"
    )
    parser.add_argument(
        "--token",
        help=f"token pushers must send (default: ${TOKEN_ENV}; generated and shown once if unset)",
    )
    parser.add_argument(
        "--map", dest="mapping", help="field mapping, e.g. text=data.content,user=data.nick"
    )
    parser.add_argument("--platform", default="ingest", help="platform for rows that name none")
    parser.add_argument("--stream", help="stream id for rows that name none (default: the port)")
    parser.add_argument(
        "--max-body", type=int, default=DEFAULT_MAX_BODY, help="largest POST body, bytes"
    )
    parser.add_argument(
        "--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="largest message, bytes"
    )
    parser.add_argument("--output", "-o", default="-", help="JSONL output file (default: stdout)")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log connections and refusals to stderr"
    )
    return parser


async def _serve(server: IngestServer, out: IO[str], duration: float | None, err: IO[str]) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)

    async def pump() -> None:
        async for event in server.events():
            if isinstance(event, ChatMessage):
                out.write(json.dumps(to_generic_json(event), ensure_ascii=False) + "\n")
                out.flush()
            elif isinstance(event, InputSkipped):
                print(f"skipped {event.where}: {event.reason}", file=err)
            elif isinstance(event, SourceStatus) and event.state is SourceState.LIVE:
                print(f"ingest server: {event.detail}", file=err)

    task = asyncio.create_task(pump())
    waiter = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait(
            {task, waiter}, timeout=duration, return_when="FIRST_COMPLETED"
        )
        if task in done:
            task.result()  # re-raise a start failure
    finally:
        for pending in (task, waiter):
            pending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)


def main(argv: Sequence[str] | None = None) -> int:
    """``streamwatch ingest-server``; returns the exit code."""
    args = _parser().parse_args(argv)
    err = sys.stderr
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=err)
    try:
        token = args.token or os.environ.get(TOKEN_ENV) or ""
        if not token:
            token = secrets.token_urlsafe(24)
            print(f"ingest server: no token given; pushers must send this one: {token}", file=err)
        config = IngestConfig(
            token=token,
            host=args.host,
            port=args.port,
            fmap=FieldMap.parse(args.mapping),
            platform=args.platform,
            stream_id=args.stream,
            max_body=args.max_body,
            max_bytes=args.max_bytes,
        )
        server = IngestServer(config)
        if args.output == "-":
            asyncio.run(_serve(server, sys.stdout, args.duration, err))
        else:
            with open(args.output, "a", encoding="utf-8") as out:
                asyncio.run(_serve(server, out, args.duration, err))
    except StreamwatchError as exc:
        print(error_line(exc), file=err)
        return exc.exit_code
    except OSError as exc:
        print(f"error: output: {exc}", file=err)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
