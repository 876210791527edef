from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from streamwatch.cli import build_parser, main


def _chat(path: Path, n: int, *, broken: bool = False) -> Path:
    lines = [
        json.dumps(
            {
                "ts": 1_700_000_000 + i,
                "user": f"u{i % 7}",
                "role": "viewer",
                "text": f"ship to Canada? {i % 3}",
                "id": f"in-{i}",
            }
        )
        for i in range(n)
    ]
    if broken:
        lines.insert(2, "{broken")
        lines.insert(5, json.dumps({"ts": "never", "user": "x", "text": "hi"}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, out=out)
    return code, out.getvalue()


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    commands = ["demo", "watch", "replay", "sessions", "export"]
    for command in commands:
        with pytest.raises(SystemExit) as exc:
            parser.parse_args([command, "--help"])
        assert exc.value.code == 0
        assert "--data-dir" in capsys.readouterr().out


def test_replay_headless_keeps_ids_and_prints_session_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chat = _chat(tmp_path / "chat.jsonl", 40, broken=True)
    code, out = _run(
        [
            "replay",
            str(chat),
            "--headless",
            "--model",
            "baseline",
            "--data-dir",
            str(tmp_path / "d"),
        ]
    )
    assert code == 0
    session = out.strip().splitlines()[-1]
    assert "40 received" in out and "2 rows skipped" in out
    err = capsys.readouterr().err
    assert "line 3" in err and "line 6" in err
    code, listing = _run(["sessions", "--json", "--data-dir", str(tmp_path / "d")])
    (info,) = json.loads(listing)
    assert info["id"] == session and info["messages"] == 40 and info["status"] == "ended"
    code, exported = _run(
        ["export", session[:12], "--format", "jsonl", "--data-dir", str(tmp_path / "d")]
    )
    rows = [json.loads(line) for line in exported.splitlines()]
    assert [r["id"] for r in rows] == [f"in-{i}" for i in range(40)]
    assert rows[0]["classification"]["is_question"] is True
    # The export is itself a valid replay input, and ids survive a second round trip.
    again = tmp_path / "again.jsonl"
    again.write_text(exported, encoding="utf-8")
    code, out2 = _run(
        [
            "replay",
            str(again),
            "--headless",
            "--model",
            "baseline",
            "--data-dir",
            str(tmp_path / "d"),
        ]
    )
    assert code == 0 and "40 received" in out2 and "0 rows skipped" in out2


def test_replay_of_a_recorded_session(tmp_path: Path) -> None:
    chat = _chat(tmp_path / "chat.jsonl", 10)
    data = str(tmp_path / "d")
    _, out = _run(["replay", str(chat), "--headless", "--model", "baseline", "--data-dir", data])
    first = out.strip().splitlines()[-1]
    code, out = _run(["replay", first, "--headless", "--model", "baseline", "--data-dir", data])
    assert code == 0 and "10 received" in out
    second = out.strip().splitlines()[-1]
    assert second != first


def test_errors_are_one_line_with_an_exit_code(tmp_path: Path) -> None:
    cases = [
        (
            ["replay", str(tmp_path / "nope.jsonl"), "--headless", "--data-dir", str(tmp_path)],
            4,
            "no session",
        ),
        (["export", "missing", "--data-dir", str(tmp_path)], 4, "no session"),
        (
            ["watch", "gopher:hole", "--headless", "--data-dir", str(tmp_path)],
            2,
            "unknown source type",
        ),
        (
            [
                "replay",
                str(_chat(tmp_path / "c.jsonl", 2)),
                "--speed",
                "fast",
                "--data-dir",
                str(tmp_path),
            ],
            2,
            "speed",
        ),
    ]
    for argv, code, text in cases:
        proc = subprocess.run(
            [sys.executable, "-m", "streamwatch.cli", *argv],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == code, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("streamwatch: error:") and text in lines[0]
        assert "Traceback" not in proc.stderr


def test_expected_languages_reach_the_recorded_classifications(tmp_path: Path) -> None:
    chat = tmp_path / "chat.jsonl"
    texts = ["kas saadate Eestisse?", "это оригинал?", "这个多少钱"]
    chat.write_text(
        "".join(
            json.dumps({"ts": 1_700_000_000 + i, "user": "u", "text": t, "id": f"m{i}"}) + "\n"
            for i, t in enumerate(texts)
        ),
        encoding="utf-8",
    )
    data = str(tmp_path / "d")
    argv = ["replay", str(chat), "--headless", "--model", "baseline", "--data-dir", data]
    code, out = _run([*argv, "--languages", "et,ru"])
    assert code == 0
    code, exported = _run(["export", out.strip().splitlines()[-1], "--data-dir", data])
    langs = [json.loads(line)["lang"] for line in exported.splitlines()]
    assert langs == ["et", "ru", "und"]
    code, _ = _run([*argv, "--languages", "klingon"])
    assert code == 2
    code, listing = _run(["sessions", "--json", "--data-dir", data])
    assert len(json.loads(listing)) == 1  # the refused run recorded nothing


def test_csv_needs_a_mapping_when_columns_are_unusual(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("when,what\n2026-01-01T00:00:00Z,hi\n", encoding="utf-8")
    code, _ = _run(
        ["replay", str(path), "--headless", "--model", "baseline", "--data-dir", str(tmp_path)]
    )
    assert code != 0
    code, out = _run(
        [
            "replay",
            str(path),
            "--map",
            "ts=when,text=what",
            "--headless",
            "--model",
            "baseline",
            "--data-dir",
            str(tmp_path),
        ]
    )
    assert code == 0 and "1 received" in out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_loading_the_classifier_is_announced_on_a_terminal_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terminal: bool
) -> None:
    err = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    argv = ["replay", str(_chat(tmp_path / "chat.jsonl", 3)), "--headless", "--model", "baseline"]
    code, _ = _run([*argv, "--data-dir", str(tmp_path / "d")])
    assert code == 0
    assert ("loading the classifier" in err.getvalue()) is terminal
    assert "session:" in err.getvalue()


def test_a_command_body_error_becomes_one_line_and_its_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from streamwatch.errors import ConfigError, run_command

    def body() -> int:
        raise ConfigError("--speed must be positive")

    assert run_command(body) == 2
    assert capsys.readouterr().err == "error: configuration: --speed must be positive\n"
    assert run_command(lambda: 0) == 0
