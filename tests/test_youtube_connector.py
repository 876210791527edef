"""YouTube Live connector against a local aiohttp server speaking the Data API v3 JSON shapes."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from streamwatch.connectors.base import SourceSpec
from streamwatch.connectors.common import RecentIds
from streamwatch.connectors.health import SourceHealth
from streamwatch.connectors.reconnect import no_delay_backoff
from streamwatch.connectors.youtube import YouTubeSource
from streamwatch.connectors.youtube_protocol import (
    QuotaExhaustedError,
    QuotaMeter,
    YouTubeChatProtocol,
    YouTubeFatalError,
    YouTubeRetryableError,
    parse_chat_page,
    parse_error,
    parse_video_id,
)
from streamwatch.errors import ConfigError
from streamwatch.events import (
    ChatMessage,
    InputSkipped,
    MessageDeleted,
    MessageKind,
    Role,
    SourceState,
)

from .connector_support import RecordingSleep, chats, collect, serve_app, statuses

KEY = "AIzaTESTSECRETKEY0123456789"
VIDEO = "dQw4w9WgXcQ"
CHAT_ID = "Cg0KC2RRdzR3OVdnWGNR"


# ---------------------------------------------------------------- real API JSON shapes


def author(name: str, *, owner: bool = False, moderator: bool = False) -> dict[str, Any]:
    channel = "UC" + name.encode().hex()[:20]
    return {
        "channelId": channel,
        "channelUrl": f"http://www.youtube.com/channel/{channel}",
        "displayName": name,
        "profileImageUrl": "https://yt3.ggpht.com/x/photo.jpg",
        "isVerified": False,
        "isChatOwner": owner,
        "isChatSponsor": False,
        "isChatModerator": moderator,
    }


def published(n: int) -> str:
    return f"2024-05-01T12:{n // 60 % 60:02d}:{n % 60:02d}.250000+00:00"


def text_item(mid: str, text: str, name: str = "Ann", n: int = 0, **roles: bool) -> dict[str, Any]:
    who = author(name, **roles)
    return {
        "kind": "youtube#liveChatMessage",
        "etag": "etag-" + mid,
        "id": mid,
        "snippet": {
            "type": "textMessageEvent",
            "liveChatId": CHAT_ID,
            "authorChannelId": who["channelId"],
            "publishedAt": published(n),
            "hasDisplayContent": True,
            "displayMessage": text,
            "textMessageDetails": {"messageText": text},
        },
        "authorDetails": who,
    }


def superchat_item(mid: str, comment: str | None, amount: str) -> dict[str, Any]:
    who = author("Rich")
    details: dict[str, Any] = {
        "amountMicros": "5000000",
        "currency": "USD",
        "amountDisplayString": amount,
        "tier": 2,
    }
    if comment is not None:
        details["userComment"] = comment
    return {
        "kind": "youtube#liveChatMessage",
        "etag": "e",
        "id": mid,
        "snippet": {
            "type": "superChatEvent",
            "liveChatId": CHAT_ID,
            "authorChannelId": who["channelId"],
            "publishedAt": published(5),
            "hasDisplayContent": True,
            "displayMessage": f"{amount} from Rich: {comment or ''}",
            "superChatDetails": details,
        },
        "authorDetails": who,
    }


def deleted_item(mid: str, target: str) -> dict[str, Any]:
    return {
        "kind": "youtube#liveChatMessage",
        "etag": "e",
        "id": mid,
        "snippet": {
            "type": "messageDeletedEvent",
            "liveChatId": CHAT_ID,
            "authorChannelId": "UCmoderator",
            "publishedAt": published(7),
            "hasDisplayContent": False,
            "messageDeletedDetails": {"deletedMessageId": target},
        },
        "authorDetails": author("Mod", moderator=True),
    }


def banned_item(mid: str, channel: str, *, temporary: bool) -> dict[str, Any]:
    details: dict[str, Any] = {
        "bannedUserDetails": {
            "channelId": channel,
            "channelUrl": f"http://www.youtube.com/channel/{channel}",
            "displayName": "Spammer",
            "profileImageUrl": "https://yt3.ggpht.com/x/photo.jpg",
        },
        "banType": "temporary" if temporary else "permanent",
    }
    if temporary:
        details["banDurationSeconds"] = 300
    return {
        "kind": "youtube#liveChatMessage",
        "etag": "e",
        "id": mid,
        "snippet": {
            "type": "userBannedEvent",
            "liveChatId": CHAT_ID,
            "authorChannelId": "UCmoderator",
            "publishedAt": published(8),
            "hasDisplayContent": False,
            "userBannedDetails": details,
        },
        "authorDetails": author("Mod", moderator=True),
    }


def sponsor_item(mid: str) -> dict[str, Any]:
    who = author("Member")
    return {
        "kind": "youtube#liveChatMessage",
        "etag": "e",
        "id": mid,
        "snippet": {
            "type": "newSponsorEvent",
            "liveChatId": CHAT_ID,
            "authorChannelId": who["channelId"],
            "publishedAt": published(9),
            "hasDisplayContent": True,
            "displayMessage": "Welcome!",
            "newSponsorDetails": {"memberLevelName": "Fan", "isUpgrade": False},
        },
        "authorDetails": who,
    }


def page(
    items: list[dict[str, Any]],
    token: str | None,
    interval_ms: int = 1500,
    offline_at: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "youtube#liveChatMessageListResponse",
        "etag": "etag-page",
        "pollingIntervalMillis": interval_ms,
        "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
        "items": items,
    }
    if token is not None:
        body["nextPageToken"] = token
    if offline_at is not None:
        body["offlineAt"] = offline_at
    return body


def video_body(chat_id: str | None = CHAT_ID, **details: str) -> dict[str, Any]:
    live: dict[str, Any] = {"actualStartTime": "2024-05-01T11:59:00Z", **details}
    if chat_id:
        live["activeLiveChatId"] = chat_id
    return {
        "kind": "youtube#videoListResponse",
        "etag": "e",
        "items": [
            {"kind": "youtube#video", "etag": "e", "id": VIDEO, "liveStreamingDetails": live}
        ],
        "pageInfo": {"totalResults": 1, "resultsPerPage": 1},
    }


def error_body(code: int, reason: str, message: str, domain: str = "youtube.liveChat") -> bytes:
    return json.dumps(
        {
            "error": {
                "code": code,
                "message": message,
                "errors": [{"message": message, "domain": domain, "reason": reason}],
            }
        }
    ).encode()


QUOTA_BODY = error_body(
    403,
    "quotaExceeded",
    "The request cannot be completed because you have exceeded your quota.",
    domain="youtube.quota",
)


# ---------------------------------------------------------------- the fake server

Reply = Callable[[web.Request], Any]


@dataclass
class FakeYouTube:
    """Scripted replies per endpoint; records every request's query."""

    video_replies: list[Any] = field(default_factory=list)
    chat_replies: list[Any] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)

    async def _reply(self, request: web.Request, script: list[Any]) -> web.StreamResponse:
        self.requests.append((request.path, dict(request.query)))
        self.keys.append(request.headers.get("X-Goog-Api-Key"))
        if not script:
            return web.Response(status=500, text="script exhausted")
        reply = script.pop(0)
        if callable(reply):
            result = reply(request)
            if asyncio.iscoroutine(result):
                result = await result
            return result  # type: ignore[no-any-return]
        if isinstance(reply, tuple):
            status, body = reply
            return web.Response(status=status, body=body, content_type="application/json")
        return web.json_response(reply)

    async def videos(self, request: web.Request) -> web.StreamResponse:
        return await self._reply(request, self.video_replies)

    async def messages(self, request: web.Request) -> web.StreamResponse:
        return await self._reply(request, self.chat_replies)

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        """Serve both endpoints on 127.0.0.1:0; yields the API base URL (the ``endpoint``)."""
        app = web.Application()
        app.router.add_get("/youtube/v3/videos", self.videos)
        app.router.add_get("/youtube/v3/liveChat/messages", self.messages)
        async with serve_app(app) as host:
            yield f"http://{host}/youtube/v3"


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeYouTube, str]]:
    server = FakeYouTube()
    async with server.serve() as endpoint:
        yield server, endpoint


def make_source(
    endpoint: str, sleep: RecordingSleep | None = None, **options: str
) -> YouTubeSource:
    opts = {"key": KEY, "endpoint": endpoint, **options}
    spec = SourceSpec("youtube", VIDEO, f"youtube:{VIDEO}", opts)
    return YouTubeSource(spec, backoff=no_delay_backoff(), sleep=sleep or RecordingSleep())


# ---------------------------------------------------------------- end-to-end tests


async def test_full_session_roles_paid_deletions_dedup_and_offline(
    fake: tuple[FakeYouTube, str],
) -> None:
    server, endpoint = fake
    server.video_replies = [video_body()]
    server.chat_replies = [
        page(
            [
                text_item("m1", "how much is shipping?", "Ann", 1),
                text_item("m2", "welcome everyone", "Seller", 2, owner=True),
                text_item("m3", "[bold]no spam[/bold] <s>x</s>", "Mo", 3, moderator=True),
                superchat_item("m4", "is it real leather?", "$5.00"),
            ],
            "tokenA",
            interval_ms=2500,
        ),
        page(
            [
                text_item("m3", "[bold]no spam[/bold] <s>x</s>", "Mo", 3, moderator=True),
                deleted_item("d1", "m1"),
                banned_item("b1", "UCspammer", temporary=True),
                sponsor_item("s1"),
                superchat_item("m5", None, "€2.00"),
            ],
            "tokenB",
            interval_ms=1000,
        ),
        page([text_item("m6", "bye", "Ann", 20)], None, offline_at="2024-05-01T13:00:00Z"),
    ]
    sleep = RecordingSleep()
    source = make_source(endpoint, sleep)
    events = await collect(source)

    msgs = chats(events)
    assert [m.message_id for m in msgs] == ["m1", "m2", "m3", "m4", "m5", "m6"]
    by_id = {m.message_id: m for m in msgs}
    assert by_id["m1"].role is Role.VIEWER and by_id["m1"].text == "how much is shipping?"
    assert by_id["m2"].role is Role.HOST
    assert by_id["m3"].role is Role.MODERATOR
    assert by_id["m3"].text == "[bold]no spam[/bold] <s>x</s>"
    assert by_id["m4"].kind is MessageKind.PAID and by_id["m4"].amount == "$5.00"
    assert by_id["m4"].text == "is it real leather?"
    assert (
        by_id["m5"].kind is MessageKind.PAID
        and by_id["m5"].text == ""
        and by_id["m5"].amount == "€2.00"
    )
    expected_ts = datetime(2024, 5, 1, 12, 0, 1, 250000, tzinfo=UTC).timestamp()
    assert by_id["m1"].sent_at == pytest.approx(expected_ts)
    assert by_id["m1"].author_id == author("Ann")["channelId"]
    assert by_id["m1"].platform == "youtube" and by_id["m1"].stream_id == VIDEO
    assert all(m.raw and json.loads(m.raw)["id"] == m.message_id for m in msgs)

    deletions = [e for e in events if isinstance(e, MessageDeleted)]
    assert deletions[0].message_id == "m1" and deletions[0].author_id is None
    assert deletions[1].author_id == "UCspammer" and deletions[1].message_id is None
    assert "temporary" in deletions[1].reason and "300" in deletions[1].reason

    states = [s.state for s in statuses(events)]
    assert states == [SourceState.CONNECTING, SourceState.LIVE, SourceState.ENDED]
    final = statuses(events)[-1]
    assert final.detail == "the stream went offline"
    counters = dict(final.counters)
    assert counters["duplicates"] == 1 and counters["other_events"] == 1
    assert counters["received"] == 6 and counters["deletions"] == 2

    # the protocol: videos.list once, then pages chained by nextPageToken, with the key
    paths = [p for p, _ in server.requests]
    assert paths == ["/youtube/v3/videos"] + ["/youtube/v3/liveChat/messages"] * 3
    assert server.requests[0][1]["part"] == "liveStreamingDetails"
    assert server.requests[0][1]["id"] == VIDEO
    chat_queries = [q for p, q in server.requests[1:]]
    assert all(q["liveChatId"] == CHAT_ID for q in chat_queries)
    assert all(q["part"] == "id,snippet,authorDetails" for q in chat_queries)
    assert server.keys == [KEY] * 4  # in a header, not in the URL
    assert all("key" not in q for _, q in server.requests)
    assert [q.get("pageToken") for q in chat_queries] == [None, "tokenA", "tokenB"]
    # waits pollingIntervalMillis between polls, none after the end
    assert sleep.delays == [2.5, 1.0]
    # quota: 1 unit for videos.list, 5 per chat page
    assert source.protocol.quota.used == 1 + 3 * 5


async def test_quota_exceeded_403_is_failed_status(fake: tuple[FakeYouTube, str]) -> None:
    server, endpoint = fake
    server.video_replies = [video_body()]
    server.chat_replies = [page([text_item("a", "hi")], "t1"), (403, QUOTA_BODY)]
    source = make_source(endpoint)
    events = await collect(source)
    assert [m.message_id for m in chats(events)] == ["a"]
    last = statuses(events)[-1]
    assert last.state is SourceState.FAILED and "quota exhausted" in last.detail
    assert source.protocol.quota.remaining == 0


async def test_quota_meter_goes_low_then_exhausted_without_extra_calls(
    fake: tuple[FakeYouTube, str],
) -> None:
    server, endpoint = fake
    server.video_replies = [video_body()]
    server.chat_replies = [page([text_item(f"q{i}", "x")], f"t{i}") for i in range(5)]
    source = make_source(endpoint, quota="12")  # 1 + 5 + 5 = 11 -> 1 left, below 10%
    events = await collect(source)
    sts = statuses(events)
    assert [s.state for s in sts] == [
        SourceState.CONNECTING,
        SourceState.LIVE,
        SourceState.DEGRADED,
        SourceState.FAILED,
    ]
    assert "quota low" in sts[2].detail and "1 units left" in sts[2].detail
    assert "quota exhausted" in sts[3].detail
    assert len(server.requests) == 3  # no call was made that the quota could not pay for
    assert [m.message_id for m in chats(events)] == ["q0", "q1"]


async def test_server_errors_retry_and_resume_same_page_without_loss(
    fake: tuple[FakeYouTube, str],
) -> None:
    server, endpoint = fake
    server.video_replies = [(503, b"upstream down"), video_body()]
    server.chat_replies = [
        page([text_item("a", "1"), text_item("b", "2")], "t1"),
        (500, error_body(500, "backendError", "Backend Error", domain="global")),
        (200, b"<html>not json</html>"),
        page([text_item("b", "2"), text_item("c", "3")], "t2"),
        page([text_item("d", "4")], None, offline_at="2024-05-01T13:00:00Z"),
    ]
    source = make_source(endpoint)
    events = await collect(source)
    assert [m.message_id for m in chats(events)] == ["a", "b", "c", "d"]
    sts = statuses(events)
    assert [s.state for s in sts] == [
        SourceState.CONNECTING,
        SourceState.CONNECTING,  # videos.list 503: still looking up the chat
        SourceState.LIVE,
        SourceState.RECONNECTING,
        SourceState.RECONNECTING,
        SourceState.LIVE,
        SourceState.ENDED,
    ]
    assert sts[3].attempt == 1 and sts[4].attempt == 2
    assert "server error" in sts[3].detail and "not JSON" in sts[4].detail
    # the retries asked for the same page again
    tokens = [q.get("pageToken") for p, q in server.requests if p.endswith("messages")]
    assert tokens == [None, "t1", "t1", "t1", "t2"]


async def test_stalled_server_times_out_and_recovers(fake: tuple[FakeYouTube, str]) -> None:
    server, endpoint = fake

    async def stall(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response(page([], "never"))

    server.video_replies = [video_body()]
    server.chat_replies = [
        page([text_item("a", "1")], "t1"),
        stall,
        page([text_item("b", "2")], None, offline_at="2024-05-01T13:00:00Z"),
    ]
    source = make_source(endpoint, timeout="0.3")
    events = await collect(source)
    assert [m.message_id for m in chats(events)] == ["a", "b"]
    reconnecting = [s for s in statuses(events) if s.state is SourceState.RECONNECTING]
    assert len(reconnecting) == 1 and "timed out" in reconnecting[0].detail
    live_again = statuses(events)[-2]
    assert live_again.state is SourceState.LIVE and live_again.gap_seconds >= 0


async def test_body_dropped_mid_response_is_retried(fake: tuple[FakeYouTube, str]) -> None:
    server, endpoint = fake
    full = json.dumps(page([text_item("a", "1"), text_item("b", "2")], "t1")).encode()

    async def drop(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(full)
        await response.prepare(request)
        await response.write(full[: len(full) // 2])
        assert request.transport is not None
        request.transport.close()
        return response

    server.video_replies = [video_body()]
    server.chat_replies = [
        drop,
        page([text_item("a", "1"), text_item("b", "2")], "t1"),
        page([], None, offline_at="2024-05-01T13:00:00Z"),
    ]
    events = await collect(make_source(endpoint))
    assert [m.message_id for m in chats(events)] == ["a", "b"]
    assert SourceState.RECONNECTING in [s.state for s in statuses(events)]


@pytest.mark.parametrize(
    ("status", "reason", "state", "words"),
    [
        (403, "liveChatDisabled", SourceState.FAILED, "disabled"),
        (403, "forbidden", SourceState.FAILED, "forbidden"),
        (403, "liveChatEnded", SourceState.ENDED, "ended"),
        (404, "liveChatNotFound", SourceState.FAILED, "not found"),
        (400, "keyInvalid", SourceState.FAILED, "not valid"),
    ],
)
async def test_api_errors_become_status(
    fake: tuple[FakeYouTube, str], status: int, reason: str, state: SourceState, words: str
) -> None:
    server, endpoint = fake
    server.video_replies = [video_body()]
    server.chat_replies = [(status, error_body(status, reason, f"The request failed: {reason}"))]
    events = await collect(make_source(endpoint))
    last = statuses(events)[-1]
    assert last.state is state
    assert words in last.detail
    assert KEY not in last.detail


async def test_rate_limit_is_degraded_then_recovers(fake: tuple[FakeYouTube, str]) -> None:
    server, endpoint = fake
    server.video_replies = [video_body()]
    server.chat_replies = [
        page([text_item("a", "1")], "t1"),
        (403, error_body(403, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits")),
        page([text_item("b", "2")], None, offline_at="2024-05-01T13:00:00Z"),
    ]
    events = await collect(make_source(endpoint))
    states = [s.state for s in statuses(events)]
    assert states == [
        SourceState.CONNECTING,
        SourceState.LIVE,
        SourceState.DEGRADED,
        SourceState.LIVE,
        SourceState.ENDED,
    ]
    assert "rate limited" in statuses(events)[2].detail
    assert [m.message_id for m in chats(events)] == ["a", "b"]


async def test_ten_thousand_message_burst_no_loss_no_duplicates(
    fake: tuple[FakeYouTube, str],
) -> None:
    server, endpoint = fake
    server.video_replies = [video_body()]
    pages = []
    for p in range(5):
        items = [text_item(f"id{p * 2000 + i}", f"msg {i}", n=i) for i in range(2000)]
        if p > 0:  # each page repeats the previous page's last 50 items
            items = [text_item(f"id{p * 2000 - k}", "again") for k in range(1, 51)] + items
        pages.append(page(items, f"t{p}" if p < 4 else None, interval_ms=0))
    pages[-1]["offlineAt"] = "2024-05-01T13:00:00Z"
    server.chat_replies = pages
    events = await collect(make_source(endpoint))
    ids = [m.message_id for m in chats(events)]
    assert len(ids) == 10_000
    assert ids == [f"id{i}" for i in range(10_000)]
    counters = dict(statuses(events)[-1].counters)
    assert counters["duplicates"] == 200


async def test_upcoming_stream_waits_then_connects(fake: tuple[FakeYouTube, str]) -> None:
    server, endpoint = fake
    upcoming = video_body(chat_id=None)
    del upcoming["items"][0]["liveStreamingDetails"]["actualStartTime"]
    upcoming["items"][0]["liveStreamingDetails"]["scheduledStartTime"] = "2024-05-01T13:00:00Z"
    server.video_replies = [upcoming, video_body()]
    server.chat_replies = [page([text_item("a", "1")], None, offline_at="2024-05-01T14:00:00Z")]
    sleep = RecordingSleep()
    events = await collect(make_source(endpoint, sleep))
    sts = statuses(events)
    assert sts[1].state is SourceState.CONNECTING and "not started" in sts[1].detail
    assert sleep.delays[0] == 60.0
    assert [m.message_id for m in chats(events)] == ["a"]


async def test_video_not_found_and_ended(fake: tuple[FakeYouTube, str]) -> None:
    server, endpoint = fake
    server.video_replies = [{"kind": "youtube#videoListResponse", "items": []}]
    events = await collect(make_source(endpoint))
    assert statuses(events)[-1].state is SourceState.FAILED
    assert "not found" in statuses(events)[-1].detail

    server.video_replies = [video_body(chat_id=None, actualEndTime="2024-05-01T13:00:00Z")]
    events = await collect(make_source(endpoint))
    assert statuses(events)[-1].state is SourceState.ENDED


async def test_restart_does_not_repeat_messages(fake: tuple[FakeYouTube, str]) -> None:
    server, endpoint = fake
    server.video_replies = [video_body()]
    server.chat_replies = [
        page([text_item("a", "1"), text_item("b", "2")], "t1"),
        (403, error_body(403, "forbidden", "Forbidden")),
    ]
    source = make_source(endpoint)
    first = await collect(source)
    assert statuses(first)[-1].state is SourceState.FAILED
    # the server lost our place and sends its backlog again: only new ids come through
    server.chat_replies = [
        page([text_item("a", "1"), text_item("b", "2"), text_item("c", "3")], None, offline_at="x")
    ]
    second = await collect(source)
    assert [m.message_id for m in chats(second)] == ["c"]
    assert len([p for p, _ in server.requests if p.endswith("videos")]) == 1  # chat id kept
    assert server.requests[-1][1]["pageToken"] == "t1"  # resumed from the page it had


async def test_key_never_logged_or_in_status(
    fake: tuple[FakeYouTube, str], caplog: pytest.LogCaptureFixture
) -> None:
    server, endpoint = fake
    server.video_replies = [video_body()]
    server.chat_replies = [
        (500, error_body(500, "backendError", f"echo {KEY}", domain="global")),
        (400, error_body(400, "badRequest", f"API key not valid: {KEY}", domain="global")),
    ]
    caplog.set_level(logging.DEBUG)
    source = make_source(endpoint)
    events = await collect(source)
    assert statuses(events)[-1].state is SourceState.FAILED
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("streamwatch")]
    assert any("GET http://127.0.0.1" in line for line in ours)  # requests were logged...
    assert not any(KEY in line for line in ours)  # ...without the key
    assert not any(
        KEY in r.getMessage() for r in caplog.records
    )  # nor did the server see it in URLs
    assert all(KEY not in s.detail for s in statuses(events))
    assert KEY not in repr(source)


async def test_retries_option_gives_up(fake: tuple[FakeYouTube, str]) -> None:
    server, endpoint = fake
    server.video_replies = [(503, b"")] * 5
    source = make_source(endpoint)
    source.backoff = no_delay_backoff(max_attempts=3)
    events = await collect(source)
    last = statuses(events)[-1]
    assert last.state is SourceState.FAILED and "gave up after 3" in last.detail
    assert len(server.requests) == 3


# ---------------------------------------------------------------- sans-I/O units


def test_missing_key_is_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STREAMWATCH_YOUTUBE_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="API key"):
        YouTubeSource(SourceSpec("youtube", VIDEO, f"youtube:{VIDEO}", {}))
    monkeypatch.setenv("STREAMWATCH_YOUTUBE_API_KEY", KEY)
    assert (
        YouTubeSource(SourceSpec("youtube", VIDEO, f"youtube:{VIDEO}", {})).name
        == f"youtube:{VIDEO}"
    )


@pytest.mark.parametrize(
    ("target", "options"),
    [
        (VIDEO, {}),
        ("https://www.youtube.com/watch", {"v": VIDEO}),
        (f"https://youtu.be/{VIDEO}", {}),
        (f"https://www.youtube.com/live/{VIDEO}", {}),
        (f"youtube.com/live/{VIDEO}", {}),
    ],
)
def test_video_id_forms(target: str, options: dict[str, str]) -> None:
    assert parse_video_id(target, options) == VIDEO


def test_bad_video_id() -> None:
    with pytest.raises(ConfigError):
        parse_video_id("https://www.youtube.com/watch", {})
    with pytest.raises(ConfigError):
        parse_video_id("bad id;rm", {})


def test_parse_error_shapes() -> None:
    assert parse_error(403, QUOTA_BODY).reason == "quotaExceeded"
    junk = parse_error(502, b"<html>Bad Gateway</html>")
    assert junk.status == 502 and junk.reason == ""


def test_quota_meter_resets_at_pacific_midnight() -> None:
    now = [datetime(2024, 5, 1, 6, 59, tzinfo=UTC).timestamp()]  # 23:59 PDT on Apr 30
    meter = QuotaMeter(daily_limit=100, used=95, clock=lambda: now[0])
    assert meter.low and not meter.can_afford(6)
    now[0] += 120  # 00:01 PDT on May 1
    assert meter.remaining == 100 and not meter.low


def test_protocol_refuses_call_it_cannot_pay_for() -> None:
    health = SourceHealth("youtube:x")
    proto = YouTubeChatProtocol(
        "x", health=health, quota=QuotaMeter(daily_limit=5), live_chat_id="c"
    )
    proto.next_request()
    proto.receive(200, json.dumps(page([], "t")).encode())
    with pytest.raises(QuotaExhaustedError):
        proto.next_request()


def test_protocol_error_classes() -> None:
    proto = YouTubeChatProtocol("x", health=SourceHealth("youtube:x"), live_chat_id="c")
    proto.next_request()
    with pytest.raises(YouTubeRetryableError):
        proto.receive(503, b"")
    proto.next_request()
    with pytest.raises(YouTubeFatalError):
        proto.receive(403, error_body(403, "liveChatDisabled", "disabled"))
    proto.next_request()
    assert proto.receive(403, error_body(403, "liveChatEnded", "ended")).ended == "live chat ended"


def test_malformed_items_are_counted_skips() -> None:
    health = SourceHealth("youtube:x")
    body = json.dumps(
        page(
            [
                {"kind": "youtube#liveChatMessage"},  # no id
                {"id": "n1"},  # no snippet
                {"id": "n2", "snippet": {"type": "messageDeletedEvent", "publishedAt": "bad"}},
                text_item("ok", "fine"),
                {
                    "id": "chat-end",
                    "snippet": {"type": "chatEndedEvent", "publishedAt": published(1)},
                },
            ],
            None,
        )
    ).encode()
    result = parse_chat_page(body, video_id="x", health=health, seen=RecentIds(), received_at=1.0)
    skipped = [e for e in result.events if isinstance(e, InputSkipped)]
    assert len(skipped) == 3
    assert [e.message_id for e in result.events if isinstance(e, ChatMessage)] == ["ok"]
    assert result.chat_ended
    assert health.counters["malformed"] == 3 and health.counters["bad_timestamp"] == 1
