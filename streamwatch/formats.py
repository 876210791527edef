"""Chat file formats that ``replay``, ``demo`` and the ``file:`` source read.

* **Generic JSONL** (``.jsonl``/``.ndjson``): one object per line with ``ts`` (ISO 8601, or epoch
  seconds/milliseconds/microseconds as a number), ``user``, ``role``
  (viewer/host/moderator/system) and ``text``; optional ``platform``, ``id``, ``lang``,
  ``user_id``, ``reply_to``, ``stream``.
* **CSV** (``.csv``) with a column mapping ``field=column,...`` over the same field names; without
  one, common column names are recognised (``published_at`` as ``ts``, ``message`` as ``text``...).
* **chat-downloader JSON** (``.json``): the array that ``chat_downloader --output x.json`` writes.

Readers are generators of :class:`~streamwatch.events.ChatMessage` and
:class:`~streamwatch.events.InputSkipped`: a bad row is reported with its line number and skipped,
the rest goes through. Only a file that cannot be opened or recognised at all raises
:class:`~streamwatch.errors.InputFormatError`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streamwatch.errors import InputFormatError
from streamwatch.events import ChatMessage, InputSkipped, MessageKind, Role

MAX_LINE_BYTES = 1 << 20
"""A row longer than this (1 MiB) is skipped: no chat platform sends messages that long."""
FIELDS = ("ts", "user", "role", "text", "platform", "id", "lang", "user_id", "reply_to", "stream")
_CSV_GUESSES: dict[str, tuple[str, ...]] = {
    "ts": ("ts", "timestamp", "time", "published_at", "created_at", "date", "datetime"),
    "user": ("user", "author", "username", "user_name", "name", "display_name", "nickname"),
    "role": ("role",),
    "text": ("text", "message", "content", "comment", "body", "msg"),
    "platform": ("platform",),
    "id": ("id", "message_id", "msg_id", "row"),
    "lang": ("lang", "language"),
    "user_id": ("user_id", "author_id", "uid"),
    "reply_to": ("reply_to",),
    "stream": ("stream", "stream_id", "video_id", "channel", "room_id"),
}
_ROLES = {r.value: r for r in Role} | {
    "broadcaster": Role.HOST,
    "owner": Role.HOST,
    "streamer": Role.HOST,
    "mod": Role.MODERATOR,
}


class RowError(ValueError):
    """One row is invalid; the reader turns it into an :class:`InputSkipped`."""


def parse_timestamp(value: Any) -> float:
    """ISO 8601 (naive means UTC) or an epoch number in s, ms or µs -> epoch seconds."""
    if isinstance(value, bool):
        raise RowError("timestamp is a boolean")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError as exc:
                raise RowError(f"unreadable timestamp {text[:40]!r}") from exc
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.timestamp()
    else:
        raise RowError("missing timestamp")
    if number != number or number < 0:
        raise RowError("timestamp is not a positive number")
    if number > 1e14:
        return number / 1e6
    if number > 1e11:
        return number / 1e3
    return number


@dataclass(frozen=True, slots=True)
class FileOptions:
    """How to turn rows into messages."""

    platform: str = "file"
    """Platform recorded for rows that do not name one."""
    stream_id: str = ""
    """Stream id for rows without one; defaults to the file name."""
    mapping: Mapping[str, str] | None = None
    """CSV: our field name -> the file's column name."""
    format: str | None = None
    """``jsonl``, ``csv`` or ``chat-downloader``; guessed from the name and content when None."""


def parse_mapping(text: str) -> dict[str, str]:
    """``"ts=published_at,text=message"`` -> ``{"ts": "published_at", "text": "message"}``."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, column = part.partition("=")
        key = key.strip()
        if not sep or not column.strip():
            raise InputFormatError(f"column mapping {part!r} is not field=column")
        if key not in FIELDS:
            raise InputFormatError(
                f"unknown field {key!r} in column mapping (fields: {', '.join(FIELDS)})"
            )
        mapping[key] = column.strip()
    return mapping


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    try:
        with path.open("rb") as fh:
            head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError as exc:
        raise InputFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if head.startswith(b"["):
        return "chat-downloader"
    if head.startswith(b"{"):
        return "jsonl"
    raise InputFormatError(
        f"cannot tell the format of {path}: use .jsonl, .csv or chat-downloader .json"
    )


def _stable_id(stream: str, where: int, text: str) -> str:
    digest = hashlib.blake2s(f"{stream}\x00{where}\x00{text}".encode(), digest_size=6).hexdigest()
    return f"{where}-{digest}"


def row_to_message(
    row: Mapping[str, Any], line: int, opts: FileOptions, received: float
) -> ChatMessage:
    """Validate one generic row (already mapped to our field names)."""
    text = row.get("text")
    if not isinstance(text, str):
        raise RowError("missing text")
    if not text.strip():
        raise RowError("empty text")
    role_value = row.get("role") or "viewer"
    role = _ROLES.get(str(role_value).strip().lower())
    if role is None:
        raise RowError(f"unknown role {str(role_value)[:20]!r}")
    user = row.get("user")
    user = "" if user is None else str(user)
    stream = str(row.get("stream") or opts.stream_id)
    raw_id = row.get("id")
    message_id = str(raw_id) if raw_id not in (None, "") else _stable_id(stream, line, text)
    user_id = row.get("user_id")
    reply_to = row.get("reply_to")
    lang = row.get("lang")
    return ChatMessage(
        platform=str(row.get("platform") or opts.platform),
        stream_id=stream,
        message_id=message_id,
        author_id=str(user_id) if user_id not in (None, "") else user,
        display_name=user,
        role=role,
        text=text,
        sent_at=parse_timestamp(row.get("ts")),
        received_at=received,
        reply_to=str(reply_to) if reply_to not in (None, "") else None,
        lang_hint=str(lang) if lang else None,
    )


def read_chat_file(
    path: Path, opts: FileOptions | None = None
) -> Generator[ChatMessage | InputSkipped, None, None]:
    """Yield the messages of a chat file, and an :class:`InputSkipped` for each bad row."""
    opts = opts or FileOptions()
    if not opts.stream_id:
        opts = FileOptions(opts.platform, path.stem, opts.mapping, opts.format)
    fmt = opts.format or detect_format(path)
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputFormatError(f"cannot open {path}: {exc.strerror or exc}") from exc
    with fh:
        if fmt == "jsonl":
            yield from _read_jsonl(fh, path, opts)
        elif fmt == "csv":
            yield from _read_csv(fh, path, opts)
        elif fmt == "chat-downloader":
            yield from _read_chat_downloader(fh, path, opts)
        else:
            raise InputFormatError(f"unknown format {fmt!r} (jsonl, csv, chat-downloader)")


def _skip(path: Path, line: int, reason: str) -> InputSkipped:
    return InputSkipped(
        source=f"file:{path.name}", where=f"line {line}", reason=reason, at=time.time()
    )


def _read_jsonl(
    fh: io.BufferedReader, path: Path, opts: FileOptions
) -> Iterator[ChatMessage | InputSkipped]:
    for number, raw in enumerate(fh, start=1):
        if len(raw) > MAX_LINE_BYTES:
            yield _skip(path, number, f"line is {len(raw):,} bytes, over the 1 MiB limit")
            continue
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield _skip(path, number, f"invalid UTF-8 at byte {exc.start}")
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield _skip(path, number, f"not JSON: {exc.msg}")
            continue
        if not isinstance(row, dict):
            yield _skip(path, number, "not a JSON object")
            continue
        try:
            yield row_to_message(row, number, opts, time.time())
        except RowError as exc:
            yield _skip(path, number, str(exc))


def _guess_mapping(header: list[str]) -> dict[str, str]:
    lowered = {h.strip().lower(): h for h in header}
    mapping: dict[str, str] = {}
    for field_name, names in _CSV_GUESSES.items():
        for name in names:
            if name in lowered:
                mapping[field_name] = lowered[name]
                break
    return mapping


def _read_csv(
    fh: io.BufferedReader, path: Path, opts: FileOptions
) -> Iterator[ChatMessage | InputSkipped]:
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="surrogateescape", newline="")
    dialect: type[csv.Dialect] = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    csv.field_size_limit(MAX_LINE_BYTES)
    reader = csv.reader(text, dialect)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise InputFormatError(f"{path}: unreadable CSV header: {exc}") from exc
    mapping = dict(opts.mapping) if opts.mapping else _guess_mapping(header)
    missing = [c for c in mapping.values() if c not in header]
    if missing:
        raise InputFormatError(
            f"{path}: no column {missing[0]!r} (columns: {', '.join(header)[:200]})"
        )
    for needed in ("ts", "text"):
        if needed not in mapping:
            raise InputFormatError(
                f"{path}: no column for {needed!r}; give a mapping such as --map {needed}=COLUMN"
            )
    positions = {field_name: header.index(column) for field_name, column in mapping.items()}
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _skip(path, start, f"bad CSV row: {exc}")
            continue
        if not cells:
            continue
        if len(cells) < len(header):
            yield _skip(path, start, f"{len(cells)} columns, expected {len(header)}")
            continue
        row = {f: cells[i] for f, i in positions.items()}
        if any("\udc80" <= ch <= "\udcff" for value in row.values() for ch in value):
            yield _skip(path, start, "invalid UTF-8")
            continue
        try:
            yield row_to_message(row, start, opts, time.time())
        except RowError as exc:
            yield _skip(path, start, str(exc))


def _downloader_row(item: Mapping[str, Any]) -> dict[str, Any]:
    author = item.get("author") if isinstance(item.get("author"), dict) else {}
    assert isinstance(author, dict)
    badges = author.get("badges") or []
    titles = " ".join(
        str(b.get("title", "")) + " " + str(b.get("name", ""))
        for b in badges
        if isinstance(b, dict)
    ).lower()
    role = "viewer"
    if "owner" in titles or "broadcaster" in titles:
        role = "host"
    elif "moderator" in titles:
        role = "moderator"
    ts = item.get("timestamp")
    if ts is None and isinstance(item.get("time_in_seconds"), int | float):
        ts = item["time_in_seconds"]
    return {
        "ts": ts,
        "text": item.get("message"),
        "user": author.get("name") or author.get("display_name"),
        "user_id": author.get("id"),
        "role": role,
        "id": item.get("message_id"),
    }


def _read_chat_downloader(
    fh: io.BufferedReader, path: Path, opts: FileOptions
) -> Iterator[ChatMessage | InputSkipped]:
    """Parse the array item by item, so a truncated file still yields what it holds."""
    data = fh.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        yield _skip(path, 1, "invalid UTF-8 replaced with U+FFFD")
    decoder = json.JSONDecoder()
    pos = text.find("[")
    if pos < 0:
        raise InputFormatError(f"{path}: not a chat-downloader JSON array")
    pos += 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text):
            yield _skip(
                path, text.count("\n", 0, pos) + 1, "file ends before the closing ']' (truncated)"
            )
            return
        if text[pos] == "]":
            return
        line = text.count("\n", 0, pos) + 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield _skip(path, line, f"unreadable item ({exc.msg}); the rest of the file is skipped")
            return
        if not isinstance(item, dict):
            yield _skip(path, line, "item is not an object")
            continue
        try:
            message = row_to_message(_downloader_row(item), line, opts, time.time())
        except RowError as exc:
            yield _skip(path, line, str(exc))
            continue
        if item.get("message_type") in ("paid_message", "paid_sticker"):
            money = item.get("money")
            amount = str(money.get("text")) if isinstance(money, dict) else None
            message = replace(message, kind=MessageKind.PAID, amount=amount)
        yield message
