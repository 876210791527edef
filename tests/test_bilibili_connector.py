"""BilibiliSource against an in-process fake danmaku server speaking the binary packet protocol.

Each test runs its own server on 127.0.0.1:0. Faults are made as a network makes them: a
packet cut across WebSocket messages, a frame cut in half and the TCP connection aborted,
garbage, a server that stops answering heartbeats, a 10,000-danmaku burst, a refused auth.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from streamwatch.connectors.base import Source
from streamwatch.connectors.bilibili import BilibiliSource
from streamwatch.connectors.bilibili_protocol import (
    OP_AUTH,
    OP_AUTH_REPLY,
    OP_HEARTBEAT,
    OP_HEARTBEAT_REPLY,
    OP_MESSAGE,
    VER_BROTLI,
    VER_JSON,
    VER_ZLIB,
    encode_messages,
    encode_packet,
    parse_packets,
)
from streamwatch.connectors.reconnect import no_delay_backoff
from streamwatch.connectors.registry import open_source, parse_spec
from streamwatch.errors import ConfigError
from streamwatch.events import InputSkipped, SourceState

from .connector_support import FakeWebSocketServer, chats, collect, has_chats, statuses

ROOM = 21452505


def id_str(i: int) -> str:
    return f"0174f43f8bf8221722e2061cfb{i:08x}"


def danmu(i: int, *, uid: int | None = None, name: str | None = None) -> dict[str, Any]:
    """A DANMU_MSG shaped like the live server's (2024 layout, trimmed extra)."""
    uid = 39911917 + i if uid is None else uid
    name = f"观众{i % 50}" if name is None else name
    text = f"第{i}个问题：有没有M码？"
    extra = {
        "send_from_me": False, "mode": 0, "color": 16777215, "dm_type": 0, "font_size": 25,
        "player_mode": 1, "show_player_type": 0, "content": text, "user_hash": str(4049751875 + i),
        "emoticon_unique": "", "bulge_display": 0, "recommend_score": 0, "direction": 0,
        "animation": {}, "emots": None, "is_audited": False, "id_str": id_str(i), "icon": None,
        "show_reply": True, "reply_mid": 0, "reply_uname": "", "reply_uname_color": "",
        "reply_is_mystery": False, "hit_combo": 0,
    }  # fmt: skip
    meta = [
        0, 1, 25, 16777215, 1689072355120 + i, -1924347370, 0, "f1624f43", 0, 0, 0, "", 0, "{}",
        "{}", {"extra": json.dumps(extra, ensure_ascii=False), "mode": 0, "show_player_type": 0},
        {"activity_identity": "", "activity_source": 0, "not_show": 0}, 0,
    ]  # fmt: skip
    return {
        "cmd": "DANMU_MSG",
        "info": [
            meta, text, [uid, name, 0, 0, 0, 10000, 1, ""], [], [31, 0, 10512625, ">50000", 0],
            ["", ""], 0, 0, None, {"ct": "E606F874", "ts": 1689072355}, 0, 0, None, None, 0, 56,
            [0],
        ],
        "is_report": False,
        "msg_id": f"2718303156{i:05d}",
        "send_time": 1689072355181 + i,
    }  # fmt: skip


def raw_binary_frame(payload: bytes) -> bytes:
    """An unmasked server-to-client binary frame, as it goes on the wire."""
    n = len(payload)
    if n < 126:
        return bytes([0x82, n]) + payload
    if n < 1 << 16:
        return bytes([0x82, 126]) + n.to_bytes(2, "big") + payload
    return bytes([0x82, 127]) + n.to_bytes(8, "big") + payload


@dataclass(eq=False)
class Session:
    ws: ServerConnection
    index: int
    auth: dict[str, Any] = field(default_factory=dict)
    heartbeats: int = 0
    answer_heartbeats: bool = True
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task[None] | None = None

    async def accept(self, code: int = 0) -> None:
        """Read the auth packet, answer it, then keep answering heartbeats in the background."""
        [(_ver, op, body)] = parse_packets(bytes(await self.ws.recv(decode=False)))
        assert op == OP_AUTH
        self.auth = json.loads(body)
        await self.ws.send(encode_packet(OP_AUTH_REPLY, json.dumps({"code": code}).encode()))
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                for _ver, op, _body in parse_packets(bytes(await self.ws.recv(decode=False))):
                    if op == OP_HEARTBEAT:
                        self.heartbeats += 1
                        if self.answer_heartbeats:
                            popularity = (1000 + self.heartbeats).to_bytes(4, "big")
                            await self.ws.send(encode_packet(OP_HEARTBEAT_REPLY, popularity))
        except ConnectionClosed:
            self.closed.set()

    async def send(self, messages: list[dict[str, Any]], ver: int = VER_BROTLI) -> None:
        await self.ws.send(encode_messages(messages, ver=ver))

    async def wait_closed(self) -> None:
        await self.closed.wait()


class FakeBilibili(FakeWebSocketServer[Session]):
    """A fake danmaku server running ``script`` for every connection."""

    path = "/sub"

    def open_session(self, ws: ServerConnection, index: int) -> Session:
        return Session(ws, index)

    def closed(self, session: Session) -> None:
        session.closed.set()

    def finished(self, session: Session) -> None:
        if session._reader is not None:
            session._reader.cancel()


def source_for(url: str, options: dict[str, str] | None = None, **kwargs: Any) -> BilibiliSource:
    spec = parse_spec(f"bilibili:{ROOM}", {"endpoint": url, **(options or {})})
    kwargs.setdefault("backoff", no_delay_backoff())
    kwargs.setdefault("env", {})
    return BilibiliSource(spec, **kwargs)


async def test_danmaku_with_key_uid_and_buvid(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="streamwatch")
    key = "Xk2_secret_token_from_getDanmuInfo=="

    async def script(s: Session) -> None:
        await s.accept()
        await s.send([danmu(i) for i in range(5)], ver=VER_BROTLI)
        await s.send([danmu(5)], ver=VER_ZLIB)
        await s.wait_closed()

    async with FakeBilibili(script) as server:
        source = source_for(
            server.url,
            {"uid": "39911917", "buvid": "A1B2C3D4-E5F6-7788-99AA-BBCCDDEEFF0011infoc"},
            env={"STREAMWATCH_BILIBILI_KEY": key},
        )
        events = await collect(source, has_chats(6))
    session = server.sessions[0]
    assert session.auth == {
        "uid": 39911917,
        "roomid": ROOM,
        "protover": 3,
        "buvid": "A1B2C3D4-E5F6-7788-99AA-BBCCDDEEFF0011infoc",
        "platform": "web",
        "type": 2,
        "key": key,
    }
    cookie = session.ws.request.headers["Cookie"] if session.ws.request else ""
    assert cookie == "buvid3=A1B2C3D4-E5F6-7788-99AA-BBCCDDEEFF0011infoc"
    assert [c.message_id for c in chats(events)] == [id_str(i) for i in range(6)]
    assert chats(events)[0].display_name == "观众0"
    assert [s.state for s in statuses(events)][:2] == [SourceState.CONNECTING, SourceState.LIVE]
    assert key not in caplog.text
    assert all(key not in repr(e) for e in events)
    assert key not in repr(source)


async def test_heartbeats_are_sent_every_interval() -> None:
    async def script(s: Session) -> None:
        await s.accept()
        while s.heartbeats < 3:
            await asyncio.sleep(0.01)
        await s.send([danmu(0)])
        await s.wait_closed()

    async with FakeBilibili(script) as server:
        events = await collect(source_for(server.url, heartbeat=0.05), has_chats(1))
    assert server.sessions[0].heartbeats >= 3
    assert len(chats(events)) == 1


async def test_drop_mid_frame_reconnects_without_loss_or_duplicates() -> None:
    async def script(s: Session) -> None:
        await s.accept()
        if s.index == 0:
            for i in range(19):
                if i == 7:  # one packet split across two WebSocket messages: buffered
                    packet = encode_messages([danmu(i)], ver=VER_JSON)
                    await s.ws.send(packet[:40])
                    await s.ws.send(packet[40:])
                else:
                    await s.send([danmu(i)], ver=VER_JSON)
            # danmaku 19 whole plus half of danmaku 20 in one message ...
            tail = encode_messages([danmu(19)], ver=VER_JSON)
            half = encode_messages([danmu(20)], ver=VER_JSON)
            await s.ws.send(tail + half[: len(half) // 2])
            # ... then half a WebSocket frame, and the TCP connection dies
            frame = raw_binary_frame(encode_messages([danmu(21)], ver=VER_BROTLI))
            s.ws.transport.write(frame[: len(frame) // 2])
            await asyncio.sleep(0.05)
            s.ws.transport.abort()
            return
        await s.send([danmu(i) for i in range(20, 40)])
        await s.wait_closed()

    async with FakeBilibili(script) as server:
        source = source_for(server.url)
        events = await collect(source, has_chats(40))
    assert [c.message_id for c in chats(events)] == [id_str(i) for i in range(40)]
    reconnecting = [s for s in statuses(events) if s.state is SourceState.RECONNECTING]
    assert [s.attempt for s in reconnecting] == [1]
    live = [s for s in statuses(events) if s.state is SourceState.LIVE]
    assert len(live) == 2 and live[1].gap_seconds > 0
    assert source.health.counters["received"] == 40
    assert source.health.counters["malformed"] == 0  # the half packet died with its connection


async def test_garbage_is_counted_and_the_connection_kept() -> None:
    async def script(s: Session) -> None:
        await s.accept()
        await s.send([danmu(0)])
        await s.ws.send("这不是二进制包")  # a text frame of junk
        await s.ws.send(b"\x00\x00\x00\x08\x00\x10\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00")
        await s.ws.send(encode_packet(OP_MESSAGE, b"\x78\x9c broken zlib", ver=VER_ZLIB))
        await s.ws.send(encode_packet(OP_MESSAGE, b'{"cmd": "DANMU_MSG", "info": ', ver=VER_JSON))
        await s.ws.send(b"\xff" * ((1 << 20) + 64))  # over the 1 MiB packet limit
        await s.send([danmu(1)], ver=VER_ZLIB)
        await s.send([{"cmd": "ONLINE_RANK_COUNT", "data": {"count": 8}}, danmu(2)])
        await s.wait_closed()

    async with FakeBilibili(script) as server:
        source = source_for(server.url)
        events = await collect(source, has_chats(3))
    assert [c.message_id for c in chats(events)] == [id_str(i) for i in range(3)]
    assert len([e for e in events if isinstance(e, InputSkipped)]) == 5
    assert source.health.counters["malformed"] == 5
    assert source.health.counters["unknown_cmd"] == 1
    assert len(server.sessions) == 1
    assert SourceState.RECONNECTING not in {s.state for s in statuses(events)}


async def test_unanswered_heartbeats_count_as_a_stall() -> None:
    async def script(s: Session) -> None:
        s.answer_heartbeats = s.index > 0
        await s.accept()
        await s.send([danmu(s.index)])
        await s.wait_closed()

    async with FakeBilibili(script) as server:
        source = source_for(server.url, heartbeat=0.05, stall_timeout=0.4)
        events = await collect(source, has_chats(2))
    assert [c.message_id for c in chats(events)] == [id_str(0), id_str(1)]
    assert server.sessions[0].heartbeats >= 2  # it kept beating; the server kept silent
    [reconnecting] = [s for s in statuses(events) if s.state is SourceState.RECONNECTING]
    assert "stalled" in reconnecting.detail
    assert reconnecting.heartbeat_age is not None and reconnecting.heartbeat_age >= 0.4
    assert source.health.counters["stalls"] == 1


async def test_burst_of_10000_danmaku() -> None:
    total = 10_000
    batches = [  # encoded up front: compression would otherwise stall the shared event loop
        encode_messages([danmu(i) for i in range(start, start + 100)], ver=VER_BROTLI)
        for start in range(0, total, 100)
    ]

    async def script(s: Session) -> None:
        await s.accept()
        for batch in batches:
            await s.ws.send(batch)
        await s.wait_closed()

    async with FakeBilibili(script) as server:
        source = source_for(server.url)
        events = await collect(source, has_chats(total), timeout=60)
    assert [c.message_id for c in chats(events)] == [id_str(i) for i in range(total)]
    assert source.health.counters["received"] == total
    assert source.health.counters["duplicates"] == 0


async def test_refused_auth_fails_without_retrying() -> None:
    async def script(s: Session) -> None:
        await s.accept(code=-101)
        await s.wait_closed()

    async with FakeBilibili(script) as server:
        source = source_for(server.url, {"key": "expired", "uid": "1"})
        events = await collect(source, lambda _: False)
    last = statuses(events)[-1]
    assert last.state is SourceState.FAILED and "-101" in last.detail
    assert len(server.sessions) == 1


async def test_masked_names_degrade_and_offline_is_reported() -> None:
    async def script(s: Session) -> None:
        await s.accept()
        await s.send([danmu(0, uid=0, name="观***"), danmu(1, uid=0, name="用户***")])
        await s.send([{"cmd": "PREPARING", "roomid": str(ROOM)}], ver=VER_JSON)
        await s.send([{"cmd": "LIVE", "roomid": ROOM}, danmu(2, uid=0, name="路***")])
        await s.wait_closed()

    async with FakeBilibili(script) as server:
        events = await collect(source_for(server.url), has_chats(3))
    details = [(s.state, s.detail) for s in statuses(events)]
    assert [d for d in details if d[0] is SourceState.DEGRADED] == [
        (SourceState.DEGRADED, "names masked: anonymous session (set key, uid and buvid)")
    ]
    states = [s for s, _ in details]
    assert states.index(SourceState.ENDED) < len(states) - 1  # still listening after offline
    assert states[-1] is SourceState.LIVE
    assert [c.author_id for c in chats(events)] == [f"hash:{4049751875 + i}" for i in range(3)]
    assert server.sessions[0].auth["uid"] == 0 and "key" not in server.sessions[0].auth


def test_registry_and_options(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KEY", "UID", "BUVID"):
        monkeypatch.delenv(f"STREAMWATCH_BILIBILI_{name}", raising=False)
    source = open_source(f"bilibili:{ROOM}?endpoint=ws://127.0.0.1:9/sub&host_uid=7706705")
    assert isinstance(source, BilibiliSource) and isinstance(source, Source)
    assert source.name == f"bilibili:{ROOM}"
    for bad in ("bilibili:abc", f"bilibili:{ROOM}?uid=me", f"bilibili:{ROOM}?endpoint=tcp://x"):
        with pytest.raises(ConfigError):
            open_source(bad)
