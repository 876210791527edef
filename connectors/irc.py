"""Sans-I/O IRC / IRCv3 line parser and the Twitch chat protocol core.

Nothing here does I/O or imports asyncio. :class:`TwitchIrcProtocol` follows the shape of
python-websockets' ``Protocol``: feed what the server sent with
:meth:`~TwitchIrcProtocol.receive_data`, take the resulting events with
:meth:`~TwitchIrcProtocol.events_received` and the lines to send with
:meth:`~TwitchIrcProtocol.data_to_send`. :mod:`streamwatch.connectors.twitch` only moves
bytes between a WebSocket and this class.

Parsing follows the IRCv3 message format (https://ircv3.net/specs/extensions/message-tags):
``[@tags] [:source] COMMAND [params...] [:trailing]``, the command ASCII letters or digits,
parameters separated by one or more spaces, tag values unescaped character by character
(``\\:`` ``\\s`` ``\\\\`` ``\\r`` ``\\n``; a backslash before any other character is dropped, a
trailing backslash is dropped).

Bad input never raises out of :meth:`TwitchIrcProtocol.receive_data`: a line that cannot be
parsed becomes an :class:`~streamwatch.events.InputSkipped` and the ``malformed`` counter; invalid
UTF-8 is decoded with replacement characters and counted as ``invalid_utf8``; a line longer than
``max_line_bytes`` (IRCv3: 8191 bytes of tags + 512 bytes of message) or a transport message
longer than ``max_message_bytes`` (1 MiB) is skipped and counted as ``oversized``.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from streamwatch.errors import ConfigError, ProtocolError
from streamwatch.events import (
    ChatMessage,
    InputSkipped,
    MessageDeleted,
    MessageKind,
    Role,
)

MAX_LINE_BYTES: Final = 8191 + 512
"""IRCv3 limit: up to 8191 bytes of tags plus the classic 512-byte message (CRLF included)."""
MAX_MESSAGE_BYTES: Final = 1 << 20
"""A transport message (one WebSocket frame) larger than this is skipped whole."""
ANONYMOUS_PASS: Final = "SCHMOOPIIE"
"""The password Twitch expects from anonymous ``justinfan`` read-only logins."""
CAPABILITIES: Final = "twitch.tv/tags twitch.tv/commands"

# --------------------------------------------------------------------------------------------
# Generic IRC lines
# --------------------------------------------------------------------------------------------

_UNESCAPES: Final = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_ESCAPES: Final = {";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"}
_ESCAPE_RE: Final = re.compile(r"[; \\\r\n]")


@dataclass(frozen=True, slots=True)
class IrcMessage:
    """One parsed IRC line."""

    command: str
    """The verb as sent (``PRIVMSG``, ``001``...); compare with :attr:`verb` for dispatch."""
    params: tuple[str, ...] = ()
    """Middle parameters followed by the trailing one, if any."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """IRCv3 tags, values unescaped; a tag without a value maps to ``""``."""
    source: str | None = None
    """The prefix without its leading colon (``nick!user@host`` or a server name)."""

    @property
    def verb(self) -> str:
        return self.command.upper()

    @property
    def nick(self) -> str:
        """The nick part of :attr:`source` (``""`` without a source)."""
        if self.source is None:
            return ""
        return self.source.partition("!")[0]

    @property
    def trailing(self) -> str:
        """The last parameter, or ``""``."""
        return self.params[-1] if self.params else ""


def unescape_tag_value(value: str) -> str:
    """Undo IRCv3 tag-value escaping, one character at a time."""
    if "\\" not in value:
        return value
    out: list[str] = []
    i = 0
    n = len(value)
    while i < n:
        char = value[i]
        if char == "\\":
            i += 1
            if i < n:
                nxt = value[i]
                out.append(_UNESCAPES.get(nxt, nxt))
        else:
            out.append(char)
        i += 1
    return "".join(out)


def escape_tag_value(value: str) -> str:
    """IRCv3 tag-value escaping (the inverse of :func:`unescape_tag_value`)."""
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], value)


def parse_line(line: str) -> IrcMessage:
    """Parse one IRC line (a trailing CR/LF is ignored).

    Raises :class:`~streamwatch.errors.ProtocolError` for a line without a command.
    """
    rest = line.rstrip("\r\n")
    tags: dict[str, str] = {}
    if rest.startswith("@"):
        end = rest.find(" ")
        if end == -1:
            raise ProtocolError("IRC line has tags but no command")
        for item in rest[1:end].split(";"):
            key, _, value = item.partition("=")
            if key:
                tags[key] = unescape_tag_value(value) if "\\" in value else value
        rest = rest[end + 1 :]
    rest = rest.lstrip(" ")
    source: str | None = None
    if rest.startswith(":"):
        end = rest.find(" ")
        if end == -1:
            raise ProtocolError("IRC line has a source but no command")
        source = rest[1:end]
        rest = rest[end + 1 :]
    trailing: str | None = None
    cut = rest.find(" :")
    if cut != -1:
        trailing = rest[cut + 2 :]
        rest = rest[:cut]
    parts = [p for p in rest.split(" ") if p]
    if not parts:
        raise ProtocolError("IRC line has no command")
    command = parts[0]
    if not (command.isascii() and command.isalnum()):
        raise ProtocolError("IRC command is not letters or digits")
    params = parts[1:]
    if trailing is not None:
        params.append(trailing)
    return IrcMessage(command=command, params=tuple(params), tags=tags, source=source)


def format_line(
    command: str,
    params: tuple[str, ...] | list[str] = (),
    *,
    tags: Mapping[str, str] | None = None,
    source: str | None = None,
) -> str:
    """Serialize an IRC line (without CRLF); the last parameter becomes trailing when needed.

    Raises :class:`~streamwatch.errors.ProtocolError` for parameters that cannot be sent
    (CR, LF or NUL anywhere, a space or leading colon in a middle parameter).
    """
    pieces: list[str] = []
    if tags:
        pieces.append(
            "@"
            + ";".join(
                key if value == "" else f"{key}={escape_tag_value(value)}"
                for key, value in tags.items()
            )
        )
    if source is not None:
        pieces.append(":" + source)
    if not command or any(c in command for c in " :\r\n\0"):
        raise ProtocolError("invalid IRC command")
    pieces.append(command)
    for index, param in enumerate(params):
        if any(c in param for c in "\r\n\0"):
            raise ProtocolError("IRC parameters cannot contain CR, LF or NUL")
        last = index == len(params) - 1
        needs_trailing = param == "" or " " in param or param.startswith(":")
        if needs_trailing:
            if not last:
                raise ProtocolError("only the last IRC parameter may be empty or contain spaces")
            pieces.append(":" + param)
        else:
            pieces.append(param)
    return " ".join(pieces)


# --------------------------------------------------------------------------------------------
# Twitch
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JoinedEvent:
    """The server confirmed our JOIN: chat from the channel flows from now on."""

    channel: str


@dataclass(frozen=True, slots=True)
class ReconnectRequestedEvent:
    """The server sent ``RECONNECT``: open a new connection, then close this one."""


@dataclass(frozen=True, slots=True)
class NoticeEvent:
    """A ``NOTICE`` from the server; ``fatal`` when retrying cannot help (bad login, no channel)."""

    msg_id: str
    text: str
    fatal: bool = False


TwitchEvent: TypeAlias = (
    ChatMessage
    | MessageDeleted
    | InputSkipped
    | JoinedEvent
    | ReconnectRequestedEvent
    | NoticeEvent
)
"""What :meth:`TwitchIrcProtocol.events_received` returns."""

_CHANNEL_RE: Final = re.compile(r"^[a-z0-9_]{1,25}$")
_NICK_RE: Final = re.compile(r"^[a-z0-9_]{1,25}$")
_MENTION_RE: Final = re.compile(r"(?<![\w@])@(\w{1,25})")
_UNSENDABLE_RE: Final = re.compile(r"[\r\n\0]")

_FATAL_NOTICE_TEXT: Final = (
    "login authentication failed",
    "login unsuccessful",
    "improperly formatted auth",
    "invalid nick",
)
_FATAL_NOTICE_IDS: Final = frozenset(
    {"msg_channel_suspended", "msg_banned", "msg_channel_blocked", "tos_ban", "invalid_user"}
)
_IGNORED_VERBS: Final = frozenset(
    {
        "CAP", "002", "003", "004", "353", "366", "372", "375", "376", "ROOMSTATE",
        "USERSTATE", "GLOBALUSERSTATE", "HOSTTARGET", "PART", "WHISPER", "PONG", "MODE", "421",
    }
)  # fmt: skip
_ROLE_BADGES: Final = (("broadcaster", Role.HOST), ("moderator", Role.MODERATOR))
"""Badge name -> role, first match wins (a broadcaster is also a moderator)."""


def normalize_channel(name: str) -> str:
    """``#SomeChannel`` -> ``somechannel``; raises :class:`ConfigError` for an invalid login."""
    channel = name.strip().lstrip("#").lower()
    if not _CHANNEL_RE.match(channel):
        raise ConfigError(
            f"{name!r} is not a Twitch channel name (letters, digits and _, at most 25)"
        )
    return channel


def _int_or_none(value: str | None) -> int | None:
    if value is None or not value.strip().lstrip("-").isdigit():
        return None
    return int(value)


def _badges(value: str) -> set[str]:
    return {item.partition("/")[0] for item in value.split(",") if item}


class TwitchIrcProtocol:
    """Twitch chat (IRC with IRCv3 tags) for one channel, without I/O.

    Call :meth:`initiate` once per connection, then feed every WebSocket message the server
    sends to :meth:`receive_data`; send :meth:`data_to_send` back (each item is one line,
    CRLF included, meant for one text frame). ``PING`` is answered automatically; ``JOIN`` is
    sent once the server welcomes us (``001``).
    """

    def __init__(
        self,
        channel: str,
        *,
        token: str | None = None,
        nick: str | None = None,
        platform: str = "twitch",
        counters: Counter[str] | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        keep_raw: bool = True,
    ) -> None:
        self.channel = normalize_channel(channel)
        self.platform = platform
        self.source = f"{platform}:{self.channel}"
        self._password = self._check_token(token)
        if token is None:
            digits = (rng or random.Random()).randint(10000, 99999)
            self.nick = nick.lower() if nick else f"justinfan{digits}"
        elif not nick:
            raise ConfigError(
                "a Twitch OAuth token needs the login name of its account (option nick= or"
                " STREAMWATCH_TWITCH_NICK)"
            )
        else:
            self.nick = nick.lower()
        if not _NICK_RE.match(self.nick):
            raise ConfigError(f"{self.nick!r} is not a valid Twitch login name")
        self.anonymous = token is None
        self.counters: Counter[str] = counters if counters is not None else Counter()
        self._clock = clock
        self._max_line = max_line_bytes
        self._max_message = max_message_bytes
        self._keep_raw = keep_raw
        self._buffer = b""
        self._discarding = False
        self._events: list[TwitchEvent] = []
        self._outgoing: list[str] = []
        self._frames = 0
        self._lines = 0
        self._joined = False
        self._now = 0.0

    def __repr__(self) -> str:  # never show the token
        auth = "anonymous" if self.anonymous else "oauth"
        return f"TwitchIrcProtocol(channel={self.channel!r}, nick={self.nick!r}, auth={auth})"

    @staticmethod
    def _check_token(token: str | None) -> str:
        if token is None:
            return ANONYMOUS_PASS
        value = token.strip()
        if value.lower().startswith("oauth:"):
            value = value[6:]
        if not value or any(c.isspace() or c in "\0:" for c in value):
            raise ConfigError("the Twitch token is empty or contains spaces or control characters")
        return "oauth:" + value

    # -- output ---------------------------------------------------------------------------

    def initiate(self) -> None:
        """Queue the login: capabilities, ``PASS`` (token or anonymous), ``NICK``."""
        self._send("CAP REQ :" + CAPABILITIES)
        self._send("PASS " + self._password)
        self._send("NICK " + self.nick)

    def send_ping(self, payload: str = "streamwatch") -> None:
        """Queue a ``PING`` (a heartbeat probe; any reply counts as life)."""
        self._send("PING :" + _UNSENDABLE_RE.sub("", payload))

    def data_to_send(self) -> list[str]:
        """Lines to send, CRLF included; the PASS line carries the token, never log it raw."""
        out, self._outgoing = self._outgoing, []
        return out

    def _send(self, line: str) -> None:
        self._outgoing.append(line + "\r\n")

    # -- input ----------------------------------------------------------------------------

    def events_received(self) -> list[TwitchEvent]:
        out, self._events = self._events, []
        return out

    def receive_data(self, data: bytes | str) -> None:
        """Feed one transport message (or any chunk of the byte stream)."""
        self._frames += 1
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
        if len(raw) > self._max_message:
            self._buffer = b""
            self._discarding = False
            self._skip("oversized", f"frame {self._frames}", f"message of {len(raw)} bytes")
            return
        self._now = self._clock()
        buffer = self._buffer + raw if self._buffer else raw
        lines = buffer.split(b"\n")
        self._buffer = lines.pop()
        for line in lines:
            if self._discarding:  # the tail of a line already counted as oversized
                self._discarding = False
                continue
            self._handle_raw_line(line)
        if len(self._buffer) > self._max_line:
            self._buffer = b""
            self._discarding = True
            self._lines += 1
            self._skip("oversized", f"line {self._lines}", f"line over {self._max_line} bytes")

    def _skip(self, counter: str, where: str, reason: str) -> None:
        self.counters[counter] += 1
        self._events.append(InputSkipped(self.source, where, reason, self._clock()))

    def _handle_raw_line(self, raw: bytes) -> None:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if not raw:
            return
        self._lines += 1
        if len(raw) > self._max_line:
            self._skip("oversized", f"line {self._lines}", f"line of {len(raw)} bytes")
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.counters["invalid_utf8"] += 1
            text = raw.decode("utf-8", "replace")
        try:
            message = parse_line(text)
        except ProtocolError as exc:
            self._skip("malformed", f"line {self._lines}", str(exc))
            return
        self._dispatch(message, text)

    def _dispatch(self, msg: IrcMessage, line: str) -> None:
        verb = msg.verb
        if verb == "PRIVMSG":
            if self._is_ours(msg):
                self._events.append(self._chat(msg, line, notice=False))
        elif verb == "PING":
            payload = _UNSENDABLE_RE.sub("", msg.trailing) or "tmi.twitch.tv"
            self._send("PONG :" + payload)  # as Twitch documents it: "PONG :tmi.twitch.tv"
        elif verb == "USERNOTICE":
            if self._is_ours(msg):
                self._events.append(self._chat(msg, line, notice=True))
        elif verb == "CLEARMSG":
            if self._is_ours(msg):
                self._events.append(self._clearmsg(msg))
        elif verb == "CLEARCHAT":
            if self._is_ours(msg):
                self._events.append(self._clearchat(msg))
        elif verb == "001":
            self._send("JOIN #" + self.channel)
        elif verb == "JOIN":
            if msg.nick.lower() == self.nick and self._is_ours(msg) and not self._joined:
                self._joined = True
                self._events.append(JoinedEvent(self.channel))
        elif verb == "RECONNECT":
            self._events.append(ReconnectRequestedEvent())
        elif verb == "NOTICE":
            self._events.append(self._notice(msg))
        elif verb not in _IGNORED_VERBS:
            self.counters["unknown_command"] += 1

    def _is_ours(self, msg: IrcMessage) -> bool:
        if msg.params and msg.params[0].lower() == "#" + self.channel:
            return True
        self.counters["other_channel"] += 1
        return False

    def _sent_at(self, tags: Mapping[str, str]) -> float:
        ms = _int_or_none(tags.get("tmi-sent-ts"))
        return ms / 1000.0 if ms is not None and ms > 0 else self._now

    def _chat(self, msg: IrcMessage, line: str, *, notice: bool) -> ChatMessage:
        tags = msg.tags
        login = tags.get("login") or (msg.nick if not notice else "")
        text = msg.params[1] if len(msg.params) > 1 else ""
        if text.startswith("\x01ACTION ") and text.endswith("\x01"):
            text = text[8:-1]  # "/me waves" arrives as CTCP ACTION
        badges = _badges(tags.get("badges", ""))
        role = next((r for name, r in _ROLE_BADGES if name in badges), Role.VIEWER)
        if role is Role.VIEWER and tags.get("mod") == "1":
            role = Role.MODERATOR
        kind = MessageKind.TEXT
        amount: str | None = None
        bits = _int_or_none(tags.get("bits"))
        paid = _int_or_none(tags.get("pinned-chat-paid-amount"))
        if bits:
            kind, amount = MessageKind.PAID, f"{bits} bits"
        elif paid:
            exponent = _int_or_none(tags.get("pinned-chat-paid-exponent")) or 0
            currency = tags.get("pinned-chat-paid-currency", "")
            kind = MessageKind.PAID
            amount = f"{paid / 10**exponent:.{exponent}f} {currency}".strip()
        if notice:
            kind = MessageKind.NOTICE
            if not text:  # a sub / raid / gift without a viewer message: the system text
                text = tags.get("system-msg", "")
                role = Role.SYSTEM
        if tags.get("first-msg") == "1":
            self.counters["first_messages"] += 1
        message_id = tags.get("id") or "h:" + hashlib.sha1(line.encode()).hexdigest()[:20]
        return ChatMessage(
            platform=self.platform,
            stream_id=self.channel,
            message_id=message_id,
            author_id=tags.get("user-id", ""),
            display_name=tags.get("display-name") or login,
            role=role,
            text=text,
            sent_at=self._sent_at(tags),
            received_at=self._now,
            kind=kind,
            reply_to=tags.get("reply-parent-msg-id") or None,
            reply_to_author=tags.get("reply-parent-display-name")
            or tags.get("reply-parent-user-login")
            or None,
            mentions=tuple(dict.fromkeys(_MENTION_RE.findall(text))),
            amount=amount,
            raw=line if self._keep_raw else None,
        )

    def _clearmsg(self, msg: IrcMessage) -> MessageDeleted:
        self.counters["deletions"] += 1
        return MessageDeleted(
            platform=self.platform,
            stream_id=self.channel,
            at=self._sent_at(msg.tags),
            message_id=msg.tags.get("target-msg-id") or None,
            reason="deleted by a moderator",
        )

    def _clearchat(self, msg: IrcMessage) -> MessageDeleted:
        """A ban or timeout clears one author; without ``target-user-id`` the whole chat."""
        self.counters["deletions"] += 1
        target = msg.tags.get("target-user-id") or None
        duration = _int_or_none(msg.tags.get("ban-duration"))
        if target is None:
            reason = "chat cleared by a moderator"
        elif duration is not None:
            reason = f"author timed out for {duration} s"
        else:
            reason = "author banned"
        return MessageDeleted(
            platform=self.platform,
            stream_id=self.channel,
            at=self._sent_at(msg.tags),
            author_id=target,
            reason=reason,
        )

    def _notice(self, msg: IrcMessage) -> NoticeEvent:
        msg_id = msg.tags.get("msg-id", "")
        text = msg.trailing
        lowered = text.lower()
        fatal = msg_id in _FATAL_NOTICE_IDS or any(t in lowered for t in _FATAL_NOTICE_TEXT)
        self.counters["notices"] += 1
        return NoticeEvent(msg_id=msg_id, text=text, fatal=fatal)


def redact_line(line: str) -> str:
    """A sent line safe to log: the ``PASS`` argument is replaced."""
    if line[:5].upper() == "PASS ":
        return "PASS ***\r\n" if line.endswith("\r\n") else "PASS ***"
    return line
