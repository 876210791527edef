"""YouTube Live chat over the Data API v3, without I/O: requests out, responses in, events out.

The flow (https://developers.google.com/youtube/v3/live/docs/liveChatMessages/list)::

    videos.list?part=liveStreamingDetails&id=VIDEO        -> liveStreamingDetails.activeLiveChatId
    liveChat/messages?liveChatId=..&part=id,snippet,authorDetails[&pageToken=..]
                                                          -> items, nextPageToken,
                                                             pollingIntervalMillis, offlineAt

:class:`YouTubeChatProtocol` hands out the next :class:`ApiRequest` (charging the
:class:`QuotaMeter`) and turns each HTTP status + body into a :class:`PollStep` (events, how long
to wait, whether the chat ended) or raises:

* :class:`YouTubeRetryableError` (a :class:`~streamwatch.errors.RetryableError`): 5xx, 429,
  ``rateLimitExceeded`` (``rate_limited`` is set), a body that is not the API's JSON, a stream
  that has not started yet;
* :class:`YouTubeFatalError` (a :class:`~streamwatch.errors.FatalConnectorError`): bad key,
  ``forbidden``, ``liveChatDisabled``, unknown video, other 4xx;
  :class:`QuotaExhaustedError` for ``quotaExceeded`` or when the meter reaches 0.

A ``liveChatEnded`` error, ``offlineAt`` or a ``chatEndedEvent`` end the chat normally
(``PollStep.ended``). Message types: ``textMessageEvent`` and ``superChatEvent`` /
``superStickerEvent`` (paid, with ``amountDisplayString``) become
:class:`~streamwatch.events.ChatMessage`; ``messageDeletedEvent`` and ``userBannedEvent`` become
:class:`~streamwatch.events.MessageDeleted`; other types are counted (``other_events``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from streamwatch.connectors.common import RecentIds
from streamwatch.connectors.fieldmap import parse_timestamp
from streamwatch.connectors.health import SourceHealth
from streamwatch.errors import ConfigError, FatalConnectorError, RetryableError
from streamwatch.events import (
    ChatMessage,
    InputSkipped,
    MessageDeleted,
    MessageKind,
    Role,
    SourceEvent,
)

DEFAULT_ENDPOINT: Final = "https://www.googleapis.com/youtube/v3"
PLATFORM: Final = "youtube"
LIST_COST: Final = 5
"""Quota units one liveChatMessages.list call costs."""
VIDEOS_COST: Final = 1
"""Quota units one videos.list call costs."""
DEFAULT_DAILY_QUOTA: Final = 10_000
LOW_QUOTA_FRACTION: Final = 0.10
DEFAULT_POLL_SECONDS: Final = 5.0
"""Wait when a page carries no pollingIntervalMillis."""
MAX_POLL_SECONDS: Final = 300.0
UPCOMING_RETRY_SECONDS: Final = 60.0
"""How often to look again at a stream that is scheduled but not live yet (1 unit each)."""
MAX_RESULTS: Final = 2000

_FATAL_REASONS: Final = {
    "forbidden": "access to the live chat is forbidden",
    "liveChatDisabled": "live chat is disabled for this stream",
    "liveChatNotFound": "live chat not found",
    "videoNotFound": "video not found",
    "keyInvalid": "the API key is not valid",
    "keyExpired": "the API key has expired",
    "accessNotConfigured": "YouTube Data API v3 is not enabled for this API key's project",
    "ipRefererBlocked": "the API key does not allow requests from here",
    "unauthorized": "the request is not authorized",
    "authError": "the request is not authorized",
}
_QUOTA_REASONS: Final = frozenset({"quotaExceeded", "dailyLimitExceeded"})
_RATE_REASONS: Final = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_ENDED_REASONS: Final = frozenset({"liveChatEnded"})


class YouTubeRetryableError(RetryableError):
    """A transient API failure; ``retry_after`` (seconds) overrides the backoff when set."""

    def __init__(
        self, message: str, *, rate_limited: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.rate_limited = rate_limited
        self.retry_after = retry_after


class YouTubeFatalError(FatalConnectorError):
    """An API failure that retrying cannot fix."""


class QuotaExhaustedError(YouTubeFatalError):
    """The daily quota is spent: no more calls until midnight Pacific time."""


@dataclass(frozen=True, slots=True)
class ApiError:
    """The parts of a Google API error body that decide what to do."""

    status: int
    reason: str
    message: str


def parse_error(status: int, body: bytes) -> ApiError:
    """Read ``{"error": {"code", "message", "errors": [{"reason", ...}]}}``; tolerant of junk."""
    reason, message = "", ""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        error = data["error"]
        message = str(error.get("message") or "")[:300]
        details = error.get("errors")
        if isinstance(details, list) and details and isinstance(details[0], dict):
            reason = str(details[0].get("reason") or "")
        if not reason and isinstance(error.get("status"), str):
            reason = error["status"]
    return ApiError(status=status, reason=reason, message=message)


def raise_for_error(error: ApiError) -> str:
    """Raise the right exception for an API error; returns the ended-detail for ended chats."""
    detail = f"HTTP {error.status}" + (f" {error.reason}" if error.reason else "")
    if error.reason in _ENDED_REASONS:
        return "live chat ended"
    if error.reason in _QUOTA_REASONS:
        raise QuotaExhaustedError(f"quota exhausted ({detail})")
    if error.reason in _RATE_REASONS or error.status == 429:
        raise YouTubeRetryableError(f"rate limited ({detail})", rate_limited=True)
    if error.status >= 500 or error.status in (408,):
        raise YouTubeRetryableError(f"server error ({detail})")
    if error.reason in _FATAL_REASONS:
        raise YouTubeFatalError(f"{_FATAL_REASONS[error.reason]} ({detail})")
    if error.status == 400 and "API key" in error.message:
        raise YouTubeFatalError(f"the API key is not valid ({detail})")
    if error.status == 404:
        raise YouTubeFatalError(f"not found ({detail})")
    raise YouTubeFatalError(f"request refused ({detail}: {error.message[:120]})")


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One GET: ``path`` under the endpoint, query ``params``, quota ``cost`` in units."""

    path: str
    params: tuple[tuple[str, str], ...]
    cost: int

    def url(self, endpoint: str) -> str:
        """The URL to fetch. The API key goes in the ``X-Goog-Api-Key`` header (:data:`KEY_HEADER`),
        never in the URL, so proxies' access logs do not record it."""
        return f"{endpoint.rstrip('/')}/{self.path}?{urlencode(self.params)}"


KEY_HEADER: Final = "X-Goog-Api-Key"


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` (and its URL-encoded form) masked."""
    if not secret:
        return text
    from urllib.parse import quote

    return text.replace(secret, "REDACTED").replace(quote(secret, safe=""), "REDACTED")


_PACIFIC_FALLBACK = timezone(timedelta(hours=-8), "PST")


def _pacific_date(epoch: float) -> date:
    """The calendar day in Pacific time, when YouTube's daily quota resets."""
    try:
        from zoneinfo import ZoneInfo

        zone: Any = ZoneInfo("America/Los_Angeles")
    except (ImportError, KeyError, ValueError):  # no tz database: standard time is close enough
        zone = _PACIFIC_FALLBACK
    return datetime.fromtimestamp(epoch, zone).date()


@dataclass
class QuotaMeter:
    """Units spent today against the daily limit; resets at midnight Pacific time."""

    daily_limit: int = DEFAULT_DAILY_QUOTA
    used: int = 0
    clock: Callable[[], float] = time.time
    _day: date | None = None

    def __post_init__(self) -> None:
        if self.daily_limit <= 0:
            raise ConfigError("the YouTube quota must be a positive number of units")
        self._day = _pacific_date(self.clock())

    def _roll(self) -> None:
        today = _pacific_date(self.clock())
        if today != self._day:
            self._day = today
            self.used = 0

    @property
    def remaining(self) -> int:
        self._roll()
        return max(0, self.daily_limit - self.used)

    def can_afford(self, cost: int) -> bool:
        return self.remaining >= cost

    def spend(self, cost: int) -> None:
        self._roll()
        self.used += cost

    def exhaust(self) -> None:
        """The API said the quota is exceeded: trust it over our count."""
        self._roll()
        self.used = max(self.used, self.daily_limit)

    @property
    def low(self) -> bool:
        """Below 10% of the daily limit left."""
        return self.remaining < self.daily_limit * LOW_QUOTA_FRACTION


@dataclass(frozen=True, slots=True)
class LiveChatInfo:
    """What ``videos.list`` says about a video's chat."""

    live_chat_id: str | None
    ended: bool = False
    upcoming: bool = False


def parse_video(body: bytes, video_id: str) -> LiveChatInfo:
    """Find ``activeLiveChatId`` in a ``videos.list`` response; raises for unusable videos."""
    data = _load_json(body, "videos.list")
    items = data.get("items")
    if not isinstance(items, list):
        raise YouTubeRetryableError("videos.list response has no items list")
    if not items:
        raise YouTubeFatalError(f"video {video_id!r} not found (check the id)")
    item = items[0]
    details = item.get("liveStreamingDetails") if isinstance(item, dict) else None
    if not isinstance(details, dict):
        raise YouTubeFatalError(f"video {video_id!r} is not a live stream")
    chat_id = details.get("activeLiveChatId")
    if isinstance(chat_id, str) and chat_id:
        return LiveChatInfo(live_chat_id=chat_id)
    if details.get("actualEndTime"):
        return LiveChatInfo(live_chat_id=None, ended=True)
    if details.get("actualStartTime"):
        raise YouTubeFatalError(
            f"video {video_id!r} is live but has no active chat (disabled or members-only)"
        )
    return LiveChatInfo(live_chat_id=None, upcoming=True)


def _load_json(body: bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise YouTubeRetryableError(f"{what} response is not JSON") from exc
    if not isinstance(data, dict):
        raise YouTubeRetryableError(f"{what} response is not a JSON object")
    return data


@dataclass
class ChatPage:
    """One ``liveChatMessages.list`` page, normalized."""

    events: list[SourceEvent] = field(default_factory=list)
    next_page_token: str | None = None
    polling_interval: float = DEFAULT_POLL_SECONDS
    offline_at: float | None = None
    chat_ended: bool = False


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_chat_page(
    body: bytes,
    *,
    video_id: str,
    health: SourceHealth,
    seen: RecentIds,
    received_at: float,
    keep_raw: bool = True,
) -> ChatPage:
    """Normalize a ``liveChatMessages.list`` response; duplicates (by item id) are dropped."""
    data = _load_json(body, "liveChatMessages.list")
    items = data.get("items")
    if not isinstance(items, list):
        raise YouTubeRetryableError("liveChatMessages.list response has no items list")
    page = ChatPage()
    token = data.get("nextPageToken")
    page.next_page_token = token if isinstance(token, str) and token else None
    interval = data.get("pollingIntervalMillis")
    if isinstance(interval, int | float) and not isinstance(interval, bool) and interval >= 0:
        page.polling_interval = min(MAX_POLL_SECONDS, float(interval) / 1000.0)
    offline = data.get("offlineAt")
    if offline:
        try:
            page.offline_at = parse_timestamp(offline)
        except ValueError:
            page.offline_at = received_at
    for index, item in enumerate(items):
        event = _parse_item(item, index, video_id, health, received_at, keep_raw, page)
        if event is None:
            continue
        if isinstance(event, InputSkipped):
            page.events.append(event)
            continue
        assert isinstance(item, dict)  # _parse_item only skips non-objects
        if not seen.add(item["id"]):
            health.count("duplicates")
            continue
        if isinstance(event, ChatMessage):
            health.count("received")
        elif isinstance(event, MessageDeleted):
            health.count("deletions")
        page.events.append(event)
    return page


def _parse_item(
    item: object,
    index: int,
    video_id: str,
    health: SourceHealth,
    received_at: float,
    keep_raw: bool,
    page: ChatPage,
) -> SourceEvent | None:
    source = f"{PLATFORM}:{video_id}"
    where = f"item {index}"
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
        health.count("malformed")
        return InputSkipped(source, where, "chat item without an id", received_at)
    snippet = item.get("snippet")
    if not isinstance(snippet, dict):
        health.count("malformed")
        return InputSkipped(source, where, "chat item without a snippet", received_at)
    etype = _text(snippet.get("type"))
    try:
        sent_at = parse_timestamp(snippet.get("publishedAt"))
    except ValueError:
        health.count("bad_timestamp")
        sent_at = received_at
    if etype == "messageDeletedEvent":
        deleted = _text(_mapping(snippet.get("messageDeletedDetails")).get("deletedMessageId"))
        if not deleted:
            health.count("malformed")
            return InputSkipped(source, where, "messageDeletedEvent without an id", received_at)
        return MessageDeleted(
            PLATFORM, video_id, sent_at, message_id=deleted, reason="deleted by a moderator"
        )
    if etype == "userBannedEvent":
        details = _mapping(snippet.get("userBannedDetails"))
        user = _mapping(details.get("bannedUserDetails"))
        channel = _text(user.get("channelId"))
        if not channel:
            health.count("malformed")
            return InputSkipped(source, where, "userBannedEvent without a channel", received_at)
        ban = _text(details.get("banType")) or "permanent"
        seconds = details.get("banDurationSeconds")
        reason = (
            f"banned ({ban}, {seconds} s)" if ban == "temporary" and seconds else f"banned ({ban})"
        )
        return MessageDeleted(PLATFORM, video_id, sent_at, author_id=channel, reason=reason)
    if etype == "chatEndedEvent":
        page.chat_ended = True
        return None
    amount: str | None = None
    kind = MessageKind.TEXT
    if etype == "textMessageEvent":
        text = _text(_mapping(snippet.get("textMessageDetails")).get("messageText"))
        text = text or _text(snippet.get("displayMessage"))
    elif etype == "superChatEvent":
        details = _mapping(snippet.get("superChatDetails"))
        text = _text(details.get("userComment"))
        amount = _text(details.get("amountDisplayString")) or None
        kind = MessageKind.PAID
    elif etype == "superStickerEvent":
        details = _mapping(snippet.get("superStickerDetails"))
        text = _text(_mapping(details.get("superStickerMetadata")).get("altText"))
        amount = _text(details.get("amountDisplayString")) or None
        kind = MessageKind.PAID
    else:
        health.count("other_events")
        return None
    author = _mapping(item.get("authorDetails"))
    if author.get("isChatOwner") is True:
        role = Role.HOST
    elif author.get("isChatModerator") is True:
        role = Role.MODERATOR
    else:
        role = Role.VIEWER
    return ChatMessage(
        platform=PLATFORM,
        stream_id=video_id,
        message_id=item["id"],
        author_id=_text(author.get("channelId")) or _text(snippet.get("authorChannelId")),
        display_name=_text(author.get("displayName")),
        role=role,
        text=text,
        sent_at=sent_at,
        received_at=received_at,
        kind=kind,
        amount=amount,
        raw=json.dumps(item, ensure_ascii=False, separators=(",", ":")) if keep_raw else None,
    )


@dataclass(frozen=True, slots=True)
class PollStep:
    """What one successful response means: events to emit, seconds to wait, or the end."""

    events: list[SourceEvent]
    delay: float
    ended: str | None = None


class YouTubeChatProtocol:
    """The polling state machine; the I/O wrapper fetches :meth:`next_request` and feeds back.

    Its state (live chat id, page token, seen ids) outlives a failed request, so a retry resumes
    from the same page and a restarted source does not repeat messages.
    """

    def __init__(
        self,
        video_id: str,
        *,
        health: SourceHealth,
        quota: QuotaMeter | None = None,
        seen: RecentIds | None = None,
        live_chat_id: str | None = None,
        min_interval: float = 0.0,
        max_results: int = MAX_RESULTS,
        keep_raw: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.video_id = video_id
        self.health = health
        self.quota = quota if quota is not None else QuotaMeter(clock=clock)
        self.seen = seen if seen is not None else RecentIds()
        self.live_chat_id = live_chat_id
        self.page_token: str | None = None
        self.min_interval = min_interval
        self.max_results = max_results
        self.keep_raw = keep_raw
        self.clock = clock
        self.pages = 0
        self._pending: ApiRequest | None = None

    def next_request(self) -> ApiRequest:
        """The request to send now; charges the quota. Raises :class:`QuotaExhaustedError`."""
        if self.live_chat_id is None:
            request = ApiRequest(
                "videos", (("part", "liveStreamingDetails"), ("id", self.video_id)), VIDEOS_COST
            )
        else:
            params = [
                ("liveChatId", self.live_chat_id),
                ("part", "id,snippet,authorDetails"),
                ("maxResults", str(self.max_results)),
            ]
            if self.page_token:
                params.append(("pageToken", self.page_token))
            request = ApiRequest("liveChat/messages", tuple(params), LIST_COST)
        if not self.quota.can_afford(request.cost):
            raise QuotaExhaustedError(
                f"quota exhausted ({self.quota.used} of {self.quota.daily_limit} units used today;"
                " it resets at midnight Pacific time)"
            )
        self.quota.spend(request.cost)
        self._pending = request
        return request

    def receive(self, status: int, body: bytes) -> PollStep:
        """Digest the response to the last request; raises the errors listed in the module doc."""
        request, self._pending = self._pending, None
        if request is None:
            raise RuntimeError("receive() without a request")
        if status != 200:
            error = parse_error(status, body)
            if error.reason in _QUOTA_REASONS:
                self.quota.exhaust()
            return PollStep([], 0.0, ended=raise_for_error(error))
        if request.path == "videos":
            info = parse_video(body, self.video_id)
            if info.ended:
                return PollStep([], 0.0, ended="the stream has ended")
            if info.upcoming:
                raise YouTubeRetryableError(
                    "the stream has not started yet", retry_after=UPCOMING_RETRY_SECONDS
                )
            self.live_chat_id = info.live_chat_id
            return PollStep([], 0.0)
        page = parse_chat_page(
            body,
            video_id=self.video_id,
            health=self.health,
            seen=self.seen,
            received_at=self.clock(),
            keep_raw=self.keep_raw,
        )
        self.pages += 1
        if page.next_page_token:
            self.page_token = page.next_page_token
        ended: str | None = None
        if page.chat_ended:
            ended = "live chat ended"
        elif page.offline_at is not None:
            ended = "the stream went offline"
        delay = max(self.min_interval, page.polling_interval)
        return PollStep(page.events, delay, ended=ended)


def parse_video_id(target: str, options: Mapping[str, str]) -> str:
    """A video id from ``VIDEO_ID``, ``https://www.youtube.com/watch?v=ID``, ``youtu.be/ID``,
    ``youtube.com/live/ID``; the registry leaves ``v`` of a watch URL in ``options``."""
    text = target.strip()
    if "/" not in text:
        video_id = text
    else:
        parts = urlsplit(text if "://" in text else "https://" + text)
        segments = [s for s in parts.path.split("/") if s]
        if parts.netloc.endswith("youtu.be") and segments:
            video_id = segments[0]
        elif len(segments) >= 2 and segments[0] in ("live", "shorts", "embed", "v"):
            video_id = segments[1]
        else:
            video_id = options.get("v", "")
    video_id = video_id.strip()
    if not video_id or not all(c.isalnum() or c in "-_" for c in video_id):
        raise ConfigError(f"cannot find a YouTube video id in {target!r}")
    return video_id
