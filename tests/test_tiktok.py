"""TikTok LIVE through TikTokLive, without the internet.

The library's real client parses real protobuf bytes here: only its network steps (room lookup,
sign server, the push WebSocket) are replaced by a script of ``ProtoMessageFetchResult`` messages
or by the library's own exception classes.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from streamwatch.connectors.base import SourceSpec
from streamwatch.connectors.reconnect import no_delay_backoff
from streamwatch.connectors.tiktok import TikTokSource, classify_error
from streamwatch.errors import ConfigError
from streamwatch.events import Role, SourceState

from .connector_support import RecordingSleep, chats, collect, statuses

try:
    with warnings.catch_warnings():  # TikTokLive imports websockets.legacy, which warns
        warnings.simplefilter("ignore", DeprecationWarning)
        importlib.import_module("TikTokLive.client.client")
    HAVE_LIBRARY = True
except ImportError:
    HAVE_LIBRARY = False
needs_library = pytest.mark.skipif(
    not HAVE_LIBRARY, reason="TikTokLive not installed: pip install 'streamwatch[tiktok]'"
)


def _module(name: str) -> Any:
    """The library is optional and untyped: its modules are Any here (None when absent)."""
    return importlib.import_module(name) if HAVE_LIBRARY else None


tt: Any = _module("TikTokLive.client.errors")
_client: Any = _module("TikTokLive.client.client")
_events: Any = _module("TikTokLive.events")
_proto: Any = _module("TikTokLive.proto")
_custom: Any = _module("TikTokLive.proto.custom_proto")
httpx: Any = _module("httpx")  # a TikTokLive dependency
TikTokLiveClient: Any = _client.TikTokLiveClient if HAVE_LIBRARY else object
CommentEvent: Any = getattr(_events, "CommentEvent", None)
ControlEvent: Any = getattr(_events, "ControlEvent", None)
CommonMessageData: Any = getattr(_proto, "CommonMessageData", None)
UserAttr: Any = getattr(_proto, "UserAttr", None)
UserIdentity: Any = getattr(_proto, "UserIdentity", None)
ProtoMessageFetchResult: Any = getattr(_proto, "ProtoMessageFetchResult", None)
BaseProtoMessage: Any = getattr(_proto, "ProtoMessageFetchResultBaseProtoMessage", None)
ControlAction: Any = getattr(_custom, "ControlAction", None)
ExtendedUser: Any = getattr(_custom, "ExtendedUser", None)

Step = Any  # a ProtoMessageFetchResult, or an exception to raise instead


def comment(
    msg_id: int,
    text: str,
    *,
    user_id: int = 100,
    handle: str = "viewer1",
    nickname: str = "Viewer",
    admin: bool = False,
    anchor: bool = False,
    moderator: bool = False,
    lang: str = "",
) -> Any:
    event = CommentEvent(
        common=CommonMessageData(msg_id=msg_id, create_time=1714564800000 + msg_id, room_id=7),
        content=text,
        user=ExtendedUser(
            id=user_id, nickname=nickname, display_id=handle, user_attr=UserAttr(is_admin=admin)
        ),
        user_identity=UserIdentity(is_anchor=anchor, is_moderator_of_anchor=moderator),
        content_language=lang,
    )
    return BaseProtoMessage(method="WebcastChatMessage", payload=bytes(event))


def control(action: ControlAction) -> Any:
    return BaseProtoMessage(
        method="WebcastControlMessage", payload=bytes(ControlEvent(action=action))
    )


def response(*messages: Any, first: bool = False) -> Step:
    # through bytes and back, as the library receives it
    built = ProtoMessageFetchResult(is_first=first, messages=list(messages))
    return ProtoMessageFetchResult().parse(bytes(built))


class LocalClient(TikTokLiveClient):  # type: ignore[misc]
    """The real client with its network replaced by a script."""

    def __init__(self, user: str, start_error: BaseException | None, script: list[Step]) -> None:
        super().__init__(unique_id=user)
        self.start_error = start_error
        self.script = script

    async def start(self, **kwargs: Any) -> asyncio.Task[None]:
        if self.start_error is not None:
            raise self.start_error
        self._room_id = 7

        async def scripted_connect(**_: Any) -> Any:
            for step in self.script:
                await asyncio.sleep(0)
                if isinstance(step, BaseException):
                    raise step
                yield step

        self._ws.connect = scripted_connect
        self._event_loop_task = asyncio.get_running_loop().create_task(
            self._ws_client_loop(
                initial_webcast_response=ProtoMessageFetchResult(),
                process_connect_events=True,
                compress_ws_events=True,
            )
        )
        task: asyncio.Task[None] = self._event_loop_task
        return task


@dataclass
class Sessions:
    """One entry per client the source creates: (error raised by start, or the script)."""

    plan: list[tuple[BaseException | None, list[Step]]]
    made: list[LocalClient] = field(default_factory=list)
    web_kwargs: list[dict[str, Any]] = field(default_factory=list)

    def factory(self, user: str, web_kwargs: dict[str, Any]) -> LocalClient:
        self.web_kwargs.append(web_kwargs)
        error, script = self.plan[min(len(self.made), len(self.plan) - 1)]
        client = LocalClient(user, error, script)
        self.made.append(client)
        return client


def make_source(
    sessions: Sessions, sleep: RecordingSleep | None = None, retries: int = 5, **options: str
) -> TikTokSource:
    spec = SourceSpec("tiktok", "@shopgirl", "tiktok:@shopgirl", options)
    return TikTokSource(
        spec,
        client_factory=sessions.factory,
        backoff=no_delay_backoff(max_attempts=retries),
        sleep=sleep or RecordingSleep(),
    )


@needs_library
async def test_comments_roles_and_live_end() -> None:
    sessions = Sessions(
        [
            (
                None,
                [
                    response(
                        comment(1, "多少钱? [bold]x[/bold]", lang="zh-Hans"),
                        comment(2, "welcome!", user_id=1, handle="shopgirl", nickname="Shop"),
                        comment(3, "pinned", user_id=2, handle="helper", admin=True),
                        first=True,
                    ),
                    response(
                        comment(4, "anchor flag", user_id=9, handle="alt", anchor=True),
                        comment(5, "mod flag", user_id=3, handle="m", moderator=True),
                        comment(1, "多少钱? [bold]x[/bold]", lang="zh-Hans"),  # repeated
                    ),
                    response(control(ControlAction.STREAM_ENDED)),
                ],
            )
        ]
    )
    source = make_source(sessions)
    events = await collect(source)
    got = chats(events)
    assert [m.message_id for m in got] == ["1", "2", "3", "4", "5"]
    assert got[0].text == "多少钱? [bold]x[/bold]" and got[0].lang_hint == "zh"
    assert got[0].sent_at == pytest.approx(1714564800.001)
    assert got[0].author_id == "100" and got[0].display_name == "Viewer"
    assert [m.role for m in got] == [
        Role.VIEWER,
        Role.HOST,
        Role.MODERATOR,
        Role.HOST,
        Role.MODERATOR,
    ]
    assert [s.state for s in statuses(events)] == [
        SourceState.CONNECTING,
        SourceState.LIVE,
        SourceState.ENDED,
    ]
    assert statuses(events)[-1].detail == "the stream ended"
    assert source.health.counters["duplicates"] == 1
    assert len(sessions.made) == 1


@needs_library
async def test_disconnect_reconnects_and_deduplicates() -> None:
    sessions = Sessions(
        [
            (None, [response(comment(1, "a"), comment(2, "b"), first=True)]),
            (
                None,
                [
                    response(comment(2, "b"), comment(3, "c"), first=True),
                    response(control(ControlAction.STREAM_ENDED)),
                ],
            ),
        ]
    )
    events = await collect(make_source(sessions))
    assert [m.message_id for m in chats(events)] == ["1", "2", "3"]
    assert [s.state for s in statuses(events)] == [
        SourceState.CONNECTING,
        SourceState.LIVE,
        SourceState.RECONNECTING,
        SourceState.LIVE,
        SourceState.ENDED,
    ]
    assert len(sessions.made) == 2


@needs_library
async def test_error_mid_stream_is_retried() -> None:
    sessions = Sessions(
        [
            (None, [response(comment(1, "a"), first=True), httpx.ReadError("reset")]),
            (
                None,
                [
                    response(comment(2, "b"), first=True),
                    response(control(ControlAction.STREAM_ENDED)),
                ],
            ),
        ]
    )
    events = await collect(make_source(sessions))
    assert [m.message_id for m in chats(events)] == ["1", "2"]
    reconnecting = [s for s in statuses(events) if s.state is SourceState.RECONNECTING]
    assert "ReadError" in reconnecting[0].detail


@needs_library
async def test_broken_protobuf_payload_does_not_stop_the_source() -> None:
    garbage = BaseProtoMessage(method="WebcastChatMessage", payload=b"\xff\xff\xff\xff\x0f garbage")
    sessions = Sessions(
        [
            (
                None,
                [
                    response(garbage, comment(2, "ok"), first=True),
                    response(control(ControlAction.STREAM_ENDED)),
                ],
            )
        ]
    )
    events = await collect(make_source(sessions))
    assert [m.message_id for m in chats(events)] == ["2"]
    assert statuses(events)[-1].state is SourceState.ENDED


def rate_limit_error() -> tt.SignatureRateLimitError:
    reply = httpx.Response(429, headers={"RateLimit-Remaining": "30", "RateLimit-Reset": "0"})
    return tt.SignatureRateLimitError(None, "Too many connections, retry in %s s", response=reply)


@needs_library
@pytest.mark.parametrize(
    ("make_error", "state", "words"),
    [
        (lambda: tt.UserOfflineError("offline"), SourceState.FAILED, "not live"),
        (lambda: tt.UserNotFoundError("shopgirl", "nope"), SourceState.FAILED, "not found"),
        (lambda: tt.AgeRestrictedError("18+"), SourceState.FAILED, "age-restricted"),
        (
            lambda: tt.PremiumEndpointError("premium", api_message="pay up"),
            SourceState.FAILED,
            "refused",
        ),
    ],
)
async def test_fatal_library_errors_become_status(
    make_error: Callable[[], BaseException], state: SourceState, words: str
) -> None:
    sessions = Sessions([(make_error(), [])])
    events = await collect(make_source(sessions))
    last = statuses(events)[-1]
    assert last.state is state and words in last.detail
    assert len(sessions.made) == 1  # not retried


@needs_library
@pytest.mark.parametrize(
    ("make_error", "state", "words", "delay"),
    [
        (rate_limit_error, SourceState.DEGRADED, "rate limited", 30.0),
        (lambda: tt.WebcastBlockedError("blocked"), SourceState.DEGRADED, "blocked", 0.0),
        (
            lambda: tt.SignAPIError(tt.SignAPIError.ErrorReason.CONNECT_ERROR, "down"),
            SourceState.RECONNECTING,
            "CONNECT_ERROR",
            0.0,
        ),
        (lambda: httpx.ConnectError("no route"), SourceState.RECONNECTING, "ConnectError", 0.0),
        (lambda: RuntimeError("library bug"), SourceState.RECONNECTING, "RuntimeError", 0.0),
    ],
)
async def test_retryable_library_errors(
    make_error: Callable[[], BaseException], state: SourceState, words: str, delay: float
) -> None:
    sessions = Sessions(
        [
            (make_error(), []),
            (
                None,
                [
                    response(comment(1, "a"), first=True),
                    response(control(ControlAction.STREAM_ENDED)),
                ],
            ),
        ]
    )
    sleep = RecordingSleep()
    events = await collect(make_source(sessions, sleep))
    sts = statuses(events)
    assert sts[1].state is state and words in sts[1].detail and sts[1].attempt == 1
    assert sleep.delays == [delay]
    assert [m.message_id for m in chats(events)] == ["1"]
    assert sts[-1].state is SourceState.ENDED


@needs_library
async def test_gives_up_after_retries() -> None:
    sessions = Sessions([(tt.WebcastBlockedError("blocked"), [])])
    events = await collect(make_source(sessions, retries=3))
    last = statuses(events)[-1]
    assert last.state is SourceState.FAILED and "gave up after 3" in last.detail
    assert len(sessions.made) == 3


@needs_library
async def test_offline_with_wait_live_keeps_checking() -> None:
    sessions = Sessions(
        [
            (tt.UserOfflineError("offline"), []),
            (
                None,
                [
                    response(comment(1, "a"), first=True),
                    response(control(ControlAction.STREAM_ENDED)),
                ],
            ),
        ]
    )
    sleep = RecordingSleep()
    events = await collect(make_source(sessions, sleep, wait_live="true"))
    assert statuses(events)[1].state is SourceState.CONNECTING
    assert sleep.delays == [60.0]
    assert [m.message_id for m in chats(events)] == ["1"]


@needs_library
def test_offline_after_being_live_is_ended() -> None:
    disposition = classify_error(tt.UserOfflineError("x"), user="u", was_live=True, wait_live=False)
    assert disposition.state is SourceState.ENDED and not disposition.retry


@needs_library
def test_options_reach_the_library_and_secrets_stay_hidden() -> None:
    sessions = Sessions([(None, [])])
    source = make_source(
        sessions, endpoint="http://127.0.0.1:9/sign", sign_key="KEY123secret", session_id="SESS456"
    )
    client = source._make_client()
    assert sessions.web_kwargs[0] == {
        "signer_kwargs": {
            "sign_api_base": "http://127.0.0.1:9/sign",
            "sign_api_key": "KEY123secret",
        }
    }
    assert client.web.cookies.get("sessionid") == "SESS456"
    assert "KEY123" not in repr(source) and "SESS456" not in repr(source)


@needs_library
def test_bad_user_name() -> None:
    with pytest.raises(ConfigError):
        TikTokSource(SourceSpec("tiktok", "@bad name!", "x", {}))
    ok = TikTokSource(SourceSpec("tiktok", "https://www.tiktok.com/@shop.girl_1/live", "x", {}))
    assert ok.name == "tiktok:shop.girl_1"


def test_missing_library_is_config_error_with_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "TikTokLive.client.client", None)
    with pytest.raises(ConfigError, match=r"pip install 'streamwatch\[tiktok\]'"):
        TikTokSource(SourceSpec("tiktok", "@shopgirl", "tiktok:@shopgirl", {}))
