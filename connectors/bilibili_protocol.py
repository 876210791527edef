"""Sans-I/O codec for the Bilibili live danmaku WebSocket protocol.

Every packet starts with a 16-byte big-endian header::

    offset  size  field
    0       u32   packet length (header included)
    4       u16   header length (always 16)
    6       u16   protocol version: 0 JSON, 1 heartbeat / int32 body, 2 zlib, 3 brotli
    8       u32   operation: 2 heartbeat, 3 heartbeat reply, 5 message, 7 auth, 8 auth reply
    12      u32   sequence

A version 2 or 3 message packet carries, once decompressed, more packets (usually a batch of
version 0 JSON messages). :class:`BilibiliProtocol` is fed what the server sends with
:meth:`~BilibiliProtocol.receive_data` (any split: packets may straddle reads and are
buffered), returns events from :meth:`~BilibiliProtocol.events_received` and the packets to
send (auth, heartbeats) from :meth:`~BilibiliProtocol.data_to_send`. No asyncio here.

Bad input never raises:

* a header that cannot be right (header length not 16, packet length under 16 or over
  ``max_packet_bytes``, unknown version or operation) counts as ``malformed`` and **drops the
  whole buffer**: packets carry no sync marker, so the only safe resynchronisation point is the
  start of the next transport message (the server sends whole packets per WebSocket message);
* a body that does not decompress, decompresses to more than ``max_decompressed_bytes``, or
  holds a truncated nested packet counts as ``malformed`` and skips that packet only (the
  outer framing is intact, so later packets are kept);
* JSON that does not parse, or a ``DANMU_MSG`` / ``SUPER_CHAT_MESSAGE`` without the fields we
  need, counts as ``malformed``; invalid UTF-8 is replaced and counted as ``invalid_utf8``;
* commands we do not turn into events count as ``unknown_cmd``.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import brotli

from streamwatch.errors import ProtocolError
from streamwatch.events import ChatMessage, InputSkipped, MessageDeleted, MessageKind, Role

HEADER: Final = struct.Struct(">IHHII")
HEADER_LEN: Final = 16

VER_JSON: Final = 0
VER_INT: Final = 1  # heartbeat / auth packets and the int32 heartbeat reply
VER_ZLIB: Final = 2
VER_BROTLI: Final = 3

OP_HEARTBEAT: Final = 2
OP_HEARTBEAT_REPLY: Final = 3
OP_MESSAGE: Final = 5
OP_AUTH: Final = 7
OP_AUTH_REPLY: Final = 8

_KNOWN_VERSIONS: Final = frozenset({VER_JSON, VER_INT, VER_ZLIB, VER_BROTLI})
_KNOWN_OPS: Final = frozenset(
    {OP_HEARTBEAT, OP_HEARTBEAT_REPLY, OP_MESSAGE, OP_AUTH, OP_AUTH_REPLY}
)

MAX_PACKET_BYTES: Final = 1 << 20
MAX_DECOMPRESSED_BYTES: Final = 8 << 20
MAX_NESTING: Final = 1
"""A compressed batch inside a compressed batch is malformed (the server never nests twice)."""
HEARTBEAT_BODY: Final = b"[object Object]"
"""What the official web client sends as the heartbeat body (the server ignores it)."""

_MENTION_RE: Final = re.compile(r"(?<![\w@])@(\S{1,32})")


def encode_packet(op: int, body: bytes = b"", *, ver: int = VER_INT, seq: int = 1) -> bytes:
    """One packet: header + body."""
    return HEADER.pack(HEADER_LEN + len(body), HEADER_LEN, ver, op, seq) + body


def encode_messages(messages: list[dict[str, Any]], *, ver: int = VER_JSON) -> bytes:
    """Message packets for ``messages``; with ``ver`` 2 or 3 one compressed batch packet.

    This is what the server sends; tests, the benchmark and replay tools use it.
    """
    inner = b"".join(
        encode_packet(OP_MESSAGE, json.dumps(m, ensure_ascii=False).encode(), ver=VER_JSON, seq=0)
        for m in messages
    )
    if ver == VER_JSON:
        return inner
    if ver == VER_ZLIB:
        return encode_packet(OP_MESSAGE, zlib.compress(inner), ver=VER_ZLIB, seq=0)
    if ver == VER_BROTLI:
        # quality 5: brotli's default (11) spends ~0.3 s on a 150 KB batch
        return encode_packet(OP_MESSAGE, brotli.compress(inner, quality=5), ver=VER_BROTLI, seq=0)
    raise ValueError(f"no message encoding for protocol version {ver}")


@dataclass(frozen=True, slots=True)
class AuthReplyEvent:
    """The server's answer to our auth packet; ``code`` 0 means accepted."""

    code: int

    @property
    def ok(self) -> bool:
        return self.code == 0


@dataclass(frozen=True, slots=True)
class HeartbeatReplyEvent:
    """Operation 3: the server is alive; carries the room's popularity figure."""

    popularity: int


@dataclass(frozen=True, slots=True)
class NamesMaskedEvent:
    """Danmaku arrive with hidden uids and masked names (``用户***``): an anonymous session."""


@dataclass(frozen=True, slots=True)
class RoomStateEvent:
    """``LIVE`` (the stream started) or ``PREPARING`` (the stream went offline)."""

    live: bool
    cmd: str


BilibiliEvent: TypeAlias = (
    ChatMessage
    | MessageDeleted
    | InputSkipped
    | AuthReplyEvent
    | HeartbeatReplyEvent
    | NamesMaskedEvent
    | RoomStateEvent
)
"""What :meth:`BilibiliProtocol.events_received` returns."""


class _Malformed(Exception):
    """A packet we skip; carries the reason for the counted skip."""


def _as_list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise _Malformed("expected a JSON array")
    return value


def _as_dict(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Malformed("expected a JSON object")
    return value


def _as_int(value: object, default: int = 0) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value and abs(value) < 1e18:
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return default


class BilibiliProtocol:
    """The danmaku protocol for one room, without I/O."""

    def __init__(
        self,
        room_id: int,
        *,
        uid: int = 0,
        key: str | None = None,
        buvid: str | None = None,
        host_uid: int | None = None,
        protover: int = VER_BROTLI,
        platform: str = "bilibili",
        counters: Counter[str] | None = None,
        clock: Callable[[], float] = time.time,
        max_packet_bytes: int = MAX_PACKET_BYTES,
        max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES,
        keep_raw: bool = True,
    ) -> None:
        self.room_id = room_id
        self.uid = uid
        self._key = key
        self._buvid = buvid
        self.host_uid = host_uid
        self.protover = protover
        self.platform = platform
        self.stream_id = str(room_id)
        self.source = f"{platform}:{room_id}"
        self.counters: Counter[str] = counters if counters is not None else Counter()
        self._clock = clock
        self._max_packet = max_packet_bytes
        self._max_decompressed = max_decompressed_bytes
        self._keep_raw = keep_raw
        self._buffer = bytearray()
        self._events: list[BilibiliEvent] = []
        self._outgoing: list[bytes] = []
        self._frames = 0
        self._now = 0.0
        self.names_masked = False
        self.popularity: int | None = None

    def __repr__(self) -> str:  # never show the key
        key = "***" if self._key else None
        return f"BilibiliProtocol(room_id={self.room_id}, uid={self.uid}, key={key})"

    # -- output ---------------------------------------------------------------------------

    def initiate(self) -> None:
        """Queue the auth packet (operation 7); the server answers with operation 8."""
        body: dict[str, object] = {
            "uid": self.uid,
            "roomid": self.room_id,
            "protover": self.protover,
        }
        if self._buvid:
            body["buvid"] = self._buvid
        body["platform"] = "web"
        body["type"] = 2
        if self._key:
            body["key"] = self._key
        payload = json.dumps(body, separators=(",", ":")).encode()
        self._outgoing.append(encode_packet(OP_AUTH, payload, ver=VER_INT, seq=1))

    def send_heartbeat(self) -> None:
        """Queue a heartbeat (operation 2); send one every 30 s."""
        self._outgoing.append(encode_packet(OP_HEARTBEAT, HEARTBEAT_BODY, ver=VER_INT, seq=1))

    def data_to_send(self) -> list[bytes]:
        """Packets to send, each as one binary WebSocket message (the auth one holds the key)."""
        out, self._outgoing = self._outgoing, []
        return out

    # -- input ----------------------------------------------------------------------------

    def events_received(self) -> list[BilibiliEvent]:
        out, self._events = self._events, []
        return out

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Feed bytes the server sent (one WebSocket message, or any piece of the stream)."""
        self._frames += 1
        self._now = self._clock()
        buf = self._buffer
        buf += data
        offset = 0
        size = len(buf)
        while size - offset >= HEADER_LEN:
            length, header_len, ver, op, _seq = HEADER.unpack_from(buf, offset)
            if (
                header_len != HEADER_LEN
                or length < HEADER_LEN
                or length > self._max_packet
                or ver not in _KNOWN_VERSIONS
                or op not in _KNOWN_OPS
            ):
                plausible = header_len == HEADER_LEN and ver in _KNOWN_VERSIONS and op in _KNOWN_OPS
                self._skip(
                    f"bad packet header (length {length}, header {header_len}, version {ver},"
                    f" operation {op}); dropped {size - offset} buffered bytes",
                    "oversized" if plausible and length > self._max_packet else "malformed",
                )
                offset = size
                break
            if size - offset < length:
                break  # wait for the rest of the packet
            body = bytes(buf[offset + HEADER_LEN : offset + length])
            offset += length
            self._packet(ver, op, body, 0)
        del buf[:offset]

    def _skip(self, reason: str, counter: str = "malformed") -> None:
        self.counters[counter] += 1
        self._events.append(InputSkipped(self.source, f"frame {self._frames}", reason, self._now))

    def _packet(self, ver: int, op: int, body: bytes, depth: int) -> None:
        try:
            if op == OP_MESSAGE:
                if ver in (VER_ZLIB, VER_BROTLI):
                    self._nested(self._decompress(ver, body), depth + 1)
                else:
                    self._message(body)
            elif op == OP_HEARTBEAT_REPLY:
                self.popularity = int.from_bytes(body[:4], "big") if len(body) >= 4 else 0
                self._events.append(HeartbeatReplyEvent(self.popularity))
            elif op == OP_AUTH_REPLY:
                reply = _as_dict(self._json(body))
                self._events.append(AuthReplyEvent(_as_int(reply.get("code"), -1)))
            else:  # a client-only operation (2 or 7) from the server
                self.counters["unknown_op"] += 1
        except _Malformed as exc:
            self._skip(str(exc))

    def _decompress(self, ver: int, body: bytes) -> bytes:
        limit = self._max_decompressed
        try:
            if ver == VER_ZLIB:
                inflater = zlib.decompressobj()
                out = inflater.decompress(body, limit)
                if inflater.unconsumed_tail:
                    raise _Malformed(f"zlib body inflates past {limit} bytes")
                if not inflater.eof:
                    raise _Malformed("truncated zlib body")
                return out
            decoder = brotli.Decompressor()
            out = decoder.process(body, output_buffer_limit=limit)
            if len(out) >= limit or not decoder.is_finished():
                raise _Malformed("brotli body truncated or inflates past the limit")
            return bytes(out)
        except (zlib.error, brotli.error) as exc:
            raise _Malformed(f"cannot decompress a version {ver} packet: {exc}") from exc

    def _nested(self, data: bytes, depth: int) -> None:
        if depth > MAX_NESTING:
            raise _Malformed("compressed packets nested too deep")
        offset = 0
        size = len(data)
        while offset < size:
            if size - offset < HEADER_LEN:
                raise _Malformed("truncated packet inside a compressed batch")
            length, header_len, ver, op, _seq = HEADER.unpack_from(data, offset)
            if header_len != HEADER_LEN or length < HEADER_LEN or offset + length > size:
                raise _Malformed("bad packet header inside a compressed batch")
            self._packet(ver, op, data[offset + HEADER_LEN : offset + length], depth)
            offset += length

    def _json(self, body: bytes) -> object:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            self.counters["invalid_utf8"] += 1
            text = body.decode("utf-8", "replace")
        try:
            return json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise _Malformed("message body is not JSON") from exc

    def _message(self, body: bytes) -> None:
        obj = _as_dict(self._json(body))
        cmd = obj.get("cmd")
        if not isinstance(cmd, str):
            raise _Malformed("message without a cmd")
        name = cmd.partition(":")[0]  # old servers sent "DANMU_MSG:4:0:2:2:2:0"
        raw = body.decode("utf-8", "replace") if self._keep_raw else None
        try:
            if name == "DANMU_MSG":
                self._events.append(self._danmu(obj, raw))
            elif name == "SUPER_CHAT_MESSAGE":
                self._events.append(self._super_chat(obj, raw))
            elif name == "SUPER_CHAT_MESSAGE_DELETE":
                self._sc_delete(obj)
            elif name == "LIVE":
                self._events.append(RoomStateEvent(live=True, cmd=name))
            elif name == "PREPARING":
                self._events.append(RoomStateEvent(live=False, cmd=name))
            else:
                self.counters["unknown_cmd"] += 1
        except (IndexError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _Malformed(f"{name} without the expected fields") from exc

    # -- normalization --------------------------------------------------------------------

    def _danmu(self, obj: dict[str, Any], raw: str | None) -> ChatMessage:
        """``info[0]`` metadata (``[4]`` ms timestamp, ``[15].extra`` JSON with ``id_str``),
        ``info[1]`` text, ``info[2]`` ``[uid, name, is_admin, ...]``, ``info[9]`` ``{ts, ct}``."""
        info = _as_list(obj.get("info"))
        meta = _as_list(info[0])
        text = info[1]
        user = _as_list(info[2])
        if not isinstance(text, str) or not isinstance(user[1], str):
            raise _Malformed("DANMU_MSG text or name is not a string")
        uid = _as_int(user[0])
        name: str = user[1]
        extra: dict[str, Any] = {}
        if len(meta) > 15 and isinstance(meta[15], dict):
            raw_extra = meta[15].get("extra")
            if isinstance(raw_extra, str) and raw_extra:
                try:
                    parsed = json.loads(raw_extra)
                except ValueError:
                    parsed = None
                if isinstance(parsed, dict):
                    extra = parsed
        ts_ms = _as_int(meta[4]) if len(meta) > 4 else 0
        if ts_ms <= 0 and len(info) > 9 and isinstance(info[9], dict):
            ts_ms = _as_int(info[9].get("ts")) * 1000
        sent_at = ts_ms / 1000.0 if ts_ms > 0 else self._now
        id_str = extra.get("id_str")
        message_id = (
            id_str
            if isinstance(id_str, str) and id_str
            else str(obj["msg_id"])
            if obj.get("msg_id")
            else "h:"
            + hashlib.sha1(
                f"{uid}|{name}|{ts_ms}|{meta[5] if len(meta) > 5 else ''}|{text}".encode()
            ).hexdigest()[:20]
        )
        if uid > 0:
            author_id = str(uid)
        else:  # hidden uid: the crc32 user hash still tells authors apart
            user_hash = extra.get("user_hash") or (meta[7] if len(meta) > 7 else "")
            author_id = f"hash:{user_hash}" if user_hash else ""
            if "*" in name and not self.names_masked:
                self.names_masked = True
                self._events.append(NamesMaskedEvent())
        if self.host_uid is not None and uid == self.host_uid and uid > 0:
            role = Role.HOST
        elif uid > 0 and _as_int(user[2]) == 1:
            role = Role.MODERATOR
        else:
            role = Role.VIEWER
        reply_name = extra.get("reply_uname")
        reply_to_author = reply_name if isinstance(reply_name, str) and reply_name else None
        mentions = dict.fromkeys(_MENTION_RE.findall(text))
        if reply_to_author:
            mentions = {reply_to_author: None, **mentions}
        return ChatMessage(
            platform=self.platform,
            stream_id=self.stream_id,
            message_id=message_id,
            author_id=author_id,
            display_name=name,
            role=role,
            text=text,
            sent_at=sent_at,
            received_at=self._now,
            reply_to_author=reply_to_author,
            mentions=tuple(mentions),
            raw=raw,
        )

    def _super_chat(self, obj: dict[str, Any], raw: str | None) -> ChatMessage:
        """``data``: ``id``, ``uid``, ``message``, ``price`` (yuan), ``start_time``/``ts``,
        ``user_info.uname`` and ``user_info.manager``."""
        data = _as_dict(obj.get("data"))
        user_info = _as_dict(data.get("user_info") or {})
        message = data["message"]
        uname = user_info.get("uname", "")
        if not isinstance(message, str) or not isinstance(uname, str) or data.get("id") is None:
            raise _Malformed("SUPER_CHAT_MESSAGE without id, message or uname")
        uid = _as_int(data.get("uid"))
        ts = _as_int(data.get("start_time")) or _as_int(data.get("ts"))
        price = data.get("price")
        if self.host_uid is not None and uid == self.host_uid and uid > 0:
            role = Role.HOST
        elif _as_int(user_info.get("manager")) == 1:
            role = Role.MODERATOR
        else:
            role = Role.VIEWER
        return ChatMessage(
            platform=self.platform,
            stream_id=self.stream_id,
            message_id=f"sc:{data['id']}",
            author_id=str(uid) if uid > 0 else "",
            display_name=uname,
            role=role,
            text=message,
            sent_at=float(ts) if ts > 0 else self._now,
            received_at=self._now,
            kind=MessageKind.PAID,
            mentions=tuple(dict.fromkeys(_MENTION_RE.findall(message))),
            amount=f"¥{price}" if isinstance(price, int | float) else None,
            raw=raw,
        )

    def _sc_delete(self, obj: dict[str, Any]) -> None:
        data = _as_dict(obj.get("data"))
        for sc_id in _as_list(data.get("ids")):
            self._events.append(
                MessageDeleted(
                    platform=self.platform,
                    stream_id=self.stream_id,
                    at=self._now,
                    message_id=f"sc:{sc_id}",
                    reason="super chat removed",
                )
            )


def parse_packets(data: bytes) -> list[tuple[int, int, bytes]]:
    """Split whole packets ``(version, operation, body)``; raises :class:`ProtocolError`.

    For tests and tools that read packets a client sent (auth, heartbeat).
    """
    out: list[tuple[int, int, bytes]] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < HEADER_LEN:
            raise ProtocolError("truncated packet header")
        length, header_len, ver, op, _seq = HEADER.unpack_from(data, offset)
        if header_len != HEADER_LEN or length < HEADER_LEN or offset + length > len(data):
            raise ProtocolError("bad packet header")
        out.append((ver, op, data[offset + HEADER_LEN : offset + length]))
        offset += length
    return out
