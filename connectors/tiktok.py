"""TikTok LIVE chat (``tiktok:@USER``) through the TikTokLive library, an optional extra.

``pip install 'streamwatch[tiktok]'`` installs TikTokLive (https://github.com/isaackogan/TikTokLive).
TikTok has no public chat API: TikTokLive signs its requests through a third-party sign server
(Euler Stream by default), which rate-limits anonymous use. Everything the library raises becomes
a :class:`~streamwatch.events.SourceStatus`, never a crash:

=================================  ==========  ===================================================
library error                      state       what happens
=================================  ==========  ===================================================
UserOfflineError                   failed      before going live (``wait_live=true``: retried
                                               every minute); ``ended`` after being live
UserNotFoundError                  failed      no such user, or the account cannot go live
AgeRestrictedError                 failed      needs a logged-in ``session_id``
SignatureRateLimitError            degraded    "rate limited"; retried after ``retry_after``
PremiumEndpointError,              failed      the sign server refuses this use
AuthenticatedWebSocketConn...
other SignAPIError                 reconnect   sign server trouble; retried with backoff
WebcastBlockedError, Initial-      degraded    "blocked by TikTok"; retried with backoff
CursorMissing, WebsocketURLMissing
network errors, anything else      reconnect   retried with backoff; ``failed`` after ``retries``
=================================  ==========  ===================================================

Events: ``CommentEvent`` -> :class:`~streamwatch.events.ChatMessage` (``user_identity.is_anchor``
or the streamer's own handle -> ``host``; ``is_moderator_of_anchor``, the admin attribute or
badge -> ``moderator``), ``ConnectEvent`` -> live,
``LivePauseEvent`` -> degraded, ``LiveUnpauseEvent`` -> live, ``LiveEndEvent`` -> ended,
``DisconnectEvent`` -> reconnect. Comments are de-duplicated by ``msg_id`` across reconnects.

Options: ``endpoint`` (sign server base URL), ``sign_key`` (sign server API key; default the
``STREAMWATCH_TIKTOK_SIGN_KEY`` environment variable), ``session_id`` (a logged-in TikTok
session for age-restricted streams; never logged), ``room_id`` (skip the room lookup),
``wait_live``, ``retries`` (consecutive failures before giving up, default 10),
``status_interval`` (seconds between periodic status events, default 30; 0: only on change).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
import os
import time
import warnings
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Final

from streamwatch.connectors.base import SourceSpec
from streamwatch.connectors.common import (
    RecentIds,
    StatusTicker,
    option_bool,
    option_float,
    option_int,
)
from streamwatch.connectors.fieldmap import parse_timestamp
from streamwatch.connectors.health import SourceHealth
from streamwatch.connectors.reconnect import Backoff, Disconnected, Reconnects, Sleep, retry_backoff
from streamwatch.errors import ConfigError
from streamwatch.events import ChatMessage, Role, SourceEvent, SourceState, SourceStatus

log = logging.getLogger(__name__)

PLATFORM: Final = "tiktok"
SIGN_KEY_ENV: Final = "STREAMWATCH_TIKTOK_SIGN_KEY"
INSTALL_HINT: Final = "pip install 'streamwatch[tiktok]'"
OFFLINE_RETRY_SECONDS: Final = 60.0
DEFAULT_RETRIES: Final = 10

ClientFactory = Callable[[str, dict[str, Any]], Any]
"""Builds a TikTokLive client from the user name and web kwargs (tests inject a local one)."""


def _library(module: str) -> Any:
    """A TikTokLive module, imported at run time: the library is optional and untyped."""
    with warnings.catch_warnings():  # it imports websockets.legacy, which warns on import
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module(f"TikTokLive.{module}")


def require_tiktoklive() -> None:
    """Raise :class:`ConfigError` with the install hint when TikTokLive is missing."""
    try:
        for module in ("client.client", "client.errors", "events"):
            _library(module)
    except ImportError as exc:
        raise ConfigError(
            f"tiktok: sources need the optional TikTokLive library: {INSTALL_HINT}"
        ) from exc


@dataclass(frozen=True, slots=True)
class Disposition:
    """What to do about an error: the state to show, why, and whether and when to retry."""

    state: SourceState
    detail: str
    retry: bool
    delay: float | None = None


def _errors(tt: Any, *names: str) -> tuple[type[BaseException], ...]:
    """The library's error classes by name; names a version lacks are left out."""
    found = (getattr(tt, name, None) for name in names)
    return tuple(c for c in found if isinstance(c, type) and issubclass(c, BaseException))


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(getattr(reason, "name", reason or type(exc).__name__))


def classify_error(
    exc: BaseException, *, user: str, was_live: bool, wait_live: bool
) -> Disposition:
    """Map a TikTokLive (or network) exception to a status; see the module docstring's table."""
    tt = _library("client.errors")
    name = type(exc).__name__
    if isinstance(exc, _errors(tt, "UserOfflineError")):
        if was_live:
            return Disposition(SourceState.ENDED, f"@{user} went offline", retry=False)
        if wait_live:
            detail = f"@{user} is not live; checking again in {OFFLINE_RETRY_SECONDS:g} s"
            return Disposition(SourceState.CONNECTING, detail, True, OFFLINE_RETRY_SECONDS)
        return Disposition(SourceState.FAILED, f"@{user} is not live now", retry=False)
    if isinstance(exc, _errors(tt, "UserNotFoundError")):
        detail = f"@{user} not found, or the account cannot go live"
        return Disposition(SourceState.FAILED, detail, retry=False)
    if isinstance(exc, _errors(tt, "AgeRestrictedError")):
        detail = "age-restricted stream: needs a logged-in session (session_id option)"
        return Disposition(SourceState.FAILED, detail, retry=False)
    if isinstance(exc, _errors(tt, "SignatureRateLimitError")):
        delay: float | None = None
        try:  # a cached property that reads a response header; may be missing or malformed
            retry_after = getattr(exc, "retry_after", None)
        except (TypeError, ValueError, AttributeError, AssertionError):
            retry_after = None
        if isinstance(retry_after, int | float) and 0 <= retry_after <= 3600:
            delay = float(retry_after)
        return Disposition(SourceState.DEGRADED, "rate limited by the sign server", True, delay)
    if isinstance(
        exc, _errors(tt, "PremiumEndpointError", "AuthenticatedWebSocketConnectionError")
    ):
        detail = f"the sign server refused this request ({_reason(exc)})"
        return Disposition(SourceState.FAILED, detail, retry=False)
    if isinstance(exc, _errors(tt, "SignAPIError")):
        detail = f"sign server error ({_reason(exc)})"
        return Disposition(SourceState.RECONNECTING, detail, retry=True)
    blocked = _errors(
        tt,
        "WebcastBlockedError",
        "WebcastBlocked200Error",
        "InitialCursorMissingError",
        "WebsocketURLMissingError",
    )
    if isinstance(exc, blocked):
        return Disposition(SourceState.DEGRADED, f"blocked by TikTok ({name})", retry=True)
    if isinstance(exc, _errors(tt, "AlreadyConnectedError")):
        return Disposition(SourceState.FAILED, "client already connected (internal error)", False)
    return Disposition(SourceState.RECONNECTING, f"connection error ({name})", retry=True)


def _lang(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    code = value.replace("_", "-").split("-")[0].lower()
    return code if len(code) == 2 and code.isalpha() else None


def normalize_comment(
    event: Any, *, stream_id: str, host_ids: frozenset[str], received_at: float
) -> ChatMessage:
    """A TikTokLive ``CommentEvent`` as a :class:`ChatMessage`."""
    user = getattr(event, "user", None)
    common = getattr(event, "common", None)
    text = getattr(event, "content", "") or ""
    user_id = str(getattr(user, "id", "") or "")
    handle = str(getattr(user, "display_id", "") or "")
    nickname = str(getattr(user, "nickname", "") or "") or handle
    msg_id = getattr(common, "msg_id", 0) or 0
    created = getattr(common, "create_time", 0) or 0
    try:
        sent_at = parse_timestamp(created) if created else received_at
    except ValueError:
        sent_at = received_at
    if msg_id:
        message_id = str(msg_id)
    else:  # no id from TikTok: derive a stable one so a replay is still recognised
        digest = hashlib.sha1(f"{user_id}\0{created}\0{text}".encode()).hexdigest()[:16]
        message_id = f"h{digest}"
    attrs = getattr(user, "user_attr", None)
    identity = getattr(event, "user_identity", None)
    if getattr(identity, "is_anchor", False) or (handle and handle.lower() in host_ids):
        role = Role.HOST
    elif (
        getattr(identity, "is_moderator_of_anchor", False)
        or getattr(attrs, "is_admin", False)
        or getattr(attrs, "is_super_admin", False)
        or _is_moderator_badge(user)
    ):
        role = Role.MODERATOR
    else:
        role = Role.VIEWER
    at_user = getattr(event, "at_user", None)
    mention = str(getattr(at_user, "nickname", "") or "") if at_user is not None else ""
    return ChatMessage(
        platform=PLATFORM,
        stream_id=stream_id,
        message_id=message_id,
        author_id=user_id,
        display_name=nickname,
        role=role,
        text=text,
        sent_at=sent_at,
        received_at=received_at,
        mentions=(mention,) if mention else (),
        lang_hint=_lang(getattr(event, "content_language", None)),
    )


def _is_moderator_badge(user: object) -> bool:
    try:
        return bool(getattr(user, "is_moderator", False))
    except (AttributeError, TypeError, ValueError):
        return False


def _default_client_factory(user: str, web_kwargs: dict[str, Any]) -> Any:
    return _library("client.client").TikTokLiveClient(unique_id=user, web_kwargs=web_kwargs)


class TikTokSource:
    """A TikTok LIVE chat; see the module docstring."""

    def __init__(
        self,
        spec: SourceSpec,
        *,
        client_factory: ClientFactory | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        require_tiktoklive()
        user = spec.target.strip().removeprefix("https://www.tiktok.com/").removesuffix("/live")
        user = user.strip("/").removeprefix("@")
        if not user or not all(c.isalnum() or c in "._" for c in user):
            raise ConfigError(f"tiktok:{spec.target!r} is not a TikTok user name (@name)")
        self.user = user
        options = spec.options
        self.endpoint = options.get("endpoint") or None
        self._sign_key = options.get("sign_key") or os.environ.get(SIGN_KEY_ENV) or None
        self._session_id = options.get("session_id") or None
        self.room_id = option_int(options, "room_id", None)
        self.wait_live = option_bool(options, "wait_live", False)
        self.status_interval = option_float(options, "status_interval", 30.0)
        self.backoff = retry_backoff(options, backoff, DEFAULT_RETRIES)
        self.client_factory = client_factory or _default_client_factory
        self.clock = clock
        self.sleep = sleep
        self.health = SourceHealth(self.name, clock=clock)
        self.seen = RecentIds()
        self._host_ids = frozenset({user.lower()})

    @property
    def name(self) -> str:
        return f"{PLATFORM}:{self.user}"

    def __repr__(self) -> str:  # no keys or session
        return f"TikTokSource(@{self.user})"

    def _make_client(self) -> Any:
        signer: dict[str, Any] = {}
        if self.endpoint:
            signer["sign_api_base"] = self.endpoint
        if self._sign_key:
            signer["sign_api_key"] = self._sign_key
        client = self.client_factory(self.user, {"signer_kwargs": signer} if signer else {})
        if self._session_id:
            client.web.set_session(self._session_id, None)
        return client

    def _listen(self, client: Any, queue: asyncio.Queue[SourceEvent]) -> None:
        ev = _library("events")

        def on_comment(event: Any) -> None:
            self.health.seen()
            try:
                message = normalize_comment(
                    event,
                    stream_id=self.user,
                    host_ids=self._host_ids,
                    received_at=self.clock(),
                )
            except (AttributeError, TypeError, ValueError) as exc:
                self.health.count("malformed")
                log.info("%s: unreadable comment (%s)", self.name, type(exc).__name__)
                return
            if not self.seen.add(message.message_id):
                self.health.count("duplicates")
                return
            self.health.count("received")
            queue.put_nowait(message)

        def on_connect(event: Any) -> None:
            self.health.seen()
            room = getattr(event, "room_id", None)
            detail = f"room {room}" if room else ""
            queue.put_nowait(self._live(detail))

        def on_pause(event: Any) -> None:
            self._state = SourceState.DEGRADED
            queue.put_nowait(self.health.status(SourceState.DEGRADED, "stream paused"))

        def on_unpause(event: Any) -> None:
            self._state = SourceState.LIVE
            queue.put_nowait(self.health.status(SourceState.LIVE, "stream resumed"))

        def on_end(event: Any) -> None:
            queue.put_nowait(self.health.status(SourceState.ENDED, "the stream ended"))

        def on_disconnect(event: Any) -> None:
            self.health.count("disconnects")

        client.add_listener(ev.CommentEvent, on_comment)
        client.add_listener(ev.ConnectEvent, on_connect)
        client.add_listener(ev.LivePauseEvent, on_pause)
        client.add_listener(ev.LiveUnpauseEvent, on_unpause)
        client.add_listener(ev.LiveEndEvent, on_end)
        client.add_listener(ev.DisconnectEvent, on_disconnect)

    def _live(self, detail: str) -> SourceStatus:
        self._was_live = True
        self._state = SourceState.LIVE
        return self.health.status(SourceState.LIVE, detail, gap_seconds=self.health.reconnected())

    _was_live = False
    _state = SourceState.CONNECTING

    def events(self) -> AsyncGenerator[SourceEvent, None]:
        """Run the TikTokLive client, restarting it on retryable errors, until the LIVE ends."""
        reconnects = Reconnects(self.health, self.backoff, self.sleep)
        return reconnects.run(self._client_run, connecting=f"@{self.user}")

    async def _client_run(self) -> AsyncGenerator[SourceEvent, None]:
        """One TikTokLive client from start to stop; every way it stops is a :class:`Disconnected`
        (the library's errors classified by :func:`classify_error`), except the end of the LIVE."""
        queue: asyncio.Queue[SourceEvent] = asyncio.Queue()
        client = self._make_client()
        self._listen(client, queue)
        error: BaseException | None = None
        try:
            task = await client.start(fetch_live_check=True, room_id=self.room_id)
            async with aclosing(self._pump(queue, task)) as events:
                async for event in events:
                    yield event
                    if isinstance(event, SourceStatus) and event.state is SourceState.ENDED:
                        return
            if task.done() and not task.cancelled():
                error = task.exception()
        except Exception as exc:  # every library error becomes a status, never a crash
            error = exc
        finally:
            await self._close(client)
        if error is None:
            raise Disconnected("disconnected")
        disposition = classify_error(
            error, user=self.user, was_live=self._was_live, wait_live=self.wait_live
        )
        log.info("%s: %s (%s)", self.name, disposition.detail, type(error).__name__)
        raise Disconnected(
            disposition.detail,
            final=None if disposition.retry else disposition.state,
            state=disposition.state,
            min_delay=disposition.delay,
        ) from error

    async def _pump(
        self, queue: asyncio.Queue[SourceEvent], task: asyncio.Future[Any]
    ) -> AsyncGenerator[SourceEvent, None]:
        """Yield what the listeners queued until the client's task ends, then drain the rest."""
        ticker = StatusTicker(self.status_interval, self.clock)
        getter: asyncio.Future[SourceEvent] | None = None
        try:
            while True:
                if getter is None:
                    getter = asyncio.ensure_future(queue.get())
                await asyncio.wait(
                    {getter, task},
                    timeout=self.status_interval or None,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if ticker.due():
                    yield self.health.status(self._state, "periodic status")
                if getter.done():  # checked after the yield above, not from a stale snapshot
                    event, getter = getter.result(), None
                    if isinstance(event, ChatMessage) and self.backoff.attempt:
                        self.backoff.reset()
                    yield event
                elif task.done():
                    while not queue.empty():
                        yield queue.get_nowait()
                    return
        finally:
            if getter is not None:
                getter.cancel()

    @staticmethod
    async def _close(client: Any) -> None:
        # not disconnect(close_client=True): TikTokLive's close() runs the event loop itself,
        # which fails inside a running loop
        for step in (client.disconnect, client.web.close):
            try:
                await step()
            except Exception as exc:  # closing a broken client must not hide why it broke
                log.debug("tiktok: error while closing the client: %s", type(exc).__name__)
