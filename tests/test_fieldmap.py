"""Field mapping for generic JSON feeds: paths, timestamps, roles, spec parser, normalizer;
then the helpers the connectors share (options, URLs, de-duplication, status, reconnects)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamwatch.connectors.base import SourceSpec
from streamwatch.connectors.common import (
    RecentIds,
    StatusTicker,
    check_endpoint,
    option_bool,
    option_float,
    option_int,
    receive_within,
    safe_url,
    url_secrets,
)
from streamwatch.connectors.fieldmap import (
    FeedNormalizer,
    FieldMap,
    feed_options,
    get_path,
    parse_path,
    parse_timestamp,
    to_generic_json,
)
from streamwatch.connectors.health import SourceHealth
from streamwatch.connectors.reconnect import Disconnected, Reconnects, no_delay_backoff
from streamwatch.errors import ConfigError
from streamwatch.events import (
    ChatMessage,
    InputSkipped,
    MessageKind,
    Role,
    SourceEvent,
    SourceState,
    SourceStatus,
)

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC).timestamp()


def normalizer(spec: str | None = None, **kw: Any) -> FeedNormalizer:
    return FeedNormalizer(
        FieldMap.parse(spec),
        platform="ws",
        stream_id="s1",
        health=SourceHealth("ws:s1", clock=lambda: 5.0),
        clock=lambda: 5.0,
        **kw,
    )


def feed_one(n: FeedNormalizer, value: Any) -> ChatMessage | InputSkipped:
    events = n.feed(json.dumps(value), "frame 1")
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, ChatMessage | InputSkipped)
    return event


# ---------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    "value",
    [
        T0,
        int(T0),
        T0 * 1e3,
        int(T0 * 1e3),
        T0 * 1e6,
        int(T0) * 1_000_000_000,
        str(int(T0)),
        f"{T0 * 1e3:.0f}",
        "2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00+00:00",
        "2024-05-01T14:00:00+02:00",
        "2024-05-01 12:00:00",  # naive means UTC
        "2024-05-01T12:00:00.000000Z",
    ],
)
def test_timestamp_forms(value: object) -> None:
    assert parse_timestamp(value) == pytest.approx(T0)


def test_timestamp_fractional_units() -> None:
    assert parse_timestamp(1714564800123) == pytest.approx(1714564800.123)
    assert parse_timestamp("1714564800.5") == pytest.approx(1714564800.5)
    assert parse_timestamp(1714564800123456) == pytest.approx(1714564800.123456)


@pytest.mark.parametrize(
    "bad", [True, None, "", "yesterday", "2024-13-45", -5, float("nan"), [1], {}]
)
def test_bad_timestamps(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(bad)


# ---------------------------------------------------------------- paths and the spec parser


def test_paths() -> None:
    obj = {"data": {"user": {"nickname": "小王"}, "items": [{"t": "a"}, {"t": "b"}], "n": 0}}
    assert get_path(obj, parse_path("data.user.nickname")) == "小王"
    assert get_path(obj, parse_path("data.items.1.t")) == "b"
    assert get_path(obj, parse_path("data.items.5.t")) is None
    assert get_path(obj, parse_path("data.user.nickname.x")) is None
    assert get_path(obj, parse_path("data.n")) == 0
    assert get_path({"7": "digit key"}, parse_path("7")) == "digit key"
    with pytest.raises(ConfigError):
        parse_path("data..x")


def test_spec_changes_only_what_it_names() -> None:
    fmap = FieldMap.parse(
        "text=data.content,user=data.user.nickname,id=data.msg_id,ts=data.create_time"
    )
    assert fmap.paths["text"] == ("data", "content")
    assert fmap.paths["user_id"] == ("user_id",)  # default kept
    assert FieldMap.parse("lang=").paths["lang"] is None


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("txt=a", "unknown mapping key"),
        ("text", "KEY=VALUE"),
        ("role.owner=boss", "role must be"),
        ("require=text+colour", "unknown fields"),
        ("text=", "required but mapped to nothing"),
        ("user=a..b", "empty segment"),
    ],
)
def test_spec_errors(spec: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        FieldMap.parse(spec)


# ---------------------------------------------------------------- mapping objects


def test_generic_jsonl_defaults() -> None:
    n = normalizer()
    row = {
        "ts": "2024-05-01T12:00:00Z",
        "user": "Ann",
        "role": "host",
        "text": "[bold]Welcome[/bold] \x1b[2J",
        "platform": "douyin",
        "id": "m1",
        "lang": "ZH",
        "user_id": "u1",
        "reply_to": "m0",
        "stream": "room9",
    }
    msg = feed_one(n, row)
    assert isinstance(msg, ChatMessage)
    assert (msg.platform, msg.stream_id, msg.message_id) == ("douyin", "room9", "m1")
    assert msg.display_name == "Ann" and msg.author_id == "u1" and msg.role is Role.HOST
    assert msg.text == "[bold]Welcome[/bold] \x1b[2J"
    assert msg.sent_at == pytest.approx(T0) and msg.received_at == 5.0
    assert msg.lang_hint == "zh" and msg.reply_to == "m0"
    assert msg.raw is not None and json.loads(msg.raw) == row
    back = to_generic_json(msg)
    again = feed_one(normalizer(), {**back, "id": "m1-copy"})
    assert isinstance(again, ChatMessage)
    assert (again.text, again.role, again.sent_at, again.stream_id) == (
        msg.text,
        msg.role,
        msg.sent_at,
        msg.stream_id,
    )


def test_douyin_style_relay_mapping() -> None:
    spec = (
        "text=data.content,user=data.user.nickname,user_id=data.user.id,id=data.msg_id,"
        "ts=data.create_time,role=data.user.identity,role.1=host,role.2=moderator,"
        "moderator=data.user.is_admin,when.method=WebcastChatMessage|WebcastEmojiChatMessage"
    )
    n = normalizer(spec)

    def frame(method: str, identity: int, admin: bool = False) -> dict[str, Any]:
        return {
            "method": method,
            "data": {
                "content": "有货吗",
                "msg_id": 7381234567890123456,
                "create_time": 1714564800123,
                "user": {"nickname": "买家", "id": 99, "identity": identity, "is_admin": admin},
            },
        }

    msg = feed_one(n, frame("WebcastChatMessage", 0))
    assert isinstance(msg, ChatMessage)
    assert msg.message_id == "7381234567890123456" and msg.author_id == "99"
    assert msg.sent_at == pytest.approx(1714564800.123) and msg.role is Role.VIEWER
    assert n.health.counters["unknown_role"] == 1  # identity 0 is not in the table
    host = n.feed(json.dumps(frame("WebcastChatMessage", 1) | {"x": 1}), "f")
    assert host == []  # same msg_id: a duplicate
    n2 = normalizer(spec)
    assert feed_one(n2, frame("WebcastChatMessage", 1)).role is Role.HOST  # type: ignore[union-attr]
    n3 = normalizer(spec)
    assert feed_one(n3, frame("WebcastChatMessage", 0, admin=True)).role is Role.MODERATOR  # type: ignore[union-attr]
    assert n3.feed(json.dumps(frame("WebcastGiftMessage", 0)), "f") == []
    assert n3.health.counters["ignored"] == 1


def test_items_path_and_fallback_ids() -> None:
    n = normalizer("items=payload.msgs,text=c,id=")
    events = n.feed(json.dumps({"payload": {"msgs": [{"c": "a"}, {"c": "b"}, 3]}}), "f", "ev9")
    assert [e.message_id for e in events if isinstance(e, ChatMessage)] == ["ev9#0", "ev9#1"]
    assert isinstance(events[2], InputSkipped) and events[2].where == "f message 2"
    # the same event id again: duplicates
    assert [
        e
        for e in n.feed(json.dumps({"payload": {"msgs": [{"c": "a"}]}}), "f", "ev9")
        if isinstance(e, ChatMessage)
    ] == []
    # without ids and without a fallback every message is new (and counted as no_id)
    n2 = normalizer("text=c,id=")
    a = n2.feed('{"c": "same"}', "f")
    b = n2.feed('{"c": "same"}', "f")
    assert isinstance(a[0], ChatMessage) and isinstance(b[0], ChatMessage)
    assert a[0].message_id != b[0].message_id
    assert n2.health.counters["no_id"] == 2


def test_required_fields_and_soft_problems() -> None:
    n = normalizer("require=text+user+ts")
    assert isinstance(feed_one(n, {"id": "1", "text": "x", "ts": 1}), InputSkipped)
    assert isinstance(feed_one(n, {"id": "2", "text": "x", "user": "a"}), InputSkipped)
    skipped = feed_one(n, {"id": "3", "text": "x", "user": "a", "ts": "soon"})
    assert isinstance(skipped, InputSkipped) and "timestamp" in skipped.reason
    loose = normalizer()
    msg = feed_one(loose, {"id": "4", "text": "x", "ts": "soon", "user": {"nested": 1}})
    assert isinstance(msg, ChatMessage) and msg.sent_at == 5.0 and msg.display_name == ""
    assert loose.health.counters["bad_timestamp"] == 1 and loose.health.counters["bad_field"] == 1
    for bad in ({"id": "5", "text": ""}, {"id": "6", "text": None}, {"id": "7", "text": ["a"]}):
        assert isinstance(feed_one(loose, bad), InputSkipped)
    assert feed_one(loose, {"id": "8", "text": 666}).text == "666"  # type: ignore[union-attr]


def test_paid_message_without_text() -> None:
    n = normalizer("amount=gift.value")
    msg = feed_one(n, {"id": "g", "gift": {"value": "10 coins"}})
    assert isinstance(msg, ChatMessage) and msg.kind is MessageKind.PAID and msg.text == ""


def test_frame_level_checks() -> None:
    n = normalizer(max_bytes=50)

    def reason(payload: bytes | str) -> str:
        (event,) = n.feed(payload, "f")
        assert isinstance(event, InputSkipped)
        return event.reason

    assert "oversized" in reason("x" * 51)
    assert "oversized" in reason("价" * 20)  # 20 characters, 60 bytes
    assert "invalid UTF-8" in reason(b"\xc3(")
    assert "not JSON" in reason("{")
    assert "not a JSON object" in reason("null")
    assert dict(n.health.counters) == {
        "frames": 5,
        "oversized": 2,
        "invalid_utf8": 1,
        "malformed": 2,
    }


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_feed_never_raises(payload: bytes | str) -> None:
    n = normalizer()
    for event in n.feed(payload, "f"):
        assert isinstance(event, ChatMessage | InputSkipped)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["text", "user", "id", "ts", "role", "lang", "data", "amount"]),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_maps_or_skips(value: Any) -> None:
    n = normalizer("amount=amount,host=data")
    for event in n.feed_value(value, "f"):
        assert isinstance(event, ChatMessage | InputSkipped)
        if isinstance(event, ChatMessage):
            assert (isinstance(event.text, str) and event.text) or event.amount


# ---------------------------------------------------------------- helpers the connectors share


def test_recent_ids_is_bounded() -> None:
    seen = RecentIds(capacity=3)
    assert all(seen.add(k) for k in "abc")
    assert not seen.add("a")
    assert seen.add("d")  # evicts the least recently seen: b
    assert "b" not in seen and "a" in seen and len(seen) == 3


def test_url_helpers() -> None:
    spec = SourceSpec(
        "wss", "wss://u:pw@h:9/p?k=secretvalue#map=text=t&token=abc", "raw", {"token": "cli"}
    )
    url, options = feed_options(spec)
    assert url == "wss://u:pw@h:9/p?k=secretvalue"
    assert options == {"map": "text=t", "token": "cli"}  # the command line wins
    assert safe_url(url) == "wss://h:9/p"
    assert set(url_secrets(url)) == {"secretvalue", "pw"}


def test_option_helpers() -> None:
    opts = {"a": "1.5", "b": "x", "c": "3", "d": "yes", "e": "maybe"}
    assert option_float(opts, "a", 0.0) == 1.5
    assert option_float(opts, "missing", 2.0) == 2.0
    assert option_int(opts, "c", 0) == 3 and option_bool(opts, "d", False) is True
    with pytest.raises(ConfigError):
        option_float(opts, "b", 0.0)
    with pytest.raises(ConfigError):
        option_int(opts, "a", 0)
    with pytest.raises(ConfigError):
        option_bool(opts, "e", False)


def test_option_edges() -> None:
    opts = {"n": "nan", "neg": "-1", "blank": "", "uid": "42"}
    assert option_int(opts, "blank", None) is None and option_int(opts, "uid", None) == 42
    for name in ("n", "neg"):
        with pytest.raises(ConfigError, match=name):
            option_float(opts, name, 1.0)
    with pytest.raises(ConfigError, match="neg"):
        option_int(opts, "neg", 0)
    assert check_endpoint("wss://relay.example/irc") == "wss://relay.example/irc"
    for bad in ("http://h/", "ws:///no-host"):
        with pytest.raises(ConfigError, match="ws://"):
            check_endpoint(bad)


def test_status_ticker_is_due_every_interval_or_when_forced() -> None:
    now = [100.0]
    ticker = StatusTicker(30.0, clock=lambda: now[0])
    assert not ticker.due()
    now[0] = 129.0
    assert not ticker.due() and ticker.due(force=True)  # forcing restarts the interval
    now[0] = 158.0
    assert not ticker.due()
    now[0] = 159.0
    assert ticker.due() and not ticker.due()
    never = StatusTicker(0.0, clock=lambda: now[0])
    now[0] = 1e9
    assert not never.due() and never.due(force=True)


@pytest.mark.parametrize(
    ("limit", "max_attempts", "final"),
    [("failures", 3, "gave up after 3 tries: x"), ("reconnects", 2, "gave up after 2 attempts: x")],
)
def test_reconnects_give_up_by_their_limit(
    limit: Literal["failures", "reconnects"], max_attempts: int, final: str
) -> None:
    """Both limits give up on the third failure in a row: max_attempts counts failed connections
    for one and reconnect attempts for the other."""
    health = SourceHealth("t:s")
    reconnects = Reconnects(health, no_delay_backoff(max_attempts), limit=limit)
    outcomes = [reconnects.after(Disconnected("x")) for _ in range(3)]
    assert [status.state for status, _ in outcomes] == ["reconnecting", "reconnecting", "failed"]
    assert [status.attempt for status, _ in outcomes] == [1, 2, 0]
    assert [delay is None for _, delay in outcomes] == [False, False, True]
    assert outcomes[-1][0].detail == final
    assert health.counters["reconnects"] == 2


def test_reconnects_final_states_and_minimum_delay() -> None:
    reconnects = Reconnects(SourceHealth("t:s"), no_delay_backoff())
    status, delay = reconnects.after(Disconnected("slow down", min_delay=7.5))
    assert (status.state, status.attempt, delay) == (SourceState.RECONNECTING, 1, 7.5)
    status, delay = reconnects.after(Disconnected("limited", state=SourceState.DEGRADED))
    assert (status.state, status.attempt, delay) == (SourceState.DEGRADED, 2, 0.0)
    for final in (SourceState.ENDED, SourceState.FAILED):
        status, delay = reconnects.after(Disconnected("over", final=final))
        assert (status.state, status.detail, delay) == (final, "over", None)


async def test_reconnects_run_drives_connections_until_one_returns() -> None:
    health = SourceHealth("t:s")
    calls: list[int] = []

    async def connection() -> AsyncGenerator[SourceEvent, None]:
        calls.append(len(calls))
        yield health.live(f"connection {len(calls)}")
        if len(calls) < 3:
            raise Disconnected(f"lost {len(calls)}")

    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    reconnects = Reconnects(health, no_delay_backoff(), sleep)
    events = [e async for e in reconnects.run(connection, connecting="here")]
    assert [(e.state, e.detail) for e in events if isinstance(e, SourceStatus)] == [
        (SourceState.CONNECTING, "here"),
        (SourceState.LIVE, "connection 1"),
        (SourceState.RECONNECTING, "lost 1"),
        (SourceState.LIVE, "connection 2"),
        (SourceState.RECONNECTING, "lost 2"),
        (SourceState.LIVE, "connection 3"),
    ]
    assert len(calls) == 3 and sleeps == [0.0, 0.0]


async def test_receive_within_tells_a_quiet_wait_from_a_read_timeout() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    assert await receive_within(queue.get, 0.01) is None
    queue.put_nowait(5)
    assert await receive_within(queue.get, 0.0) == 5  # 0: no limit

    async def stalled_read() -> int:
        raise TimeoutError  # the transport's own read timeout

    with pytest.raises(TimeoutError):
        await receive_within(stalled_read, 10.0)


DOC_EXAMPLES = [
    (
        "when.method=WebcastChatMessage,text=payload.content,user=payload.user.nickName,"
        "user_id=payload.user.id,id=payload.common.msgId,ts=payload.common.createTime",
        {
            "method": "WebcastChatMessage",
            "payload": {
                "common": {"msgId": "7381234567890123456", "createTime": "1714564800123"},
                "user": {"id": "123456", "nickName": "小王"},
                "content": "多少钱？包邮吗",
            },
        },
        ("7381234567890123456", "小王", "123456", "多少钱？包邮吗", 1714564800.123, Role.VIEWER),
    ),
    (
        "when.type=comment,items=data.commentFeeds,text=content,user=user.userName,"
        "user_id=user.principalId,id=id",
        {
            "type": "comment",
            "data": {
                "commentFeeds": [
                    {
                        "id": "c-88",
                        "user": {"principalId": "3xabc", "userName": "买家A"},
                        "content": "有M码吗",
                    }
                ]
            },
        },
        ("c-88", "买家A", "3xabc", "有M码吗", 5.0, Role.VIEWER),
    ),
    (
        "when.msgType=comment,text=data.content,user=data.publisherNick,"
        "user_id=data.publisherId,id=data.commentId,ts=data.timestamp,host=data.isAnchor",
        {
            "msgType": "comment",
            "data": {
                "commentId": "9921",
                "content": "是正品吗",
                "publisherNick": "t**3",
                "publisherId": "2200",
                "timestamp": 1714564800000,
                "isAnchor": True,
            },
        },
        ("9921", "t**3", "2200", "是正品吗", 1714564800.0, Role.HOST),
    ),
]


@pytest.mark.parametrize(("spec", "frame", "expected"), DOC_EXAMPLES)
def test_documented_relay_mappings(
    spec: str, frame: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    """The Douyin, Kuaishou and Taobao examples in docs/connectors-feeds.md work as written."""
    msg = feed_one(normalizer(spec), frame)
    assert isinstance(msg, ChatMessage)
    got = (msg.message_id, msg.display_name, msg.author_id, msg.text, msg.sent_at, msg.role)
    assert got[:4] == expected[:4] and got[5] is expected[5]
    assert got[4] == pytest.approx(expected[4])
