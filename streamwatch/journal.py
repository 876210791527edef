"""The session journal: every message, classification, concern change, alert and host action.

One SQLite database in WAL mode (``journal.sqlite3`` in the data directory) holds all sessions.
Each pipeline batch is one transaction; the pipeline counts a message as acknowledged only after
that transaction commits, so a ``kill -9`` loses nothing acknowledged (WAL with
``synchronous=NORMAL`` is durable against a process crash; ``--durable`` selects ``FULL`` for
power loss too, at the cost of an fsync per batch).

Tables: ``meta`` (``schema_version``), ``sessions``, ``messages`` (one row per chat message with
its classification inline) and ``events`` (concern updates, alerts, host actions, source status,
skipped input, deletions as JSON). ``seq`` orders rows of one session across both tables.
The database file is created readable by its owner only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streamwatch.errors import JournalError, SessionNotFound
from streamwatch.events import (
    AlertEvent,
    ChatMessage,
    Classification,
    ClassifiedMessage,
    ConcernUpdate,
    HostAction,
    InputSkipped,
    MessageDeleted,
    MessageKind,
    OutputEvent,
    PipelineStats,
    Role,
    Sentiment,
    SourceStatus,
    Topic,
)

SCHEMA_VERSION = 1
JOURNAL_FILE = "journal.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    ended_at REAL,
    command TEXT NOT NULL,
    sources TEXT NOT NULL,
    model TEXT NOT NULL,
    pid INTEGER,
    status TEXT NOT NULL,
    stats TEXT
);
CREATE TABLE IF NOT EXISTS messages (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    platform TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    author_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    sent_at REAL NOT NULL,
    received_at REAL NOT NULL,
    reply_to TEXT,
    reply_to_author TEXT,
    mentions TEXT,
    lang_hint TEXT,
    amount TEXT,
    raw TEXT,
    is_question INTEGER,
    question_score REAL,
    sentiment TEXT,
    sentiment_scores TEXT,
    distrust INTEGER,
    distrust_score REAL,
    topic TEXT,
    topic_score REAL,
    lang TEXT,
    model TEXT,
    concern_id TEXT,
    PRIMARY KEY (session_id, seq)
);
CREATE INDEX IF NOT EXISTS messages_by_id ON messages (session_id, message_id);
CREATE TABLE IF NOT EXISTS events (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
"""

_EVENT_KINDS: dict[type[Any], str] = {
    ConcernUpdate: "concern",
    AlertEvent: "alert",
    HostAction: "action",
    SourceStatus: "status",
    InputSkipped: "skipped",
    MessageDeleted: "deleted",
}


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str
    started_at: float
    ended_at: float | None
    command: str
    sources: tuple[str, ...]
    model: str
    status: str
    """``running``, ``ended``, or ``interrupted`` (its process is gone without ending it)."""
    messages: int

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"sources": list(self.sources)}


def default_data_dir() -> Path:
    """``$STREAMWATCH_DATA_DIR``, else the XDG data dir (``~/.local/share/streamwatch``)."""
    env = os.environ.get("STREAMWATCH_DATA_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path("streamwatch", appauthor=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def new_session_id(now: float | None = None) -> str:
    stamp = datetime.fromtimestamp(now or time.time(), UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


class Journal:
    """A handle on the journal database; methods are blocking (call them from a thread)."""

    def __init__(self, path: Path, *, durable: bool = False) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"cannot open the journal at {path}: {exc}") from exc
        self._seq: dict[str, int] = {}

    @classmethod
    def in_dir(cls, data_dir: Path | None, *, durable: bool = False) -> Journal:
        return cls((data_dir or default_data_dir()) / JOURNAL_FILE, durable=durable)

    def _migrate(self) -> None:
        row = None
        with contextlib.suppress(sqlite3.OperationalError):
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            raise JournalError(
                f"{self.path} was written by a newer streamwatch"
                f" (schema {row[0]} > {SCHEMA_VERSION})"
            )
        self._db.executescript(_SCHEMA)
        self._db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    # -- sessions ---------------------------------------------------------------------------

    def start_session(self, command: str, sources: Sequence[str], model: str) -> str:
        session_id = new_session_id()
        try:
            self._db.execute(
                "INSERT INTO sessions (id, started_at, command, sources, model, pid, status)"
                " VALUES (?, ?, ?, ?, ?, ?, 'running')",
                (session_id, time.time(), command, json.dumps(list(sources)), model, os.getpid()),
            )
        except sqlite3.Error as exc:
            raise JournalError(f"cannot record a new session: {exc}") from exc
        self._seq[session_id] = 0
        return session_id

    def end_session(self, session_id: str, stats: PipelineStats | None) -> None:
        payload = json.dumps(_jsonable(stats)) if stats is not None else None
        try:
            self._db.execute(
                "UPDATE sessions SET ended_at=?, status='ended', stats=? WHERE id=?",
                (time.time(), payload, session_id),
            )
        except sqlite3.Error as exc:
            raise JournalError(f"cannot close session {session_id}: {exc}") from exc

    def sessions(self) -> list[SessionInfo]:
        rows = self._db.execute(
            "SELECT s.id, s.started_at, s.ended_at, s.command, s.sources, s.model, s.status, s.pid,"
            " (SELECT COUNT(*) FROM messages m WHERE m.session_id = s.id)"
            " FROM sessions s ORDER BY s.started_at"
        ).fetchall()
        out = []
        for sid, started, ended, command, sources, model, status, pid, count in rows:
            if status == "running" and not _pid_alive(pid):
                status = "interrupted"
            out.append(
                SessionInfo(
                    sid, started, ended, command, tuple(json.loads(sources)), model, status, count
                )
            )
        return out

    def purge(self, started_before: float) -> int:
        """Delete sessions (with their messages and events) that started before a time.

        A session still running in a live process is kept. Returns how many were deleted.
        """
        doomed = [
            s.id for s in self.sessions() if s.started_at < started_before and s.status != "running"
        ]
        try:
            self._db.execute("BEGIN")
            for table in ("messages", "events", "sessions"):
                column = "id" if table == "sessions" else "session_id"
                self._db.executemany(
                    f"DELETE FROM {table} WHERE {column}=?", [(sid,) for sid in doomed]
                )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise JournalError(f"cannot delete old sessions: {exc}") from exc
        return len(doomed)

    def resolve(self, ref: str) -> SessionInfo:
        """A session by id, unique id prefix, or ``last``."""
        sessions = self.sessions()
        if ref == "last" and sessions:
            return sessions[-1]
        matches = [s for s in sessions if s.id == ref] or [
            s for s in sessions if s.id.startswith(ref)
        ]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise SessionNotFound(f"no session {ref!r} in {self.path} (see 'streamwatch sessions')")
        raise SessionNotFound(f"{ref!r} matches {len(matches)} sessions; give more of the id")

    # -- writing ----------------------------------------------------------------------------

    def write(self, session_id: str, events: Sequence[OutputEvent]) -> int:
        """Write one batch in one transaction; returns the number of messages written."""
        seq = self._seq.get(session_id)
        if seq is None:
            row = self._db.execute(
                "SELECT MAX(seq) FROM (SELECT seq FROM messages WHERE session_id=?"
                " UNION ALL SELECT seq FROM events WHERE session_id=?)",
                (session_id, session_id),
            ).fetchone()
            seq = int(row[0] or 0)
        message_rows: list[tuple[Any, ...]] = []
        event_rows: list[tuple[Any, ...]] = []
        for event in events:
            if isinstance(event, PipelineStats):
                continue
            seq += 1
            if isinstance(event, ClassifiedMessage):
                message_rows.append(_message_row(session_id, seq, event))
            else:
                kind = _EVENT_KINDS.get(type(event), type(event).__name__)
                at = getattr(event, "at", time.time())
                event_rows.append(
                    (session_id, seq, at, kind, json.dumps(_jsonable(event), ensure_ascii=False))
                )
        try:
            self._db.execute("BEGIN")
            if message_rows:
                self._db.executemany(
                    f"INSERT INTO messages VALUES ({', '.join('?' * 29)})", message_rows
                )
            if event_rows:
                self._db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", event_rows)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise JournalError(f"cannot write to the journal at {self.path}: {exc}") from exc
        self._seq[session_id] = seq
        return len(message_rows)

    # -- reading ----------------------------------------------------------------------------

    def iter_messages(self, session_id: str) -> Iterator[ClassifiedMessage]:
        cursor = self._db.execute(
            "SELECT * FROM messages WHERE session_id=? ORDER BY seq", (session_id,)
        )
        for row in cursor:
            yield _row_to_message(row)

    def iter_events(self, session_id: str) -> Iterator[tuple[float, str, dict[str, Any]]]:
        cursor = self._db.execute(
            "SELECT at, kind, payload FROM events WHERE session_id=? ORDER BY seq", (session_id,)
        )
        for at, kind, payload in cursor:
            yield at, kind, json.loads(payload)


def _message_row(session_id: str, seq: int, item: ClassifiedMessage) -> tuple[Any, ...]:
    m, c = item.message, item.classification
    return (
        session_id, seq, m.platform, m.stream_id, m.message_id, m.author_id, m.display_name,
        m.role.value, m.kind.value, m.text, m.sent_at, m.received_at, m.reply_to,
        m.reply_to_author, json.dumps(list(m.mentions)) if m.mentions else None, m.lang_hint,
        m.amount, m.raw,
        None if c is None else int(c.is_question),
        None if c is None else c.question_score,
        None if c is None else c.sentiment.value,
        None if c is None else json.dumps(list(c.sentiment_scores)),
        None if c is None else int(c.distrust),
        None if c is None else c.distrust_score,
        None if c is None else c.topic.value,
        None if c is None else c.topic_score,
        None if c is None else c.lang,
        None if c is None else c.model,
        item.concern_id,
    )  # fmt: skip


def _row_to_message(row: tuple[Any, ...]) -> ClassifiedMessage:
    (
        _sid, _seq, platform, stream_id, message_id, author_id, display_name, role, kind, text,
        sent_at, received_at, reply_to, reply_to_author, mentions, lang_hint, amount, raw,
        is_question, q_score, sentiment, s_scores, distrust, d_score, topic, t_score, lang, model,
        concern_id,
    ) = row  # fmt: skip
    message = ChatMessage(
        platform=platform,
        stream_id=stream_id,
        message_id=message_id,
        author_id=author_id,
        display_name=display_name,
        role=Role(role),
        text=text,
        sent_at=sent_at,
        received_at=received_at,
        kind=MessageKind(kind),
        reply_to=reply_to,
        reply_to_author=reply_to_author,
        mentions=tuple(json.loads(mentions)) if mentions else (),
        lang_hint=lang_hint,
        amount=amount,
        raw=raw,
    )
    classification = None
    if is_question is not None:
        scores = json.loads(s_scores)
        classification = Classification(
            is_question=bool(is_question),
            question_score=q_score,
            sentiment=Sentiment(sentiment),
            sentiment_scores=(scores[0], scores[1], scores[2]),
            distrust=bool(distrust),
            distrust_score=d_score,
            topic=Topic(topic),
            topic_score=t_score,
            lang=lang,
            model=model,
        )
    return ClassifiedMessage(message, classification, concern_id)


class JournalSink:
    """Pipeline sink that writes each batch to the journal in a worker thread."""

    def __init__(self, journal: Journal, session_id: str) -> None:
        self.journal = journal
        self.session_id = session_id
        self.last_stats: PipelineStats | None = None
        self.written = 0

    async def publish(self, events: Sequence[OutputEvent]) -> None:
        for event in events:
            if isinstance(event, PipelineStats):
                self.last_stats = event
        if all(isinstance(e, PipelineStats) for e in events):
            return
        self.written += await asyncio.to_thread(self.journal.write, self.session_id, events)

    async def close(self) -> None:
        await asyncio.to_thread(self.journal.end_session, self.session_id, self.last_stats)


def iso(ts: float) -> str:
    """Epoch seconds -> ISO 8601 UTC with milliseconds, as the generic JSONL format writes it."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
