"""``streamwatch classify [FILE]``: classify chat messages from a file or stdin, print JSON lines.

Input is either plain text (one message per line) or JSON lines (one object per line with a
string ``text`` field and optionally an ``id``). The format is decided by the first non-blank
line: a JSON object means JSON lines. Output is one JSON object per message, in input order::

    {"line": 3, "id": "m17", "is_question": true, "question_score": 0.98, "sentiment": "neu",
     "sentiment_scores": {"neg": 0.02, "neu": 0.95, "pos": 0.03}, "distrust": false,
     "distrust_score": 0.01, "topic": "shipping", "topic_score": 0.91, "lang": "et",
     "model": "e5-small-chat/1-..."}

Bad lines (invalid UTF-8, invalid JSON or no string ``text`` in JSON-lines mode) are skipped,
reported on stderr with their line numbers and counted; blank lines are ignored. Messages are
classified in batches, so big files stream with bounded memory.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from streamwatch.errors import InputFormatError, StreamwatchError, error_line
from streamwatch.events import Classification
from streamwatch.models.langid import add_languages_option, parse_languages

MAX_REPORTED = 20
"""Bad lines reported one by one on stderr; the rest are only counted."""


@dataclass(frozen=True, slots=True)
class InputMessage:
    line: int
    text: str
    id: Any = None


@dataclass
class BadLines:
    count: int = 0
    reported: int = 0

    def add(self, line: int, reason: str, err: IO[str]) -> None:
        self.count += 1
        if self.reported < MAX_REPORTED:
            self.reported += 1
            print(f"line {line}: skipped: {reason}", file=err)


def parse_lines(raw_lines: Iterable[bytes], bad: BadLines, err: IO[str]) -> Iterator[InputMessage]:
    """Messages from raw input lines (format decided by the first non-blank line)."""
    mode: str | None = None
    for lineno, raw in enumerate(raw_lines, start=1):
        raw = raw.rstrip(b"\r\n")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad.add(lineno, f"invalid UTF-8 at byte {exc.start}", err)
            continue
        if not line.strip():
            continue
        if mode is None:
            mode = "jsonl" if _is_json_object(line) else "text"
        if mode == "text":
            yield InputMessage(lineno, line)
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.add(lineno, f"invalid JSON ({exc.msg} at column {exc.colno})", err)
            continue
        if not isinstance(obj, dict):
            bad.add(lineno, "not a JSON object", err)
            continue
        text = obj.get("text")
        if not isinstance(text, str):
            bad.add(lineno, "no string 'text' field", err)
            continue
        ident = obj.get("id")
        if ident is not None and not isinstance(ident, (str, int, float, bool)):
            ident = json.dumps(ident, ensure_ascii=False, sort_keys=True)
        yield InputMessage(lineno, text, ident)


def _is_json_object(line: str) -> bool:
    stripped = line.lstrip()
    if not stripped.startswith("{"):
        return False
    try:
        return isinstance(json.loads(stripped), dict)
    except json.JSONDecodeError:
        return False


def to_record(msg: InputMessage, c: Classification, with_text: bool) -> dict[str, Any]:
    record: dict[str, Any] = {"line": msg.line}
    if msg.id is not None:
        record["id"] = msg.id
    if with_text:
        record["text"] = msg.text
    neg, neu, pos = c.sentiment_scores
    record.update(
        is_question=c.is_question,
        question_score=round(c.question_score, 4),
        sentiment=c.sentiment.value,
        sentiment_scores={"neg": round(neg, 4), "neu": round(neu, 4), "pos": round(pos, 4)},
        distrust=c.distrust,
        distrust_score=round(c.distrust_score, 4),
        topic=c.topic.value,
        topic_score=round(c.topic_score, 4),
        lang=c.lang,
        model=c.model,
    )
    return record


def _batches(items: Iterable[InputMessage], size: int) -> Iterator[list[InputMessage]]:
    batch: list[InputMessage] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _open_input(path: str | None) -> IO[bytes]:
    if path is None or path == "-":
        return sys.stdin.buffer
    p = Path(path)
    try:
        return p.open("rb")
    except OSError as exc:
        raise InputFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="streamwatch classify",
        description="Classify chat messages (plain text lines or JSON lines with a 'text' field).",
    )
    p.add_argument("file", nargs="?", default=None, help="input file (default: stdin)")
    p.add_argument(
        "--model", default=None, help="default, baseline, a heads folder or an encoder id"
    )
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the model")
    add_languages_option(p)
    p.add_argument("--batch", type=int, default=256, help="messages classified per batch")
    p.add_argument("--with-text", action="store_true", help="include each message's text")
    ns = p.parse_args(argv)
    if ns.batch < 1:
        p.error("--batch must be >= 1")
    return ns


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = sys.stdout.buffer
    err = sys.stderr
    bad = BadLines()
    written = 0
    try:
        from streamwatch.models.loader import load_classifier

        languages = parse_languages(args.languages) if args.languages is not None else None
        source = _open_input(args.file)
        classifier = load_classifier(args.model, threads=args.threads, languages=languages)
        try:
            for batch in _batches(parse_lines(source, bad, err), args.batch):
                results = classifier.predict([m.text for m in batch])
                chunk = "".join(
                    json.dumps(to_record(m, c, args.with_text), ensure_ascii=False) + "\n"
                    for m, c in zip(batch, results, strict=True)
                )
                out.write(chunk.encode("utf-8"))
                out.flush()
                written += len(batch)
        finally:
            if source is not sys.stdin.buffer:
                source.close()
    except StreamwatchError as exc:
        print(error_line(exc), file=err)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    if bad.count:
        more = f" ({bad.count - bad.reported} not listed)" if bad.count > bad.reported else ""
        print(f"classified {written} messages; skipped {bad.count} bad lines{more}", file=err)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
