from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from streamwatch.errors import JournalError, SessionNotFound
from streamwatch.events import (
    ActionKind,
    ClassifiedMessage,
    HostAction,
    InputSkipped,
    PipelineStats,
)
from streamwatch.journal import JOURNAL_FILE, Journal
from streamwatch.models.baseline import BaselineClassifier

from .conftest import msg


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    session = journal.start_session("test", ["test:s"], "baseline")
    m = msg("真皮吗? [bold]x[/bold]", mid="id-7", reply_to="id-1", mentions=("ann",))
    classified = ClassifiedMessage(m, BaselineClassifier().predict([m.text])[0], "c00001")
    unclassified = ClassifiedMessage(msg("later", mid="id-8"), None)
    written = journal.write(
        session,
        [
            classified,
            HostAction(ActionKind.PIN, "c00001", 5.0),
            unclassified,
            InputSkipped("file:x", "line 3", "not JSON", 6.0),
            PipelineStats(at=7.0),
        ],
    )
    assert written == 2
    assert list(journal.iter_messages(session)) == [classified, unclassified]
    kinds = [kind for _, kind, _ in journal.iter_events(session)]
    assert kinds == ["action", "skipped"]
    journal.end_session(session, PipelineStats(at=8.0, received=2))
    (info,) = journal.sessions()
    assert info.status == "ended" and info.messages == 2
    journal.close()


def test_file_is_private_and_schema_versioned(tmp_path: Path) -> None:
    Journal.in_dir(tmp_path).close()
    path = tmp_path / JOURNAL_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("1",)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="newer streamwatch"):
        Journal.in_dir(tmp_path)


def test_session_lookup_by_prefix_and_last(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    with pytest.raises(SessionNotFound):
        journal.resolve("last")
    first = journal.start_session("a", [], "m")
    second = journal.start_session("b", [], "m")
    assert journal.resolve("last").id == second
    assert journal.resolve(first).id == first
    with pytest.raises(SessionNotFound, match="matches 2"):
        journal.resolve(first[:8])
    journal.close()


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(JournalError, match="cannot open the journal"):
        Journal.in_dir(blocker / "sub")


def test_purge_deletes_old_finished_sessions_only(tmp_path: Path) -> None:
    journal = Journal.in_dir(tmp_path)
    finished = journal.start_session("old", [], "m")
    journal.write(finished, [ClassifiedMessage(msg("hi", mid="a"), None)])
    journal.end_session(finished, None)
    running = journal.start_session("live", [], "m")  # this process is alive: kept
    assert journal.purge(started_before=float("inf")) == 1
    assert [s.id for s in journal.sessions()] == [running]
    assert list(journal.iter_messages(finished)) == []
    journal.close()
