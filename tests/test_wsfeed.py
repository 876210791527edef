"""WebSocket JSON feed client against a raw, byte-level WebSocket server on 127.0.0.1.

The server is written by hand (RFC 6455 handshake and frames) so tests can send what a real
library would refuse to: invalid UTF-8 in a text frame, half a frame before dropping the TCP
connection, a server that stops answering pings.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from streamwatch.connectors.base import SourceSpec
from streamwatch.connectors.reconnect import no_delay_backoff
from streamwatch.connectors.wsfeed import WebSocketFeedSource
from streamwatch.errors import ConfigError
from streamwatch.events import MessageKind, Role, SourceState, SourceStatus

from .connector_support import chats, collect, ended, skips, states

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        header = bytes([first, n])
    elif n < 1 << 16:
        header = bytes([first, 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([first, 127]) + n.to_bytes(8, "big")
    return header + payload


@dataclass
class Conn:
    """One accepted WebSocket connection, seen from the server side."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    headers: dict[str, str]
    path: str
    received: list[bytes] = field(default_factory=list)
    answer_pings: bool = True
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    got_message: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, payload: bytes | str, opcode: int = TEXT) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        self.writer.write(frame(opcode, data))
        await self.writer.drain()

    async def send_json(self, value: Any) -> None:
        await self.send(json.dumps(value, ensure_ascii=False))

    async def close(self, code: int = 1000) -> None:
        self.writer.write(frame(CLOSE, code.to_bytes(2, "big")))
        await self.writer.drain()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closed.wait(), 2)
        self.writer.close()

    def abort(self) -> None:
        self.writer.transport.abort()

    async def read_frames(self) -> None:
        """Read the client's masked frames: answer pings, echo close, keep text frames."""
        try:
            while True:
                head = await self.reader.readexactly(2)
                n = head[1] & 0x7F
                if n == 126:
                    n = int.from_bytes(await self.reader.readexactly(2), "big")
                elif n == 127:
                    n = int.from_bytes(await self.reader.readexactly(8), "big")
                mask = await self.reader.readexactly(4) if head[1] & 0x80 else b"\0\0\0\0"
                raw = await self.reader.readexactly(n)
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(raw))
                opcode = head[0] & 0x0F
                if opcode == PING and self.answer_pings:
                    self.writer.write(frame(PONG, payload))
                elif opcode == CLOSE:
                    if not self.writer.is_closing():
                        self.writer.write(frame(CLOSE, payload[:2]))
                        self.writer.close()
                    break
                elif opcode in (TEXT, BINARY):
                    self.received.append(payload)
                    self.got_message.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed.set()


Script = Callable[[Conn, int], Awaitable[None]]


class RawWsServer:
    """Accepts WebSocket upgrades and runs ``script(conn, n)`` for the n-th connection."""

    def __init__(self, script: Script, reject: int | None = None) -> None:
        self.script = script
        self.reject = reject
        self.conns: list[Conn] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> RawWsServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for conn in self.conns:
            conn.writer.transport.abort()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/feed"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        lines = request.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if self.reject is not None:
            status = f"HTTP/1.1 {self.reject} Nope\r\nContent-Length: 0\r\n"
            writer.write(status.encode() + b"Connection: close\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        accept = base64.b64encode(
            hashlib.sha1(headers["sec-websocket-key"].encode() + GUID).digest()
        ).decode()
        writer.write(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        conn = Conn(reader, writer, headers, path)
        self.conns.append(conn)
        reading = asyncio.create_task(conn.read_frames())
        try:
            await self.script(conn, len(self.conns))
            await conn.closed.wait()
        except ConnectionError:
            pass
        finally:
            reading.cancel()


def make_source(url: str, **options: str) -> WebSocketFeedSource:
    spec = SourceSpec("ws", url, url, options)
    return WebSocketFeedSource(spec, backoff=no_delay_backoff())


def chat(i: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"m{i}", "ts": 1714564800 + i, "user": f"u{i % 7}", "text": f"msg {i}", **extra}


# ---------------------------------------------------------------- tests


async def test_objects_arrays_binary_mapping_token_and_subscribe() -> None:
    async def script(conn: Conn, n: int) -> None:
        await asyncio.wait_for(conn.got_message.wait(), 5)  # the subscribe message
        await conn.send_json(
            {
                "method": "WebcastChatMessage",
                "data": {
                    "content": "多少钱?",
                    "msg_id": 1,
                    "user": {"nickname": "小王", "id": 42, "is_anchor": False},
                    "create_time": 1714564800123,
                },
            }
        )
        await conn.send_json({"method": "WebcastLikeMessage", "data": {"count": 3}})
        await conn.send_json(
            [
                {
                    "method": "WebcastChatMessage",
                    "data": {
                        "content": "welcome",
                        "msg_id": 2,
                        "user": {"nickname": "Shop", "id": 1, "is_anchor": True},
                        "create_time": 1714564801,
                    },
                },
                {
                    "method": "WebcastChatMessage",
                    "data": {
                        "content": "\x1b[31m[bold]red[/bold]<s>",
                        "msg_id": 3,
                        "user": {"nickname": "x", "id": 7},
                        "create_time": "2024-05-01T12:00:02Z",
                    },
                },
            ]
        )
        binary = {
            "method": "WebcastChatMessage",
            "data": {
                "content": "bin",
                "msg_id": 4,
                "user": {"nickname": "b", "id": 8},
                "create_time": 1714564803,
            },
        }
        await conn.send(json.dumps(binary).encode(), BINARY)
        await conn.close()

    mapping = (
        "text=data.content,user=data.user.nickname,user_id=data.user.id,id=data.msg_id,"
        "ts=data.create_time,host=data.user.is_anchor,when.method=WebcastChatMessage"
    )
    async with RawWsServer(script) as server:
        url = f"{server.url}?room=7#map={mapping}&platform=douyin&stream=room7"
        source = make_source(
            url, token="s3cret-token", subscribe='{"op":"sub","room":7}', reconnect="false"
        )
        events = await collect(source, ended)
        conn = server.conns[0]
        assert conn.path == "/feed?room=7"  # the fragment (our options) never reaches the server
        assert conn.headers["authorization"] == "Bearer s3cret-token"
        assert conn.received == [b'{"op":"sub","room":7}']

    got = chats(events)
    assert [m.message_id for m in got] == ["1", "2", "3", "4"]
    assert got[0].text == "多少钱?" and got[0].display_name == "小王" and got[0].author_id == "42"
    assert got[0].sent_at == pytest.approx(1714564800.123)
    assert got[0].platform == "douyin" and got[0].stream_id == "room7"
    assert source.name == "douyin:room7"
    assert got[1].role is Role.HOST and got[0].role is Role.VIEWER
    assert got[2].text == "\x1b[31m[bold]red[/bold]<s>"  # kept exactly, never interpreted
    assert got[2].sent_at == pytest.approx(1714564802.0)
    assert got[3].text == "bin"
    assert states(events) == [SourceState.CONNECTING, SourceState.LIVE, SourceState.ENDED]
    counters = dict(events[-1].counters) if isinstance(events[-1], SourceStatus) else {}
    assert counters["ignored"] == 1 and counters["received"] == 4


async def test_garbage_frames_are_counted_and_skipped_connection_survives() -> None:
    async def script(conn: Conn, n: int) -> None:
        await conn.send(b'{"text": "bad \xff\xfe utf8", "id": "x"}')  # invalid UTF-8, text frame
        await conn.send("this is not json")
        await conn.send("42")
        await conn.send('[{"id": "a1", "text": "in array"}, 5, "str"]')
        await conn.send('{"id": "nt", "user": "no text"}')
        await conn.send(json.dumps({"id": "big", "text": "x" * 12_000}))
        await conn.send(b"\xff\x00garbage", BINARY)
        await conn.send('{"id": "deep", "text": ' + "[" * 4000 + "]" * 4000 + "}")  # 8 kB
        await conn.send(json.dumps(chat(1)))
        await conn.close()

    async with RawWsServer(script) as server:
        source = make_source(server.url, max_bytes="10000", reconnect="false")
        events = await collect(source, ended)

    assert [m.message_id for m in chats(events)] == ["a1", "m1"]
    reasons = [s.reason for s in skips(events)]
    assert len(reasons) == 9
    assert any("invalid UTF-8" in r for r in reasons)
    assert any("not JSON" in r for r in reasons)
    assert any("missing required field 'text'" in r for r in reasons)
    assert any("oversized" in r for r in reasons)
    assert all(s.where.startswith("connection 1 frame ") for s in skips(events))
    counters = dict(events[-1].counters) if isinstance(events[-1], SourceStatus) else {}
    assert counters["invalid_utf8"] == 2  # the text frame and the binary frame
    assert counters["oversized"] == 1
    assert counters["malformed"] == 5 and counters["missing_field"] == 1  # incl. nesting bomb
    assert states(events)[-1] is SourceState.ENDED


async def test_drop_mid_frame_then_replay_no_loss_no_duplicates() -> None:
    async def script(conn: Conn, n: int) -> None:
        if n == 1:
            for i in range(50):
                await conn.send_json(chat(i))
            half = frame(TEXT, json.dumps(chat(50)).encode())
            conn.writer.write(half[: len(half) // 2])
            await conn.writer.drain()
            conn.abort()
        else:  # the relay replays a little history after a reconnect
            for i in range(40, 100):
                await conn.send_json(chat(i))
            await conn.close()

    async with RawWsServer(script) as server:
        source = make_source(server.url)
        events = await collect(source, lambda ev: len(chats(ev)) >= 100 or len(ev) > 400)

    ids = [m.message_id for m in chats(events)]
    assert ids == [f"m{i}" for i in range(100)]
    assert states(events)[:4] == [
        SourceState.CONNECTING,
        SourceState.LIVE,
        SourceState.RECONNECTING,
        SourceState.LIVE,
    ]
    reconnecting = next(e for e in events if isinstance(e, SourceStatus) and e.attempt == 1)
    assert "dropped" in reconnecting.detail or "closed" in reconnecting.detail
    live_again = [e for e in events if isinstance(e, SourceStatus)][3]
    assert dict(live_again.counters).get("duplicates", 0) == 0  # replay not reached yet
    assert source.health.counters["duplicates"] == 10


async def test_stalled_server_is_detected_by_keepalive_and_reconnected() -> None:
    async def script(conn: Conn, n: int) -> None:
        if n == 1:
            conn.answer_pings = False
            await conn.send_json(chat(0))
            await asyncio.sleep(30)  # stalls: no frames, no pongs
        else:
            await conn.send_json(chat(1))
            await conn.close()

    async with RawWsServer(script) as server:
        source = make_source(server.url, ping_interval="0.1", ping_timeout="0.2")
        events = await collect(source, lambda ev: len(chats(ev)) >= 2)

    assert [m.message_id for m in chats(events)] == ["m0", "m1"]
    reconnecting = [
        e for e in events if isinstance(e, SourceStatus) and e.state is SourceState.RECONNECTING
    ]
    assert "stalled" in reconnecting[0].detail
    assert source.health.counters["stalls"] == 1


async def test_ten_thousand_message_burst() -> None:
    async def script(conn: Conn, n: int) -> None:
        batch = b"".join(frame(TEXT, json.dumps(chat(i)).encode()) for i in range(5000))
        conn.writer.write(batch)
        # and 5,000 more as 50 array frames of 100
        for start in range(5000, 10_000, 100):
            conn.writer.write(
                frame(TEXT, json.dumps([chat(i) for i in range(start, start + 100)]).encode())
            )
        await conn.writer.drain()
        await conn.close()

    async with RawWsServer(script) as server:
        source = make_source(server.url, reconnect="false")
        events = await collect(source, ended)

    ids = [m.message_id for m in chats(events)]
    assert len(ids) == 10_000 and len(set(ids)) == 10_000
    assert ids == [f"m{i}" for i in range(10_000)]


async def test_unauthorized_is_fatal_and_token_is_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    async def script(conn: Conn, n: int) -> None:
        raise AssertionError("never accepted")

    async with RawWsServer(script, reject=401) as server:
        source = make_source(server.url + "?key=querysecret", token="tok-SECRET-123")
        events = await collect(source, ended)

    assert states(events) == [SourceState.CONNECTING, SourceState.FAILED]
    assert "401" in events[-1].detail if isinstance(events[-1], SourceStatus) else False
    text = caplog.text + " ".join(e.detail for e in events if isinstance(e, SourceStatus))
    assert "tok-SECRET-123" not in text and "querysecret" not in text
    assert "querysecret" not in repr(source)


async def test_frame_beyond_hard_limit_drops_connection_counted_then_reconnects() -> None:
    async def script(conn: Conn, n: int) -> None:
        if n == 1:
            await conn.send_json(chat(0))
            await conn.send(b'{"text": "' + b"y" * 40_000 + b'"}')  # > 16 x max_bytes
            await conn.closed.wait()
        else:
            await conn.send_json(chat(1))
            await conn.close()

    async with RawWsServer(script) as server:
        source = make_source(server.url, max_bytes="2000")
        events = await collect(source, lambda ev: len(chats(ev)) >= 2)

    assert [m.message_id for m in chats(events)] == ["m0", "m1"]
    assert source.health.counters["oversized"] == 1
    assert any("frame over" in s.reason for s in skips(events))


async def test_retries_exhausted_when_nothing_listens() -> None:
    async with RawWsServer(lambda c, n: asyncio.sleep(0)) as server:
        url = server.url
    spec = SourceSpec("ws", url, url, {})
    source = WebSocketFeedSource(spec, backoff=no_delay_backoff(max_attempts=3))
    events = await collect(source, ended)
    assert states(events)[-1] is SourceState.FAILED
    assert states(events).count(SourceState.RECONNECTING) == 2
    assert "gave up after 3" in events[-1].detail if isinstance(events[-1], SourceStatus) else False


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="ws://"):
        make_source("http://127.0.0.1/feed")
    with pytest.raises(ConfigError, match="unknown mapping key"):
        make_source("ws://127.0.0.1/feed#map=txt=data.content")
    with pytest.raises(ConfigError, match="max_bytes"):
        make_source("ws://127.0.0.1/feed", max_bytes="lots")


async def test_paid_and_system_kinds_from_mapping() -> None:
    async def script(conn: Conn, n: int) -> None:
        await conn.send_json({"id": "p", "text": "gift!", "amount": "¥30", "role": "viewer"})
        await conn.send_json({"id": "s", "text": "A joined", "role": "system"})
        await conn.send_json({"id": "r", "text": "hi", "role": "vip-gold"})
        await conn.close()

    async with RawWsServer(script) as server:
        source = make_source(server.url + "#map=amount=amount", reconnect="false")
        events = await collect(source, ended)
    got = {m.message_id: m for m in chats(events)}
    assert got["p"].kind is MessageKind.PAID and got["p"].amount == "¥30"
    assert got["s"].kind is MessageKind.NOTICE and got["s"].role is Role.SYSTEM
    assert got["r"].role is Role.VIEWER
    assert source.health.counters["unknown_role"] == 1


async def test_periodic_status_while_quiet() -> None:
    async def script(conn: Conn, n: int) -> None:
        await conn.send_json(chat(1))
        await asyncio.sleep(30)  # quiet, but answering pings

    async with RawWsServer(script) as server:
        source = make_source(server.url, status_interval="0.05")
        events = await collect(
            source,
            lambda ev: any(
                isinstance(e, SourceStatus) and e.detail == "periodic status" for e in ev
            ),
        )
    periodic = events[-1]
    assert isinstance(periodic, SourceStatus) and periodic.state is SourceState.LIVE
    assert dict(periodic.counters)["received"] == 1
    assert periodic.heartbeat_age is not None
