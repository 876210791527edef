"""The sans-I/O Bilibili danmaku codec, fed packets shaped like the ones the live server sends."""

from __future__ import annotations

import itertools
import json
import struct
import zlib
from typing import Any

import brotli
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamwatch.connectors.bilibili_protocol import (
    HEARTBEAT_BODY,
    OP_AUTH_REPLY,
    OP_HEARTBEAT,
    OP_HEARTBEAT_REPLY,
    OP_MESSAGE,
    VER_BROTLI,
    VER_INT,
    VER_JSON,
    VER_ZLIB,
    AuthReplyEvent,
    BilibiliEvent,
    BilibiliProtocol,
    HeartbeatReplyEvent,
    NamesMaskedEvent,
    RoomStateEvent,
    encode_messages,
    encode_packet,
    parse_packets,
)
from streamwatch.errors import ProtocolError
from streamwatch.events import ChatMessage, InputSkipped, MessageDeleted, MessageKind, Role

ROOM = 21452505
NOW = 1715735600.0


def danmu(
    i: int,
    *,
    uid: int | None = None,
    name: str = "Qm-小柴",
    text: str = "主播这个多少钱",
    admin: int = 0,
    id_str: bool = True,
    msg_id: bool = False,
    reply_uname: str = "",
) -> dict[str, Any]:
    """A DANMU_MSG laid out as the 2024 web server sends it."""
    uid = 103031126 + i if uid is None else uid
    extra: dict[str, Any] = {
        "send_from_me": False, "mode": 0, "color": 16777215, "dm_type": 0, "font_size": 25,
        "player_mode": 1, "show_player_type": 0, "content": text, "user_hash": str(1846163709 + i),
        "emoticon_unique": "", "bulge_display": 0, "recommend_score": 4,
        "main_state_dm_color": "", "objective_state_dm_color": "", "direction": 0,
        "pk_direction": 0, "quartet_direction": 0, "anniversary_crowd": 0, "yeah_space_type": "",
        "yeah_space_url": "", "jump_to_url": "", "space_type": "", "space_url": "",
        "animation": {}, "emots": None, "is_audited": False, "icon": None, "show_reply": True,
        "reply_mid": 0, "reply_uname": reply_uname, "reply_uname_color": "",
        "reply_is_mystery": False, "hit_combo": 0,
    }  # fmt: skip
    if id_str:
        extra["id_str"] = f"5a78879192fe8d0b0b566fa89466{i:06x}"
    user = {
        "uid": uid,
        "base": {
            "name": name, "face": "https://i2.hdslb.com/bfs/face/33dbd8d6e36f0ab184ef1adde4c4f618d0a1dedb.jpg",
            "name_color": 0, "is_mystery": False, "risk_ctrl_info": None,
            "origin_info": {"name": name, "face": ""},
            "official_info": {"role": 0, "title": "", "desc": "", "type": -1}, "name_color_str": "",
        },
        "medal": None, "wealth": None, "title": {"old_title_css_id": "", "title_css_id": ""},
        "uhead_frame": None, "guard_leader": {"is_guard_leader": False},
    }  # fmt: skip
    meta = [
        0, 1, 25, 16777215, 1715735563613 + i, 976713860, 0, "6e0a38fd", 0, 0, 0, "", 0, "{}",
        "{}",
        {"mode": 0, "show_player_type": 0, "extra": json.dumps(extra, ensure_ascii=False),
         "user": user},
        {"activity_identity": "", "activity_source": 0, "not_show": 0},
        0,
    ]  # fmt: skip
    message: dict[str, Any] = {
        "cmd": "DANMU_MSG",
        "info": [
            meta, text, [uid, name, admin, 0, 0, 10000, 1, ""], [], [4, 0, 9868950, ">50000", 0],
            ["", ""], 0, 0, None, {"ct": "ABE155CD", "ts": 1715735563}, 0, 0, None, None, 0, 364,
            [11], None,
        ],
    }  # fmt: skip
    if msg_id:
        message["msg_id"] = f"27183031569{i:04d}"
        message["send_time"] = 1715735563613 + i
    return message


def super_chat(
    sc_id: int, *, price: int = 30, message: str = "主播，这个是正品吗？"
) -> dict[str, Any]:
    return {
        "cmd": "SUPER_CHAT_MESSAGE",
        "data": {
            "background_bottom_color": "#2A60B2", "background_color": "#EDF5FF", "id": sc_id,
            "is_ranked": 0, "is_send_audit": 0, "message": message, "message_font_color": "#A3F6FF",
            "message_trans": "", "price": price, "rate": 1000, "start_time": 1715735570,
            "end_time": 1715735630, "time": 60, "token": "3B5C0C6D", "trans_mark": 0,
            "ts": 1715735570, "uid": 39911917,
            "user_info": {
                "face": "", "face_frame": "", "guard_level": 0, "is_main_vip": 0, "is_svip": 0,
                "is_vip": 0, "level_color": "#61c05a", "manager": 0, "name_color": "#666666",
                "title": "0", "uname": "耳东立习习", "user_level": 12,
            },
        },
        "roomid": ROOM,
    }  # fmt: skip


def proto(**kwargs: Any) -> BilibiliProtocol:
    kwargs.setdefault("clock", lambda: NOW)
    return BilibiliProtocol(ROOM, **kwargs)


def feed(p: BilibiliProtocol, data: bytes) -> list[BilibiliEvent]:
    p.receive_data(data)
    return p.events_received()


def chats(events: list[BilibiliEvent]) -> list[ChatMessage]:
    return [e for e in events if isinstance(e, ChatMessage)]


# -- what the client sends ---------------------------------------------------------------------


def test_auth_packet_is_what_the_web_client_sends() -> None:
    p = proto(key="secret-key-from-getDanmuInfo", buvid="B1D2F3A4-XXXXinfoc")
    p.initiate()
    [packet] = p.data_to_send()
    length, header_len, ver, op, seq = struct.unpack(">IHHII", packet[:16])
    assert (length, header_len, ver, op, seq) == (len(packet), 16, 1, 7, 1)
    assert json.loads(packet[16:]) == {
        "uid": 0,
        "roomid": ROOM,
        "protover": 3,
        "buvid": "B1D2F3A4-XXXXinfoc",
        "platform": "web",
        "type": 2,
        "key": "secret-key-from-getDanmuInfo",
    }
    assert "secret-key" not in repr(p)


def test_anonymous_auth_has_no_key() -> None:
    p = proto()
    p.initiate()
    [(ver, op, body)] = parse_packets(p.data_to_send()[0])
    assert (ver, op) == (VER_INT, 7)
    assert json.loads(body) == {
        "uid": 0,
        "roomid": ROOM,
        "protover": 3,
        "platform": "web",
        "type": 2,
    }


def test_heartbeat_packet_bytes() -> None:
    p = proto()
    p.send_heartbeat()
    assert p.data_to_send() == [
        b"\x00\x00\x00\x1f\x00\x10\x00\x01\x00\x00\x00\x02\x00\x00\x00\x01" + HEARTBEAT_BODY
    ]


def test_parse_packets_rejects_truncation() -> None:
    with pytest.raises(ProtocolError):
        parse_packets(encode_packet(OP_HEARTBEAT, b"x")[:-1])
    with pytest.raises(ProtocolError):
        parse_packets(b"\x00\x00")


# -- what the server sends ---------------------------------------------------------------------


def test_auth_replies() -> None:
    p = proto()
    [ok] = feed(p, encode_packet(OP_AUTH_REPLY, b'{"code":0}'))
    assert ok == AuthReplyEvent(0) and ok.ok
    [refused] = feed(p, encode_packet(OP_AUTH_REPLY, b'{"code":-101}'))
    assert isinstance(refused, AuthReplyEvent) and not refused.ok


def test_heartbeat_reply_carries_popularity() -> None:
    p = proto()
    assert feed(p, encode_packet(OP_HEARTBEAT_REPLY, (123456).to_bytes(4, "big"))) == [
        HeartbeatReplyEvent(123456)
    ]
    assert p.popularity == 123456


def test_danmu_fields() -> None:
    [chat] = chats(feed(proto(), encode_messages([danmu(1)])))
    assert chat.platform == "bilibili"
    assert chat.stream_id == str(ROOM)
    assert chat.message_id == "5a78879192fe8d0b0b566fa89466000001"
    assert chat.author_id == "103031127"
    assert chat.display_name == "Qm-小柴"
    assert chat.text == "主播这个多少钱"
    assert chat.role is Role.VIEWER
    assert chat.sent_at == pytest.approx(1715735563.614)
    assert chat.received_at == NOW
    assert chat.kind is MessageKind.TEXT
    assert chat.raw is not None and json.loads(chat.raw)["cmd"] == "DANMU_MSG"


def test_old_style_cmd_suffix() -> None:
    message = danmu(2)
    message["cmd"] = "DANMU_MSG:4:0:2:2:2:0"
    assert len(chats(feed(proto(), encode_messages([message])))) == 1


@pytest.mark.parametrize("ver", [VER_JSON, VER_ZLIB, VER_BROTLI])
def test_batches_in_every_encoding(ver: int) -> None:
    messages = [danmu(i) for i in range(25)] + [super_chat(8563091)]
    got = chats(feed(proto(), encode_messages(messages, ver=ver)))
    assert [c.message_id for c in got[:25]] == [
        f"5a78879192fe8d0b0b566fa89466{i:06x}" for i in range(25)
    ]
    assert got[25].message_id == "sc:8563091"


def test_roles_reply_and_host() -> None:
    p = proto(host_uid=7706705)
    messages = [
        danmu(1, admin=1),
        danmu(2, uid=7706705, name="主播本人"),
        danmu(3, reply_uname="耳东立习习", text="@耳东立习习 是正品"),
    ]
    moderator, host, reply = chats(feed(p, encode_messages(messages)))
    assert moderator.role is Role.MODERATOR
    assert host.role is Role.HOST
    assert reply.reply_to_author == "耳东立习习"
    assert reply.mentions == ("耳东立习习",)


def test_masked_names_anonymous_session() -> None:
    p = proto()
    data = encode_messages(
        [danmu(i, uid=0, name="用户***", id_str=(i != 2)) for i in range(3)], ver=VER_BROTLI
    )
    events = feed(p, data)
    assert [type(e) for e in events].count(NamesMaskedEvent) == 1
    got = chats(events)
    assert [c.author_id for c in got] == [f"hash:{1846163709 + i}" for i in range(3)]
    assert all(c.role is Role.VIEWER for c in got)
    assert p.names_masked


def test_message_id_fallbacks_are_stable() -> None:
    with_msg_id = danmu(5, id_str=False, msg_id=True)
    [chat] = chats(feed(proto(), encode_messages([with_msg_id])))
    assert chat.message_id == "271830315690005"
    bare = danmu(6, id_str=False)
    first = chats(feed(proto(), encode_messages([bare])))[0].message_id
    again = chats(feed(proto(), encode_messages([bare])))[0].message_id
    other = chats(feed(proto(), encode_messages([danmu(6, id_str=False, text="别的")])))[0]
    assert first == again and first.startswith("h:")
    assert other.message_id != first


def test_super_chat_and_its_removal() -> None:
    p = proto()
    [sc] = chats(feed(p, encode_messages([super_chat(8563091, price=50)])))
    assert sc.kind is MessageKind.PAID
    assert (sc.amount, sc.text, sc.display_name) == ("¥50", "主播，这个是正品吗？", "耳东立习习")
    assert (sc.author_id, sc.sent_at) == ("39911917", 1715735570.0)
    delete = {"cmd": "SUPER_CHAT_MESSAGE_DELETE", "data": {"ids": [8563091]}, "roomid": ROOM}
    [gone] = feed(p, encode_messages([delete]))
    assert isinstance(gone, MessageDeleted) and gone.message_id == "sc:8563091"


def test_room_state_and_unknown_commands() -> None:
    p = proto()
    messages: list[dict[str, Any]] = [
        {"cmd": "PREPARING", "roomid": str(ROOM)},
        {"cmd": "LIVE", "live_key": "529843412341234", "roomid": ROOM},
        {"cmd": "INTERACT_WORD", "data": {"uname": "路人", "msg_type": 1}},
        {"cmd": "WATCHED_CHANGE", "data": {"num": 12345, "text_small": "1.2万"}},
        {"cmd": "SEND_GIFT", "data": {"giftName": "辣条", "num": 1}},
    ]
    events = feed(p, encode_messages(messages, ver=VER_ZLIB))
    assert events == [RoomStateEvent(False, "PREPARING"), RoomStateEvent(True, "LIVE")]
    assert p.counters["unknown_cmd"] == 3
    assert p.counters["malformed"] == 0


# -- buffering and bad input -------------------------------------------------------------------


def test_byte_by_byte_feed_buffers_partial_packets() -> None:
    p = proto()
    data = encode_messages([danmu(i) for i in range(3)]) + encode_messages(
        [danmu(i) for i in range(3, 6)], ver=VER_BROTLI
    )
    events: list[BilibiliEvent] = []
    for i in range(len(data)):
        events += feed(p, data[i : i + 1])
    assert len(chats(events)) == 6
    assert p.counters["malformed"] == 0


def test_garbage_drops_the_buffer_then_resyncs() -> None:
    p = proto()
    junk = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n"
    [skip] = feed(p, junk + encode_messages([danmu(0)]))  # the packet behind garbage is lost
    assert isinstance(skip, InputSkipped) and "dropped" in skip.reason
    assert len(chats(feed(p, encode_messages([danmu(1)])))) == 1  # next read starts clean
    assert p.counters["malformed"] == 1


@pytest.mark.parametrize(
    ("header", "counter"),
    [
        (struct.pack(">IHHII", 8, 16, 0, 5, 0), "malformed"),  # packet shorter than its header
        (struct.pack(">IHHII", 64, 18, 0, 5, 0), "malformed"),  # header length not 16
        (struct.pack(">IHHII", (1 << 20) + 1, 16, 0, 5, 0), "oversized"),  # over 1 MiB
        (struct.pack(">IHHII", 32, 16, 9, 5, 0), "malformed"),  # unknown version
        (struct.pack(">IHHII", 32, 16, 0, 99, 0), "malformed"),  # unknown operation
    ],
)
def test_bad_lengths_and_fields_are_counted(header: bytes, counter: str) -> None:
    p = proto()
    [skip] = feed(p, header + b"\0" * 16)
    assert isinstance(skip, InputSkipped)
    assert p.counters == {counter: 1}
    assert len(chats(feed(p, encode_messages([danmu(0)])))) == 1


def test_bad_compressed_body_skips_only_that_packet() -> None:
    p = proto()
    bad = encode_packet(OP_MESSAGE, b"definitely not zlib", ver=VER_ZLIB)
    bad_brotli = encode_packet(OP_MESSAGE, b"\xff\xff\xff not brotli", ver=VER_BROTLI)
    events = feed(p, bad + bad_brotli + encode_messages([danmu(0)]))
    assert [type(e) for e in events] == [InputSkipped, InputSkipped, ChatMessage]
    assert p.counters["malformed"] == 2


def test_decompression_bomb_is_refused() -> None:
    p = proto(max_decompressed_bytes=1 << 20)
    bomb = encode_packet(OP_MESSAGE, zlib.compress(b"\0" * (4 << 20)), ver=VER_ZLIB)
    brotli_bomb = encode_packet(OP_MESSAGE, brotli.compress(b"\0" * (4 << 20)), ver=VER_BROTLI)
    events = feed(p, bomb + brotli_bomb)
    assert [type(e) for e in events] == [InputSkipped, InputSkipped]


def test_truncated_and_doubly_nested_batches() -> None:
    p = proto()
    inner = encode_messages([danmu(0), danmu(1)])
    truncated = encode_packet(OP_MESSAGE, zlib.compress(inner[:-5]), ver=VER_ZLIB)
    nested = encode_packet(
        OP_MESSAGE,
        brotli.compress(encode_packet(OP_MESSAGE, zlib.compress(inner), ver=VER_ZLIB)),
        ver=VER_BROTLI,
    )
    events = feed(p, truncated + nested)
    assert len(chats(events)) == 1  # the first message of the truncated batch survives
    assert p.counters["malformed"] == 2


def test_bad_json_bad_utf8_and_missing_fields() -> None:
    p = proto()
    good = json.dumps(danmu(0), ensure_ascii=False).encode()
    bad_utf8 = good.replace("主播这个多少钱".encode(), b"\xff\xfe")
    short = json.dumps({"cmd": "DANMU_MSG", "info": [[0, 1]]}).encode()
    sc_without_message = json.dumps({"cmd": "SUPER_CHAT_MESSAGE", "data": {"id": 1}}).encode()
    packets = [
        encode_packet(OP_MESSAGE, b"{not json", ver=VER_JSON),
        encode_packet(OP_MESSAGE, b'["no", "cmd"]', ver=VER_JSON),
        encode_packet(OP_MESSAGE, bad_utf8, ver=VER_JSON),
        encode_packet(OP_MESSAGE, short, ver=VER_JSON),
        encode_packet(OP_MESSAGE, sc_without_message, ver=VER_JSON),
    ]
    events = feed(p, b"".join(packets))
    assert [type(e) for e in events] == [
        InputSkipped,
        InputSkipped,
        ChatMessage,
        InputSkipped,
        InputSkipped,
    ]
    assert "\ufffd" in chats(events)[0].text
    assert p.counters["invalid_utf8"] == 1
    assert p.counters["malformed"] == 4


def test_markup_in_danmaku_is_kept_verbatim() -> None:
    text = "[bold]假货[/bold] <s>退款</s> \x1b[2J"
    [chat] = chats(feed(proto(), encode_messages([danmu(0, text=text)])))
    assert chat.text == text


# -- fuzz --------------------------------------------------------------------------------------


@given(st.lists(st.binary(max_size=300), max_size=20))
@settings(max_examples=300)
def test_fuzz_arbitrary_reads_never_raise(reads: list[bytes]) -> None:
    p = proto()
    for data in reads:
        p.receive_data(data)
    for event in p.events_received():
        assert isinstance(
            event,
            ChatMessage
            | MessageDeleted
            | InputSkipped
            | AuthReplyEvent
            | HeartbeatReplyEvent
            | NamesMaskedEvent
            | RoomStateEvent,
        )


STREAM = (
    encode_packet(OP_AUTH_REPLY, b'{"code":0}')
    + encode_messages([danmu(i) for i in range(4)], ver=VER_BROTLI)
    + encode_packet(OP_HEARTBEAT_REPLY, (99).to_bytes(4, "big"))
    + encode_messages([danmu(i) for i in range(4, 8)], ver=VER_ZLIB)
    + encode_messages([super_chat(1), danmu(8)])
)


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
@settings(max_examples=200)
def test_fuzz_any_split_gives_the_same_events(cuts: list[int]) -> None:
    whole = feed(proto(), STREAM)
    p = proto()
    split: list[BilibiliEvent] = []
    points = [0, *sorted(cuts), len(STREAM)]
    for start, end in itertools.pairwise(points):
        split += feed(p, STREAM[start:end])
    assert split == whole
    assert len(chats(whole)) == 10


@given(st.binary(min_size=1, max_size=200), st.sampled_from([VER_ZLIB, VER_BROTLI]))
def test_fuzz_compressed_garbage_is_a_counted_skip(body: bytes, ver: int) -> None:
    p = proto()
    events = feed(p, encode_packet(OP_MESSAGE, body, ver=ver))
    assert all(isinstance(e, InputSkipped | ChatMessage) for e in events)
