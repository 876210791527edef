"""Declarative field mapping for generic JSON chat feeds (WebSocket, SSE, NDJSON, ingest server).

A :class:`FieldMap` says where each :class:`~streamwatch.events.ChatMessage` field lives in a JSON
object, as dotted paths (``data.user.nickname``; a number selects a list element: ``items.0.text``).
The defaults read the generic JSONL chat format::

    {"ts": "2024-05-01T12:00:00Z", "user": "Ann", "role": "viewer", "text": "price?",
     "platform": "douyin", "id": "m1", "lang": "zh", "user_id": "u1", "reply_to": "m0"}

A mapping spec (the ``--map`` option or ``map=`` source option) is a comma-separated list of
``KEY=VALUE`` items; only the keys given change, the rest keep their defaults:

``text=PATH`` ``user=PATH`` ``user_id=PATH`` ``id=PATH`` ``ts=PATH`` ``role=PATH`` ``lang=PATH``
``reply_to=PATH`` ``platform=PATH`` ``stream=PATH`` ``amount=PATH``
    where the field is read from (``FIELD=`` with no path: never read it);
``host=PATH`` / ``moderator=PATH``
    a flag that, when truthy, makes the author a host / moderator (``host=data.user.is_anchor``);
``role.VALUE=ROLE``
    what a raw role value means (``role.1=host,role.admin=moderator``);
``items=PATH``
    each frame carries a list of messages at PATH (``items=data.messages``);
``when.PATH=V1|V2``
    only frame objects (or elements of a frame array) whose PATH equals one of the values hold
    chat; others are counted as ignored (checked before ``items``);
``require=F1+F2``
    fields a message must have (default ``text``); a message missing one is a counted skip.

Timestamps (:func:`parse_timestamp`) are ISO 8601 strings or epoch numbers whose unit (s, ms, us,
ns) is told by magnitude. :class:`FeedNormalizer` is the sans-I/O core the feed connectors share:
a frame (bytes or text) in, :data:`~streamwatch.events.SourceEvent` records out, with counters;
:class:`FeedSettings` reads the options they share.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from streamwatch.connectors.base import SourceSpec
from streamwatch.connectors.common import RecentIds, option_bool, option_float, option_int
from streamwatch.connectors.health import SourceHealth
from streamwatch.errors import ConfigError
from streamwatch.events import ChatMessage, InputSkipped, MessageKind, Role, SourceEvent

PathPart = str | int
Path = tuple[PathPart, ...]

FIELDS: Final = (
    "text",
    "user",
    "user_id",
    "id",
    "ts",
    "role",
    "lang",
    "reply_to",
    "platform",
    "stream",
    "amount",
)
"""Fields a mapping can read; each defaults to the key of its own name except ``amount``."""

DEFAULT_MAX_BYTES: Final = 1_000_000
"""Frames larger than this are counted as oversized and skipped."""

DEFAULT_ROLES: Final[Mapping[str, Role]] = {
    **dict.fromkeys(
        ("host", "owner", "broadcaster", "anchor", "streamer", "seller", "creator"), Role.HOST
    ),
    **dict.fromkeys(("moderator", "mod", "admin", "manager"), Role.MODERATOR),
    "system": Role.SYSTEM,
    **dict.fromkeys(("viewer", "user", "audience", "member", "subscriber", "fan", ""), Role.VIEWER),
}

_TEXT_FIELDS: Final = (
    "text",
    "user",
    "user_id",
    "id",
    "lang",
    "reply_to",
    "platform",
    "stream",
    "amount",
)

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_path(text: str) -> Path:
    """``data.items.0.text`` -> ``("data", "items", 0, "text")``."""
    text = text.strip()
    if not text:
        raise ConfigError("empty field path in mapping")
    parts: list[PathPart] = []
    for part in text.split("."):
        if not part:
            raise ConfigError(f"field path {text!r} has an empty segment")
        parts.append(int(part) if part.isdigit() else part)
    return tuple(parts)


def get_path(obj: Any, path: Path) -> Any:
    """The value at ``path`` inside ``obj``, or None when any step is missing."""
    value = obj
    for part in path:
        if isinstance(value, dict):
            value = value.get(part if isinstance(part, str) else str(part))
        elif isinstance(value, list) and isinstance(part, int):
            value = value[part] if part < len(value) else None
        else:
            return None
        if value is None:
            return None
    return value


def parse_timestamp(value: object) -> float:
    """Epoch seconds from an ISO 8601 string or an epoch number in s, ms, us or ns.

    The unit of a number is told by magnitude: below 1e11 seconds (up to year 5138), below 1e14
    milliseconds, below 1e17 microseconds, else nanoseconds. Raises ValueError otherwise.
    """
    if isinstance(value, bool):
        raise ValueError("a boolean is not a timestamp")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if _NUMBER.match(text):
            number = float(text)
        else:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"not an ISO 8601 time or epoch number: {text[:40]!r}") from None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.timestamp()
    else:
        raise ValueError(f"a {type(value).__name__} is not a timestamp")
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"timestamp out of range: {number!r}")
    if number < 1e11:
        return number
    if number < 1e14:
        return number / 1e3
    if number < 1e17:
        return number / 1e6
    return number / 1e9


def _default_paths() -> dict[str, Path | None]:
    paths: dict[str, Path | None] = {name: (name,) for name in FIELDS}
    paths["amount"] = None
    return paths


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Where each chat-message field lives in a JSON object; see the module docstring."""

    paths: Mapping[str, Path | None] = field(default_factory=_default_paths)
    roles: Mapping[str, Role] = field(default_factory=lambda: dict(DEFAULT_ROLES))
    host_flag: Path | None = None
    moderator_flag: Path | None = None
    items: Path | None = None
    when: tuple[tuple[Path, frozenset[str]], ...] = ()
    required: frozenset[str] = frozenset({"text"})

    @classmethod
    def parse(cls, spec: str | None, base: FieldMap | None = None) -> FieldMap:
        """Apply a mapping spec (``text=data.content,user=data.user.nickname``) to ``base``."""
        fmap = base if base is not None else cls()
        if spec is None or not spec.strip():
            return fmap
        paths = dict(fmap.paths)
        roles = dict(fmap.roles)
        host_flag, moderator_flag, items = fmap.host_flag, fmap.moderator_flag, fmap.items
        when = list(fmap.when)
        required = set(fmap.required)
        for raw_item in spec.split(","):
            item = raw_item.strip()
            if not item:
                continue
            key, sep, value = item.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or not key:
                raise ConfigError(f"mapping item {item!r} is not KEY=VALUE")
            if key in FIELDS:
                paths[key] = parse_path(value) if value else None
            elif key == "host":
                host_flag = parse_path(value) if value else None
            elif key == "moderator":
                moderator_flag = parse_path(value) if value else None
            elif key == "items":
                items = parse_path(value) if value else None
            elif key == "require":
                names = set(re.split(r"[+\s]+", value)) - {""}
                unknown = names - set(FIELDS)
                if unknown:
                    raise ConfigError(f"require names unknown fields: {', '.join(sorted(unknown))}")
                required = names
            elif key.startswith("role."):
                try:
                    roles[key[5:].strip().lower()] = Role(value.lower())
                except ValueError:
                    choices = ", ".join(r.value for r in Role)
                    raise ConfigError(f"{item!r}: role must be one of {choices}") from None
            elif key.startswith("when."):
                values = frozenset(v.strip() for v in value.split("|"))
                when.append((parse_path(key[5:]), values))
            else:
                known = ", ".join((*FIELDS, "host", "moderator", "items", "require"))
                raise ConfigError(
                    f"unknown mapping key {key!r} (known: {known}, role.VALUE, when.PATH)"
                )
        for name in required:
            if paths.get(name) is None:
                raise ConfigError(f"field {name!r} is required but mapped to nothing")
        return replace(
            fmap,
            paths=paths,
            roles=roles,
            host_flag=host_flag,
            moderator_flag=moderator_flag,
            items=items,
            when=tuple(when),
            required=frozenset(required),
        )

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """True when ``obj`` passes every ``when.PATH=...`` filter."""
        for path, values in self.when:
            value = get_path(obj, path)
            if value is None or _scalar_text(value) not in values:
                return False
        return True

    def role_of(self, obj: Mapping[str, Any]) -> tuple[Role, bool]:
        """The author's role and whether the raw role value was understood."""
        if self.host_flag is not None and _truthy(get_path(obj, self.host_flag)):
            return Role.HOST, True
        if self.moderator_flag is not None and _truthy(get_path(obj, self.moderator_flag)):
            return Role.MODERATOR, True
        path = self.paths.get("role")
        raw = None if path is None else get_path(obj, path)
        if raw is None:
            return Role.VIEWER, True
        text = _scalar_text(raw)
        if text is None:
            return Role.VIEWER, False
        role = self.roles.get(text.strip().lower())
        return (role, True) if role is not None else (Role.VIEWER, False)


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off", "null", "none")
    return bool(value)


def _scalar_text(value: object) -> str | None:
    """A JSON scalar as text (``true`` for booleans, digits for integers), None for containers."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


class MappingSkip(Exception):
    """One object could not become a message; ``reason`` says why (never raised out of here)."""

    def __init__(self, reason: str, counter: str = "missing_field") -> None:
        super().__init__(reason)
        self.reason = reason
        self.counter = counter


def map_object(
    obj: Mapping[str, Any],
    fmap: FieldMap,
    *,
    platform: str,
    stream_id: str,
    received_at: float,
    make_id: Callable[[], str],
    raw: str | None = None,
    notes: list[str] | None = None,
) -> ChatMessage:
    """Build a :class:`ChatMessage` from one JSON object; raises :class:`MappingSkip`.

    ``notes`` collects soft problems (``bad_timestamp``, ``unknown_role``, ``no_id``) that do
    not drop the message: the timestamp falls back to ``received_at``, the role to viewer, the id
    to ``make_id()``.
    """
    values: dict[str, str | None] = {}
    for name in _TEXT_FIELDS:
        path = fmap.paths.get(name)
        value = None if path is None else get_path(obj, path)
        text = None if value is None else _scalar_text(value)
        if value is not None and text is None:
            if name in fmap.required:
                raise MappingSkip(f"field {name!r} is a {type(value).__name__}, not text")
            if notes is not None:
                notes.append("bad_field")
        values[name] = text
    if not values["text"] and values["amount"]:
        values["text"] = ""  # a paid message may carry no words
    for name in fmap.required:
        path = fmap.paths.get(name)
        present = (
            get_path(obj, path) is not None
            if name in ("ts", "role") and path is not None
            else bool(values.get(name)) or (name == "text" and bool(values["amount"]))
        )
        if not present:
            where = ".".join(str(p) for p in path) if path else name
            raise MappingSkip(f"missing required field {name!r} ({where})")

    sent_at = received_at
    ts_path = fmap.paths.get("ts")
    ts_value = None if ts_path is None else get_path(obj, ts_path)
    if ts_value is not None:
        try:
            sent_at = parse_timestamp(ts_value)
        except ValueError as exc:
            if "ts" in fmap.required:
                raise MappingSkip(f"bad timestamp: {exc}", "bad_timestamp") from exc
            if notes is not None:
                notes.append("bad_timestamp")
    role, understood = fmap.role_of(obj)
    if not understood and notes is not None:
        notes.append("unknown_role")
    message_id = values["id"]
    if not message_id:
        message_id = make_id()
        if notes is not None:
            notes.append("no_id")
    amount = values["amount"] or None
    if amount is not None:
        kind = MessageKind.PAID
    elif role is Role.SYSTEM:
        kind = MessageKind.NOTICE
    else:
        kind = MessageKind.TEXT
    lang = values["lang"]
    return ChatMessage(
        platform=values["platform"] or platform,
        stream_id=values["stream"] or stream_id,
        message_id=message_id,
        author_id=values["user_id"] or "",
        display_name=values["user"] or "",
        role=role,
        text=values["text"] or "",
        sent_at=sent_at,
        received_at=received_at,
        kind=kind,
        reply_to=values["reply_to"] or None,
        lang_hint=lang.strip().lower() if lang and lang.strip() else None,
        amount=amount,
        raw=raw,
    )


def to_generic_json(message: ChatMessage) -> dict[str, Any]:
    """A message in the generic JSONL chat format (what the default :class:`FieldMap` reads)."""
    row: dict[str, Any] = {
        "ts": message.sent_at,
        "user": message.display_name,
        "role": message.role.value,
        "text": message.text,
        "platform": message.platform,
        "id": message.message_id,
    }
    if message.lang_hint:
        row["lang"] = message.lang_hint
    if message.author_id:
        row["user_id"] = message.author_id
    if message.reply_to:
        row["reply_to"] = message.reply_to
    if message.amount:
        row["amount"] = message.amount
    row["stream"] = message.stream_id
    return row


@dataclass
class FeedNormalizer:
    """Frames of JSON chat in, events out: size, UTF-8 and JSON checks, mapping, de-duplication.

    Counters (in ``health``): ``frames``, ``received`` (messages emitted), ``duplicates``,
    ``oversized``, ``invalid_utf8``, ``malformed`` (not JSON / not an object), ``missing_field``,
    ``ignored`` (filtered out by ``when.``), ``bad_timestamp``, ``unknown_role``, ``no_id``.
    Messages without an id get a generated one and cannot be de-duplicated.
    """

    fmap: FieldMap
    platform: str
    stream_id: str
    health: SourceHealth
    max_bytes: int = DEFAULT_MAX_BYTES
    seen: RecentIds = field(default_factory=RecentIds)
    clock: Callable[[], float] = time.time
    keep_raw: bool = True
    _id_prefix: str = field(default_factory=lambda: "sw-" + secrets.token_hex(4))
    _id_counter: int = 0

    def _make_id(self) -> str:
        self._id_counter += 1
        return f"{self._id_prefix}-{self._id_counter}"

    def _skip(self, where: str, reason: str, counter: str) -> InputSkipped:
        self.health.count(counter)
        return InputSkipped(source=self.health.source, where=where, reason=reason, at=self.clock())

    def feed(
        self, payload: bytes | str, where: str, fallback_id: str | None = None
    ) -> list[SourceEvent]:
        """Decode one frame (a JSON object or an array of objects) into events.

        ``fallback_id`` (an SSE event id, say) identifies messages whose object carries no id;
        elements of an array get ``ID#0``, ``ID#1``...
        """
        self.health.count("frames")
        size = len(payload)
        if isinstance(payload, str):
            text = payload
            if size * 4 > self.max_bytes:  # only long text can be over the limit in UTF-8
                size = len(text.encode("utf-8", "surrogatepass"))
        if size > self.max_bytes:
            reason = f"oversized frame ({size} > {self.max_bytes} bytes)"
            return [self._skip(where, reason, "oversized")]
        if not isinstance(payload, str):
            try:
                text = bytes(payload).decode("utf-8")
            except UnicodeDecodeError as exc:
                return [self._skip(where, f"invalid UTF-8 at byte {exc.start}", "invalid_utf8")]
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
            return [self._skip(where, f"not JSON: {reason}", "malformed")]
        raw = text if isinstance(data, dict) else None
        return self.feed_value(data, where, raw=raw, fallback_id=fallback_id)

    def feed_value(
        self, data: Any, where: str, raw: str | None = None, fallback_id: str | None = None
    ) -> list[SourceEvent]:
        """Map an already-parsed JSON value (object or array of objects) into events."""
        objects: Iterable[tuple[str, Any, str | None, str | None]]
        if isinstance(data, dict):
            objects = ((where, data, raw, fallback_id),)
        elif isinstance(data, list):
            objects = (
                (f"{where} item {i}", item, None, _sub_id(fallback_id, i))
                for i, item in enumerate(data)
            )
        else:
            return [self._skip(where, "not a JSON object or array of objects", "malformed")]
        out: list[SourceEvent] = []
        for item_where, obj, obj_raw, obj_id in objects:
            if not isinstance(obj, dict):
                out.append(self._skip(item_where, "not a JSON object", "malformed"))
                continue
            if self.fmap.when and not self.fmap.matches(obj):
                self.health.count("ignored")
                continue
            if self.fmap.items is None:
                self._map_one(obj, item_where, obj_raw, obj_id, out)
                continue
            inner = get_path(obj, self.fmap.items)
            if inner is None:
                self.health.count("ignored")
                continue
            if not isinstance(inner, list):
                out.append(self._skip(item_where, "items path is not a list", "malformed"))
                continue
            for j, sub in enumerate(inner):
                sub_where = f"{item_where} message {j}"
                if isinstance(sub, dict):
                    self._map_one(sub, sub_where, None, _sub_id(obj_id, j), out)
                else:
                    out.append(self._skip(sub_where, "not a JSON object", "malformed"))
        return out

    def _map_one(
        self,
        obj: dict[str, Any],
        where: str,
        raw: str | None,
        fallback_id: str | None,
        out: list[SourceEvent],
    ) -> None:
        notes: list[str] = []
        if raw is None and self.keep_raw:
            raw = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        try:
            message = map_object(
                obj,
                self.fmap,
                platform=self.platform,
                stream_id=self.stream_id,
                received_at=self.clock(),
                make_id=self._make_id if fallback_id is None else lambda: fallback_id,
                raw=raw if self.keep_raw else None,
                notes=notes,
            )
        except MappingSkip as skip:
            out.append(self._skip(where, skip.reason, skip.counter))
            return
        for note in notes:
            if note != "no_id" or fallback_id is None:
                self.health.count(note)
        unidentified = "no_id" in notes and fallback_id is None
        if not unidentified and not self.seen.add(message.key):
            self.health.count("duplicates")
            return
        self.health.count("received")
        out.append(message)


def _sub_id(base: str | None, index: int) -> str | None:
    return None if base is None else f"{base}#{index}"


# ---------------------------------------------------------------- feed URLs and options


def split_options_fragment(url: str) -> tuple[str, dict[str, str]]:
    """Split connector options off a feed URL's fragment: ``wss://h/p#map=...&token=...``.

    The fragment is never sent to the server, so options there cannot clash with the feed's own
    query parameters. Returns the URL without the fragment and the options.
    """
    base, sep, fragment = url.partition("#")
    if not sep:
        return url, {}
    return base, dict(parse_qsl(fragment, keep_blank_values=True))


def feed_options(spec: SourceSpec) -> tuple[str, dict[str, str]]:
    """The feed URL (without fragment) and the options from its fragment and the command line."""
    url, fragment_options = split_options_fragment(spec.target)
    return url, {**fragment_options, **spec.options}


def default_stream_id(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "feed"
    if parts.port:
        host = f"{host}:{parts.port}"
    return host + (parts.path.rstrip("/") or "")


FEED_TOKEN_ENV: Final = "STREAMWATCH_FEED_TOKEN"


@dataclass(frozen=True, slots=True)
class FeedSettings:
    """The options every JSON feed connector reads (WebSocket, SSE, NDJSON).

    ``map``, ``token`` (default ``STREAMWATCH_FEED_TOKEN``), ``platform``, ``stream`` (default:
    host and path of the URL), ``max_bytes``, ``reconnect`` and ``status_interval``.
    """

    token: str | None = field(repr=False)
    platform: str
    stream_id: str
    max_bytes: int
    reconnect: bool
    """False: end when the server closes cleanly (errors are still retried)."""
    status_interval: float
    fmap: FieldMap

    @classmethod
    def read(cls, options: Mapping[str, str], *, platform: str, url: str) -> FeedSettings:
        """Settings from ``options``; ``platform`` and ``url`` give the defaults."""
        return cls(
            token=options.get("token") or os.environ.get(FEED_TOKEN_ENV) or None,
            platform=options.get("platform") or platform,
            stream_id=options.get("stream") or default_stream_id(url),
            max_bytes=option_int(options, "max_bytes", DEFAULT_MAX_BYTES, minimum=1),
            reconnect=option_bool(options, "reconnect", True),
            status_interval=option_float(options, "status_interval", 30.0),
            fmap=FieldMap.parse(options.get("map")),
        )

    @property
    def source_name(self) -> str:
        return f"{self.platform}:{self.stream_id}"

    def normalizer(self, health: SourceHealth, clock: Callable[[], float]) -> FeedNormalizer:
        return FeedNormalizer(
            self.fmap,
            platform=self.platform,
            stream_id=self.stream_id,
            health=health,
            max_bytes=self.max_bytes,
            clock=clock,
        )
