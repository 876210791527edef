"""SSE and NDJSON: the sans-I/O parsers byte for byte, then the feed against a local server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from streamwatch.connectors.base import SourceSpec
from streamwatch.connectors.reconnect import no_delay_backoff
from streamwatch.connectors.sse_protocol import (
    NdjsonLine,
    NdjsonOversized,
    NdjsonSplitter,
    SseEvent,
    SseOversized,
    SseParser,
)
from streamwatch.connectors.ssefeed import SseFeedSource
from streamwatch.errors import ConfigError
from streamwatch.events import InputSkipped, SourceEvent, SourceState, SourceStatus

from .connector_support import RecordingSleep, chats, collect, ended, serve_app

# ---------------------------------------------------------------- SSE parser, byte-exact


def parse(*chunks: bytes, parser: SseParser | None = None) -> list[SseEvent]:
    p = parser or SseParser()
    out: list[SseEvent] = []
    for chunk in chunks:
        p.receive_data(chunk)
        out.extend(e for e in p.events_received() if isinstance(e, SseEvent))
    return out


def datas(events: list[SseEvent]) -> list[str]:
    return [e.data for e in events]


def test_whatwg_stock_example_multiline_data() -> None:
    assert datas(parse(b"data: YHOO\ndata: +2\ndata: 10\n\n")) == ["YHOO\n+2\n10"]


def test_whatwg_example_ids_and_leading_space() -> None:
    stream = (
        b": test stream\n\n"
        b"data: first event\nid: 1\n\n"
        b"data:second event\nid\n\n"
        b"data:  third event\n\n"
    )
    parser = SseParser()
    events = parse(stream, parser=parser)
    assert [(e.data, e.id) for e in events] == [
        ("first event", "1"),
        ("second event", ""),  # a bare "id" resets the last event id
        (" third event", ""),  # only one leading space is removed
    ]
    assert parser.comments == 1


def test_whatwg_example_empty_data_and_unfinished_event() -> None:
    parser = SseParser()
    events = parse(b"data\n\ndata\ndata\n\ndata:", parser=parser)
    assert datas(events) == ["", "\n"]
    parser.receive_eof()
    assert parser.events_received() == []  # the unfinished last event is never dispatched


def test_whatwg_example_same_event_twice() -> None:
    assert datas(parse(b"data:test\n\ndata: test\n\n")) == ["test", "test"]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_line_endings(eol: bytes) -> None:
    stream = eol.join([b"event: chat", b"id: 7", b"data: a", b"data: b", b"", b"data: c", b"", b""])
    events = parse(stream)
    assert [(e.event, e.id, e.data) for e in events] == [
        ("chat", "7", "a\nb"),
        ("message", "7", "c"),
    ]


def test_crlf_split_across_reads_is_one_line_end() -> None:
    # if CR and LF were two line ends, the empty line between would dispatch "a" alone
    assert datas(parse(b"data: a\r", b"\ndata: b\r\n\r\n")) == ["a\nb"]
    # a lone CR at the end of a read followed by a non-LF is a line end too
    assert datas(parse(b"data: a\r", b"data: b\r\r")) == ["a\nb"]


def test_cr_only_stream_in_tiny_reads() -> None:
    stream = b"data: one\r\rdata: two\r\r"
    assert datas(parse(*[stream[i : i + 1] for i in range(len(stream))])) == ["one", "two"]


def test_bom_dropped_once_even_split() -> None:
    assert datas(parse(b"\xef\xbb\xbfdata: x\n\n")) == ["x"]
    assert datas(parse(b"\xef", b"\xbb", b"\xbfdata: x\n\n")) == ["x"]
    # a second BOM is part of the field name, so that line is an unknown field
    assert datas(parse(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n")) == ["y"]


def test_retry_field_only_ascii_digits() -> None:
    parser = SseParser()
    parse(b"retry: 2500\n\n", parser=parser)
    assert parser.retry == 2500
    parse(b"retry: 25a\n\nretry:\n\nretry: \xd9\xa3\n\n", parser=parser)  # Arabic-Indic 3
    assert parser.retry == 2500


def test_id_with_nul_is_ignored_and_id_persists() -> None:
    parser = SseParser()
    events = parse(b"id: 5\ndata: a\n\nid: 6\x00x\ndata: b\n\ndata: c\n\n", parser=parser)
    assert [e.id for e in events] == ["5", "5", "5"]
    assert parser.last_event_id == "5"


def test_field_without_colon_and_unknown_fields() -> None:
    events = parse(b"data\nfoo: bar\nevent\n\n")
    assert [(e.event, e.data) for e in events] == [("message", "")]


def test_invalid_utf8_is_replaced_and_counted() -> None:
    parser = SseParser()
    events = parse(b"data: caf\xe9 \xff\n\n", parser=parser)
    assert events[0].data == "caf\ufffd \ufffd"
    assert parser.invalid_utf8 == 2
    # a multi-byte character split across reads is not an error
    events = parse("data: 价".encode()[:-1], "data: 价".encode()[-1:] + b"\n\n", parser=parser)
    assert events[0].data == "价" and parser.invalid_utf8 == 2


def test_oversized_event_is_reported_and_parsing_continues() -> None:
    parser = SseParser(max_event_bytes=100)
    parser.receive_data(b"data: " + b"x" * 60 + b"\ndata: " + b"y" * 60 + b"\n\ndata: ok\n\n")
    items = parser.events_received()
    assert isinstance(items[0], SseOversized)
    assert isinstance(items[1], SseEvent) and items[1].data == "ok"
    # one endless line is dropped while it streams in, not buffered
    parser.receive_data(b"data: " + b"z" * 500)
    parser.receive_data(b"z" * 500)
    assert len(parser._pending) == 0
    parser.receive_data(b"\n\ndata: after\n\n")
    items = parser.events_received()
    assert isinstance(items[0], SseOversized) and isinstance(items[1], SseEvent)
    assert items[1].data == "after"


def test_eof_resets_for_the_next_connection_but_keeps_last_id() -> None:
    parser = SseParser()
    parse(b"id: 9\ndata: a\n\nid: 10\ndata: half", parser=parser)
    parser.receive_eof()
    assert parser.last_event_id == "9"  # id 10's event never completed
    assert datas(parse(b"\xef\xbb\xbfdata: b\n\n", parser=parser)) == ["b"]


sse_streams = st.lists(
    st.one_of(
        st.builds(
            lambda s: b"data: " + s.encode() + b"\n", st.text(alphabet='ab价 :{}"', max_size=8)
        ),
        st.sampled_from(
            [b"\n", b"\r\n", b"\r", b": ping\n", b"id: 3\n", b"event: x\r", b"retry: 5\n"]
        ),
    ),
    max_size=30,
).map(b"".join)


@settings(max_examples=200, deadline=None)
@given(stream=sse_streams, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_any_chunking_gives_the_same_events(stream: bytes, cuts: list[int]) -> None:
    whole = SseParser()
    whole.receive_data(stream)
    expected = whole.events_received()
    points = sorted({c % (len(stream) + 1) for c in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    split = SseParser()
    got = []
    for piece in pieces:
        split.receive_data(piece)
        got.extend(split.events_received())
    assert got == expected
    assert split.retry == whole.retry and split.last_event_id == whole.last_event_id


# ---------------------------------------------------------------- NDJSON splitter


def lines(splitter: NdjsonSplitter) -> list[tuple[int, bytes]]:
    return [(i.number, i.data) for i in splitter.lines_received() if isinstance(i, NdjsonLine)]


def test_ndjson_split_crlf_blank_lines_and_bom() -> None:
    s = NdjsonSplitter()
    s.receive_data(b'\xef\xbb\xbf{"a":1}\r\n\n  \n{"b"')
    s.receive_data(b':2}\n{"c":3}')
    assert lines(s) == [(1, b'{"a":1}'), (4, b'{"b":2}')]
    s.receive_eof(clean=True)
    assert lines(s) == [(5, b'{"c":3}')]


def test_ndjson_final_line_dropped_when_cut_off() -> None:
    s = NdjsonSplitter()
    s.receive_data(b'{"a":1}\n{"b":')
    assert lines(s) == [(1, b'{"a":1}')]
    assert s.pending_bytes == 5
    s.receive_eof(clean=False)
    assert s.lines_received() == []


def test_ndjson_oversized_line_streamed_not_buffered() -> None:
    s = NdjsonSplitter(max_line_bytes=10)
    s.receive_data(b'{"x":"' + b"y" * 30)
    s.receive_data(b"y" * 30)
    assert s.pending_bytes == 66 and len(s._buffer) == 0
    s.receive_data(b'"}\n{"ok":1}\n')
    items = s.lines_received()
    assert isinstance(items[0], NdjsonOversized) and items[0].number == 1
    assert isinstance(items[1], NdjsonLine) and items[1].data == b'{"ok":1}'


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.text(alphabet='ab"{}:价\r ', max_size=6), max_size=20),
    cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=6),
)
def test_ndjson_any_chunking(rows: list[str], cuts: list[int]) -> None:
    stream = "\n".join(rows).encode() + b"\n"
    whole = NdjsonSplitter()
    whole.receive_data(stream)
    expected = whole.lines_received()
    points = sorted({c % (len(stream) + 1) for c in cuts})
    split = NdjsonSplitter()
    got = []
    for a, b in zip([0, *points], [*points, len(stream)], strict=True):
        split.receive_data(stream[a:b])
        got.extend(split.lines_received())
    assert got == expected


# ---------------------------------------------------------------- the feed against a server


Handler = Callable[[web.Request, int], Awaitable[web.StreamResponse]]


@dataclass
class FakeFeed:
    handler: Handler
    headers: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.headers.append(dict(request.headers))
        return await self.handler(request, len(self.headers))


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[tuple[FakeFeed, str]]]]:
    async with AsyncExitStack() as servers:

        async def start(handler: Handler) -> tuple[FakeFeed, str]:
            feed = FakeFeed(handler)
            app = web.Application()
            app.router.add_get("/events", feed.handle)
            return feed, await servers.enter_async_context(serve_app(app))

        yield start


async def stream_response(request: web.Request, content_type: str) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": content_type})
    await response.prepare(request)
    return response


def abort(request: web.Request) -> None:
    assert request.transport is not None
    request.transport.abort()


def make_source(url: str, sleep: RecordingSleep | None = None, **options: str) -> SseFeedSource:
    scheme = url.split("://")[0]
    spec = SourceSpec(scheme, url, url, options)
    return SseFeedSource(spec, backoff=no_delay_backoff(), sleep=sleep or RecordingSleep())


def count(n: int) -> Callable[[list[SourceEvent]], bool]:
    return lambda events: len(chats(events)) >= n or ended(events)


def sse_event(i: int, with_id: bool = True) -> bytes:
    body = json.dumps(
        {"id": f"m{i}", "user": f"u{i}", "text": f"question {i}?", "ts": 1714564800 + i}
    )
    return (f"id: {i}\n" if with_id else "").encode() + b"data: " + body.encode() + b"\n\n"


async def test_sse_drop_mid_event_resumes_with_last_event_id(serve: Any) -> None:
    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        response = await stream_response(request, "text/event-stream")
        if n == 1:
            await response.write(b": hello\r\nretry: 2500\r\n\r\n")
            stream = b"".join(sse_event(i) for i in range(30))
            for k in range(0, len(stream), 37):  # odd-sized writes that split lines
                await response.write(stream[k : k + 37])
            partial = sse_event(30)
            await response.write(partial[: len(partial) - 5])  # cut inside the data line
            abort(request)
            return response
        start = int(request.headers["Last-Event-ID"]) + 1
        await response.write(b"".join(sse_event(i) for i in range(start, 60)))
        await response.write_eof()
        return response

    feed, host = await serve(handler)
    sleep = RecordingSleep()
    source = make_source(f"sse+http://{host}/events", sleep, reconnect="true")
    events = await collect(source, count(60))
    assert [m.message_id for m in chats(events)] == [f"m{i}" for i in range(60)]
    assert feed.headers[0].get("Last-Event-ID") is None
    assert feed.headers[1]["Last-Event-ID"] == "29"  # the last complete event
    assert feed.headers[0]["Accept"] == "text/event-stream"
    assert sleep.delays[0] == 2.5  # honours retry: 2500
    sts = [e for e in events if isinstance(e, SourceStatus)]
    assert [s.state for s in sts][:4] == [
        SourceState.CONNECTING,
        SourceState.LIVE,
        SourceState.RECONNECTING,
        SourceState.LIVE,
    ]
    assert "dropped" in sts[2].detail
    assert source.health.counters["duplicates"] == 0


async def test_sse_replay_without_json_ids_is_deduplicated_by_event_id(serve: Any) -> None:
    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        response = await stream_response(request, "text/event-stream")
        for i in range(10 if n == 1 else 20):  # the server ignores Last-Event-ID and replays
            await response.write(f'id: {i}\nevent: chat\ndata: {{"msg": "hi {i}"}}\n\n'.encode())
        await response.write(b"event: ping\ndata: {}\n\n")
        if n == 1:
            abort(request)
        else:
            await response.write_eof()
        return response

    _feed, host = await serve(handler)
    source = make_source(f"sse+http://{host}/events#map=text=msg&events=chat", reconnect="true")
    events = await collect(source, count(20))
    got = chats(events)
    assert [m.text for m in got] == [f"hi {i}" for i in range(20)]
    assert [m.message_id for m in got][:2] == ["sse-0", "sse-1"]
    assert source.health.counters["duplicates"] == 10
    assert source.health.counters["ignored"] >= 1  # the ping events


async def test_sse_stall_reconnects(serve: Any) -> None:
    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        response = await stream_response(request, "text/event-stream")
        if n == 1:
            await response.write(sse_event(0))
            await asyncio.sleep(10)  # stalls: no bytes, not even comments
            return response
        await response.write(sse_event(1))
        await response.write_eof()
        return response

    feed, host = await serve(handler)
    source = make_source(f"sse+http://{host}/events", timeout="0.3")
    events = await collect(source, count(2))
    assert [m.message_id for m in chats(events)] == ["m0", "m1"]
    assert feed.headers[1]["Last-Event-ID"] == "0"
    assert source.health.counters["stalls"] == 1


async def test_sse_ten_thousand_burst(serve: Any) -> None:
    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        response = await stream_response(request, "text/event-stream")
        await response.write(b"".join(sse_event(i) for i in range(10_000)))
        await response.write_eof()
        return response

    _feed, host = await serve(handler)
    source = make_source(f"sse+http://{host}/events", reconnect="false")
    events = await collect(source, ended)
    ids = [m.message_id for m in chats(events)]
    assert ids == [f"m{i}" for i in range(10_000)]


async def test_sse_garbage_counted_and_skipped(serve: Any) -> None:
    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        response = await stream_response(request, "text/event-stream")
        await response.write(b"data: not json\n\n")
        await response.write(b'data: {"text": "caf\xe9"}\n\n')  # invalid UTF-8 -> U+FFFD
        await response.write(b"data: [1, 2]\n\n")
        await response.write(b"data: " + b"x" * 3000 + b"\n\n")
        await response.write(b'data: {"id": "ok", "text": "[red]fine[/red]"}\n\n')
        await response.write_eof()
        return response

    _feed, host = await serve(handler)
    source = make_source(f"sse+http://{host}/events", reconnect="false", max_bytes="1000")
    events = await collect(source, ended)
    got = chats(events)
    assert [m.text for m in got] == ["caf\ufffd", "[red]fine[/red]"]
    skipped = [e for e in events if isinstance(e, InputSkipped)]
    assert len(skipped) == 4
    assert skipped[0].where == "event 1" and "not JSON" in skipped[0].reason
    assert "oversized" in skipped[3].reason
    assert source.health.counters["invalid_utf8"] == 1


@pytest.mark.parametrize(
    ("status", "state"),
    [(204, SourceState.ENDED), (401, SourceState.FAILED), (404, SourceState.FAILED)],
)
async def test_sse_http_status(serve: Any, status: int, state: SourceState) -> None:
    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        return web.Response(status=status)

    _feed, host = await serve(handler)
    source = make_source(f"sse+http://{host}/events", token="tok-XYZ-secret")
    events = await collect(source, ended)
    assert events[-1].state is state if isinstance(events[-1], SourceStatus) else False
    assert all("tok-XYZ" not in e.detail for e in events if isinstance(e, SourceStatus))


async def test_sse_retry_after_and_token_header(serve: Any) -> None:
    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        if n == 1:
            return web.Response(status=503, headers={"Retry-After": "7"})
        response = await stream_response(request, "text/event-stream")
        await response.write(sse_event(0))
        await response.write_eof()
        return response

    feed, host = await serve(handler)
    sleep = RecordingSleep()
    source = make_source(f"sse+http://{host}/events", sleep, token="tok1", reconnect="false")
    events = await collect(source, ended)
    assert [m.message_id for m in chats(events)] == ["m0"]
    assert sleep.delays == [7.0]
    assert feed.headers[0]["Authorization"] == "Bearer tok1"


async def test_ndjson_drop_mid_line_replay_no_loss_no_dup(serve: Any) -> None:
    rows = [
        json.dumps(
            {"id": f"n{i}", "user": "x", "text": f"t{i}", "ts": f"2024-05-01T12:00:{i:02d}Z"}
        )
        for i in range(40)
    ]

    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        response = await stream_response(request, "application/x-ndjson")
        if n == 1:
            data = ("\n".join(rows[:20]) + "\n" + rows[20][:10]).encode()
            for k in range(0, len(data), 50):
                await response.write(data[k : k + 50])
            abort(request)
            return response
        await response.write(("\r\n".join(rows[15:]) + "\r\n").encode())
        await response.write_eof()
        return response

    feed, host = await serve(handler)
    source = make_source(f"ndjson+http://{host}/events", platform="relay")
    events = await collect(source, count(40))
    got = chats(events)
    assert [m.message_id for m in got] == [f"n{i}" for i in range(40)]
    assert got[3].sent_at == pytest.approx(1714564803.0) and got[0].platform == "relay"
    truncated = [e for e in events if isinstance(e, InputSkipped)]
    assert len(truncated) == 1 and truncated[0].where == "line 21"
    assert source.health.counters["duplicates"] == 5
    assert "Last-Event-ID" not in feed.headers[1]


async def test_ndjson_clean_end_keeps_unterminated_last_line(serve: Any) -> None:
    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        response = await stream_response(request, "application/x-ndjson")
        await response.write(b'{"id":"a","text":"1"}\n\n{"bad json\n{"id":"b","text":"2"}')
        await response.write_eof()
        return response

    _feed, host = await serve(handler)
    source = make_source(f"ndjson+http://{host}/events", reconnect="false")
    events = await collect(source, ended)
    assert [m.message_id for m in chats(events)] == ["a", "b"]
    skipped = [e for e in events if isinstance(e, InputSkipped)]
    assert [s.where for s in skipped] == ["line 3"]


async def test_ndjson_ten_thousand_burst(serve: Any) -> None:
    async def handler(request: web.Request, n: int) -> web.StreamResponse:
        response = await stream_response(request, "application/x-ndjson")
        body = "".join(json.dumps({"id": str(i), "text": "x"}) + "\n" for i in range(10_000))
        await response.write(body.encode())
        await response.write_eof()
        return response

    _feed, host = await serve(handler)
    source = make_source(f"ndjson+http://{host}/events", reconnect="false")
    events = await collect(source, ended)
    assert [m.message_id for m in chats(events)] == [str(i) for i in range(10_000)]


def test_config_errors() -> None:
    with pytest.raises(ConfigError):
        make_source("http://127.0.0.1/events")
    with pytest.raises(ConfigError, match="timeout"):
        make_source("sse+http://127.0.0.1/events", timeout="-1")
