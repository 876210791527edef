"""Real subprocesses: kill -9 loses nothing acknowledged; Ctrl-C and SIGTERM drain and flush."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streamwatch.journal import JOURNAL_FILE

pytestmark = pytest.mark.slow

PROGRESS = re.compile(r"progress: received=(\d+) journaled=(\d+)")


def _chat(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            row = {
                "ts": 1_700_000_000 + i * 0.01,
                "user": f"u{i % 50}",
                "text": f"price for size {i % 9}?",
                "id": f"k{i}",
            }
            fh.write(json.dumps(row) + "\n")
    return path


def _start(tmp_path: Path, chat: Path, speed: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "streamwatch.cli", "replay", str(chat), "--headless", "--model", "baseline",
         "--speed", speed, "--data-dir", str(tmp_path / "d")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def _wait_progress(proc: subprocess.Popen[str], at_least: int) -> tuple[str, int]:
    assert proc.stderr is not None
    session = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        if line.startswith("session: "):
            session = line.split()[1]
        match = PROGRESS.search(line)
        if match and int(match.group(2)) >= at_least:
            return session, int(match.group(2))
    raise AssertionError("no progress line from the replay")


def _rows(tmp_path: Path, session: str) -> list[str]:
    db = sqlite3.connect(tmp_path / "d" / JOURNAL_FILE)
    try:
        return [
            r[0]
            for r in db.execute(
                "SELECT message_id FROM messages WHERE session_id=? ORDER BY seq", (session,)
            )
        ]
    finally:
        db.close()


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    chat = _chat(tmp_path / "chat.jsonl", 20_000)
    proc = _start(tmp_path, chat, speed="5")  # 200 s of chat at 5x: still running when killed
    session, acked = _wait_progress(proc, at_least=50)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    ids = _rows(tmp_path, session)
    assert len(ids) >= acked > 0
    assert ids == [f"k{i}" for i in range(len(ids))]  # in order, no gap, no duplicate
    # The journal is still usable, and lists the session as interrupted.
    listing = subprocess.run(
        [sys.executable, "-m", "streamwatch.cli", "sessions", "--json", "--data-dir", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    (info,) = json.loads(listing.stdout)
    assert info["status"] == "interrupted"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_drain_and_flush_within_2_s(tmp_path: Path, sig: signal.Signals) -> None:
    chat = _chat(tmp_path / "chat.jsonl", 20_000)
    proc = _start(tmp_path, chat, speed="5")
    session, _ = _wait_progress(proc, at_least=20)
    sent = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=10)
    elapsed = time.monotonic() - sent
    assert proc.returncode == 0, err
    assert elapsed < 2.5  # 2 s drain budget plus interpreter exit
    assert out.strip().splitlines()[-1] == session
    received = int(re.search(r"messages: (\d+) received", out).group(1))  # type: ignore[union-attr]
    assert len(_rows(tmp_path, session)) == received
    listing = subprocess.run(
        [sys.executable, "-m", "streamwatch.cli", "sessions", "--json", "--data-dir", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert json.loads(listing.stdout)[0]["status"] == "ended"
