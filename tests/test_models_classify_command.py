"""``streamwatch classify``: plain text and JSON lines, bad lines counted, stdin, model errors."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from streamwatch.models import classify_command
from tests.models_support import tiny_converted, tiny_heads_dir


class _Stdout:
    def __init__(self) -> None:
        self.buffer = io.BytesIO()


def _run(
    argv: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: bytes | None = None,
) -> tuple[int, list[dict[str, object]], str]:
    out = _Stdout()
    monkeypatch.setattr(sys, "stdout", out)
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = classify_command.main(argv)
    lines = out.buffer.getvalue().decode("utf-8").splitlines()
    return code, [json.loads(x) for x in lines], capsys.readouterr().err


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cmd")
    return tiny_heads_dir(tmp, encoder=str(tiny_converted(tmp)))


def test_plain_text_file_with_bad_lines(
    tmp_path: Path,
    tiny_model: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "chat.txt"
    path.write_bytes(b"price pls?\n\nis it fake\n\xff\xfe broken\r\n<s>hello</s>\n")
    code, records, err = _run(
        [str(path), "--model", str(tiny_model), "--with-text"], monkeypatch, capsys
    )
    assert code == 0
    assert [r["line"] for r in records] == [1, 3, 5]
    assert [r["text"] for r in records] == ["price pls?", "is it fake", "<s>hello</s>"]
    for r in records:
        assert set(r) >= {
            "is_question",
            "question_score",
            "sentiment",
            "sentiment_scores",
            "distrust",
            "distrust_score",
            "topic",
            "topic_score",
            "lang",
            "model",
        }
        scores = r["sentiment_scores"]
        assert isinstance(scores, dict) and set(scores) == {"neg", "neu", "pos"}
    assert "line 4: skipped: invalid UTF-8" in err and "skipped 1 bad lines" in err


def test_jsonl_keeps_ids_and_reports_bad_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        json.dumps({"id": "a1", "text": "how much?"}),
        "{broken json",
        json.dumps({"id": 7, "message": "no text field"}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"text": "安全吗 骗子"}),
        json.dumps({"id": {"nested": 1}, "text": 42}),
    ]
    path = tmp_path / "chat.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, records, err = _run([str(path), "--model", "baseline"], monkeypatch, capsys)
    assert code == 0
    assert [(r.get("id"), r["line"]) for r in records] == [("a1", 1), (None, 5)]
    assert records[0]["is_question"] is True
    assert "line 2: skipped: invalid JSON" in err
    assert "line 3: skipped: no string 'text' field" in err
    assert "line 4: skipped: not a JSON object" in err
    assert "line 6: skipped: no string 'text' field" in err
    assert "skipped 4 bad lines" in err


def test_reads_stdin_in_batches(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = "".join(f"message number {i}?\n" for i in range(7)).encode()
    code, records, _ = _run(
        ["--model", "baseline", "--batch", "3"], monkeypatch, capsys, stdin=data
    )
    assert code == 0 and [r["line"] for r in records] == list(range(1, 8))


def test_missing_file_and_bad_model_are_clear_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, records, err = _run(
        [str(tmp_path / "nope.txt"), "--model", "baseline"], monkeypatch, capsys
    )
    assert code == 3 and records == [] and err.startswith("error: input:")
    (tmp_path / "x.txt").write_text("hi\n")
    code, _, err = _run([str(tmp_path / "x.txt"), "--model", str(tmp_path)], monkeypatch, capsys)
    assert code == 5 and err.startswith("error: model:")


def test_expected_languages_restrict_language_id(
    tmp_path: Path,
    tiny_model: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "chat.txt"
    path.write_text("kas saadate Eestisse\n这个多少钱\nราคาเท่าไหร่คะ\n", "utf-8")
    for model in (str(tiny_model), "baseline"):
        code, everywhere, _ = _run([str(path), "--model", model], monkeypatch, capsys)
        assert code == 0 and everywhere[1]["lang"] == "zh"
        code, records, _ = _run(
            [str(path), "--model", model, "--languages", "et,ru"], monkeypatch, capsys
        )
        # neither Chinese nor Thai is expected in this stream
        assert code == 0 and [r["lang"] for r in records] == ["et", "und", "und"]


def test_unknown_expected_language_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.txt").write_text("hi\n")
    code, records, err = _run(
        [str(tmp_path / "x.txt"), "--model", "baseline", "--languages", "et,xx"],
        monkeypatch,
        capsys,
    )
    assert code == 2 and records == []
    assert err.startswith("error: configuration:") and "'xx'" in err


def test_terminal_escapes_never_reach_the_output_raw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.txt"
    path.write_text("\x1b[2J\x1b[31mred alert\n", encoding="utf-8")
    out = _Stdout()
    monkeypatch.setattr(sys, "stdout", out)
    assert classify_command.main([str(path), "--model", "baseline", "--with-text"]) == 0
    raw = out.buffer.getvalue()
    assert b"\x1b" not in raw and b"\\u001b" in raw
