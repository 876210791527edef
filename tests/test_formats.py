from __future__ import annotations

import json
from pathlib import Path

import pytest

from streamwatch.errors import InputFormatError
from streamwatch.events import ChatMessage, InputSkipped, MessageKind, Role
from streamwatch.formats import FileOptions, parse_mapping, parse_timestamp, read_chat_file


def _read(path: Path, **kw: object) -> tuple[list[ChatMessage], list[InputSkipped]]:
    items = list(read_chat_file(path, FileOptions(**kw)))  # type: ignore[arg-type]
    return (
        [i for i in items if isinstance(i, ChatMessage)],
        [i for i in items if isinstance(i, InputSkipped)],
    )


def test_timestamps_in_every_unit_agree() -> None:
    iso = parse_timestamp("2026-11-14T12:00:03.250Z")
    assert parse_timestamp(iso) == iso
    assert parse_timestamp(iso * 1000) == pytest.approx(iso)
    assert parse_timestamp(iso * 1_000_000) == pytest.approx(iso)
    assert parse_timestamp("2026-11-14T20:00:03.250+08:00") == iso
    assert parse_timestamp("2026-11-14T12:00:03.250") == iso  # naive means UTC


def test_jsonl_reports_bad_lines_with_numbers_and_keeps_the_rest(tmp_path: Path) -> None:
    good = {
        "ts": "2026-11-14T12:00:00Z",
        "user": "ann",
        "role": "viewer",
        "text": "price pls",
        "id": "x-1",
    }
    lines = [
        json.dumps(good).encode(),
        b"{not json",
        b'["a list"]',
        json.dumps({**good, "text": ""}).encode(),
        json.dumps({**good, "role": "wizard"}).encode(),
        json.dumps({**good, "ts": "yesterday"}).encode(),
        b'{"ts": 1, "user": "b", "text": "\xff\xfe bad utf8"}',
        json.dumps({**good, "text": "x" * (1 << 20)}).encode(),
        b"",
        json.dumps(
            {**good, "id": "x-2", "text": "[bold]free[/bold] <s> \x1b[31m", "lang": "en"}
        ).encode(),
    ]
    path = tmp_path / "chat.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    messages, skipped = _read(path)
    assert [m.message_id for m in messages] == ["x-1", "x-2"]
    assert messages[1].text == "[bold]free[/bold] <s> \x1b[31m"  # kept verbatim, never interpreted
    assert messages[1].lang_hint == "en"
    where = {s.where: s.reason for s in skipped}
    assert set(where) == {"line 2", "line 3", "line 4", "line 5", "line 6", "line 7", "line 8"}
    assert "not JSON" in where["line 2"]
    assert "invalid UTF-8" in where["line 7"]
    assert "1 MiB" in where["line 8"]


def test_jsonl_without_ids_gets_stable_ids(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"ts": 1700000000, "user": "a", "text": "hi"}\n', encoding="utf-8")
    first, _ = _read(path)
    again, _ = _read(path)
    assert first[0].message_id == again[0].message_id
    assert first[0].role is Role.VIEWER and first[0].stream_id == "c"


def test_csv_with_mapping_guessing_and_broken_rows(tmp_path: Path) -> None:
    path = tmp_path / "yt.csv"
    path.write_bytes(
        b"row,video_id,published_at,message\n"
        b"0,vid,2025-03-31T17:45:40.382224+08:00,hello\n"
        b"1,vid,not-a-time,broken\n"
        b"2,vid\n"
        b'3,vid,2025-03-31T17:45:41+08:00,"multi\nline"\n'
        b"4,vid,2025-03-31T17:45:42+08:00,\xff\xfe\n"
        b"5,vid,2025-03-31T17:45:43+08:00,ok again\n"
    )
    mapped, skipped = _read(
        path, mapping=parse_mapping("ts=published_at,text=message,id=row,stream=video_id")
    )
    assert [m.message_id for m in mapped] == ["0", "3", "5"]
    assert mapped[1].text == "multi\nline"
    assert mapped[0].stream_id == "vid"
    assert {s.where for s in skipped} == {"line 3", "line 4", "line 7"}
    guessed, _ = _read(path)  # published_at/message/row/video_id are recognised without a mapping
    assert [m.message_id for m in guessed] == ["0", "3", "5"]


def test_csv_mapping_errors_are_clear(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="no column for 'ts'"):
        list(read_chat_file(path))
    with pytest.raises(InputFormatError, match="no column 'nope'"):
        list(read_chat_file(path, FileOptions(mapping={"ts": "nope", "text": "b"})))
    with pytest.raises(InputFormatError, match="unknown field"):
        parse_mapping("when=a")


def _downloader_item(i: int, **extra: object) -> dict[str, object]:
    item: dict[str, object] = {
        "action_type": "add_chat_item",
        "author": {"id": f"UC{i}", "name": f"user{i}", "badges": []},
        "message": f"message {i}",
        "message_id": f"id{i}",
        "message_type": "text_message",
        "time_in_seconds": i,
        "timestamp": 1_700_000_000_000_000 + i * 1_000_000,
    }
    item.update(extra)
    return item


def test_chat_downloader_json_roles_paid_and_truncation(tmp_path: Path) -> None:
    items = [
        _downloader_item(0, author={"id": "UCo", "name": "Shop", "badges": [{"title": "Owner"}]}),
        _downloader_item(
            1, author={"id": "UCm", "name": "Mod", "badges": [{"title": "Moderator"}]}
        ),
        _downloader_item(2, message_type="paid_message", money={"text": "$5.00"}),
        _downloader_item(3),
    ]
    full = tmp_path / "chat.json"
    full.write_text(json.dumps(items, indent=2), encoding="utf-8")
    messages, skipped = _read(full)
    assert [m.role for m in messages] == [Role.HOST, Role.MODERATOR, Role.VIEWER, Role.VIEWER]
    assert messages[2].kind is MessageKind.PAID and messages[2].amount == "$5.00"
    assert messages[3].sent_at == pytest.approx(1_700_000_003.0)
    assert not skipped
    truncated = tmp_path / "cut.json"
    text = json.dumps(items, indent=2)
    truncated.write_text(text[: text.index('"id3"')], encoding="utf-8")
    messages, skipped = _read(truncated)
    assert [m.message_id for m in messages] == ["id0", "id1", "id2"]
    assert len(skipped) == 1 and "rest of the file" in skipped[0].reason


def test_unrecognised_and_missing_files(tmp_path: Path) -> None:
    odd = tmp_path / "chat.txt"
    odd.write_text("just words\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="cannot tell the format"):
        list(read_chat_file(odd))
    with pytest.raises(InputFormatError, match="cannot read"):
        list(read_chat_file(tmp_path / "missing.json"))
