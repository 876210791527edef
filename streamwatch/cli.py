"""The ``streamwatch`` command line.

Every error a user can cause ends as one line ``streamwatch: error: <title>: <message>`` and the
exit code of its class in :mod:`streamwatch.errors`; never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TextIO

from streamwatch import __version__
from streamwatch.connectors.base import Source
from streamwatch.connectors.files import FileSource, parse_speed
from streamwatch.connectors.registry import open_source, parse_spec
from streamwatch.engine import ConcernEngine
from streamwatch.errors import ConfigError, StreamwatchError, error_line
from streamwatch.events import ClassifiedMessage, SourceState
from streamwatch.journal import Journal, JournalSink, default_data_dir, iso
from streamwatch.models.langid import add_languages_option, parse_languages
from streamwatch.pipeline import OverloadPolicy, Pipeline, PipelineConfig, Sink

log = logging.getLogger("streamwatch")

DEMO_FILE = "live_commerce_demo.jsonl"


def demo_recording() -> Path:
    """Path of the bundled demo recording."""
    return Path(str(resources.files("streamwatch.demo").joinpath(DEMO_FILE)))


# -- argument parsing -------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where sessions are recorded (default: $STREAMWATCH_DATA_DIR or the XDG data dir)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        default=None,
        help="classifier: 'default' (offline multilingual model), 'baseline', a hub id or a path",
    )
    p.add_argument(
        "--headless", action="store_true", help="no TUI: progress on stderr, summary at the end"
    )
    p.add_argument(
        "--overload",
        choices=[p.value for p in OverloadPolicy],
        default=None,
        help="when the queue is full: 'block' the source or 'shed' (journal unclassified, counted)",
    )
    p.add_argument("--queue-size", type=int, default=10_000, help="ingest queue capacity")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the model")
    add_languages_option(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamwatch",
        description="Find the questions and the distrust in live-commerce chat, in real time.",
    )
    parser.add_argument("--version", action="version", version=f"streamwatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "demo", help="play the bundled live-commerce recording into the TUI (the main job)"
    )
    _common(p)
    _run_options(p)
    p.add_argument(
        "--speed", default="1", help="playback speed factor, or 'max' (default 1: real time)"
    )
    p.add_argument("--loop", action="store_true", help="start the recording again when it ends")

    p = sub.add_parser(
        "watch",
        help="watch live chat sources: twitch:CHAN youtube:VIDEO bilibili:ROOM ws://... file:PATH",
    )
    _common(p)
    _run_options(p)
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="source specs")
    p.add_argument(
        "--endpoint", default=None, help="override the server endpoint (relays, proxies, tests)"
    )
    p.add_argument(
        "--map",
        dest="mapping",
        default=None,
        help="field mapping field=column,... for CSV and JSON feeds",
    )
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")

    p = sub.add_parser(
        "replay", help="replay a chat file or a recorded session through the pipeline"
    )
    _common(p)
    _run_options(p)
    p.add_argument(
        "target",
        metavar="FILE|SESSION",
        help="a chat file (.jsonl, .csv, chat-downloader .json) or a session id",
    )
    p.add_argument("--speed", default="max", help="speed factor or 'max' (default max)")
    p.add_argument(
        "--map",
        dest="mapping",
        default=None,
        help="CSV column mapping, e.g. ts=published_at,text=message,id=row",
    )
    p.add_argument(
        "--format",
        default=None,
        choices=["jsonl", "csv", "chat-downloader"],
        help="input format (default: guessed)",
    )

    p = sub.add_parser("sessions", help="list recorded sessions (and delete old ones)")
    _common(p)
    p.add_argument("--json", action="store_true", help="machine-readable JSON")
    p.add_argument(
        "--purge-older-than",
        type=float,
        metavar="DAYS",
        default=None,
        help="delete sessions that started more than DAYS days ago (never a running one)",
    )

    p = sub.add_parser("export", help="export a recorded session")
    _common(p)
    p.add_argument("session", metavar="SESSION", help="session id, unique prefix, or 'last'")
    p.add_argument("--format", default="jsonl", choices=["jsonl"], help="output format")
    p.add_argument("-o", "--output", type=Path, default=None, help="output file (default stdout)")

    p = sub.add_parser(
        "classify",
        help="classify chat lines (text or JSONL) and print JSON per message",
        add_help=False,
    )
    p.add_argument("rest", nargs=argparse.REMAINDER)

    p = sub.add_parser(
        "ingest-server", help="accept pushed chat over WebSocket / HTTP POST", add_help=False
    )
    p.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


# -- running the pipeline -------------------------------------------------------------------


def _pipeline_config(
    args: argparse.Namespace, *, live: bool, duration: float | None
) -> PipelineConfig:
    policy = (
        OverloadPolicy(args.overload)
        if args.overload
        else (OverloadPolicy.SHED if live else OverloadPolicy.BLOCK)
    )
    if args.queue_size < 1:
        raise ConfigError("--queue-size must be at least 1")
    if duration is not None and duration <= 0:
        raise ConfigError("--duration must be greater than 0")
    return PipelineConfig(queue_size=args.queue_size, overload=policy, duration=duration)


def _run(
    sources: Sequence[Source],
    args: argparse.Namespace,
    *,
    command: str,
    live: bool,
    title: str,
    duration: float | None = None,
) -> int:
    out: TextIO = args.out
    from streamwatch.models.loader import load_classifier

    journal = Journal.in_dir(args.data_dir)
    try:
        languages = parse_languages(args.languages) if args.languages is not None else None
        if sys.stderr.isatty():  # the model takes seconds to load; say so before the TUI opens
            print("streamwatch: loading the classifier...", file=sys.stderr, flush=True)
        classifier = load_classifier(args.model, threads=args.threads, languages=languages)
        session_id = journal.start_session(command, [s.name for s in sources], classifier.name)
        engine = ConcernEngine()
        journal_sink = JournalSink(journal, session_id)
        config = _pipeline_config(args, live=live, duration=duration)
        if args.headless:
            from streamwatch.headless import ReportSink, run_headless, summary

            print(f"session: {session_id}", file=sys.stderr, flush=True)
            report = ReportSink(sys.stderr)
            sinks: list[Sink] = [journal_sink, report]
            pipeline = Pipeline(sources, classifier, engine, sinks, config)
            stats = asyncio.run(run_headless(pipeline))
            print(summary(stats, engine, report), file=out)
            print(session_id, file=out)
            failed = [s for s in report.statuses.values() if s.state is SourceState.FAILED]
            return 1 if failed else 0
        from streamwatch.tui.app import StreamwatchApp

        app = StreamwatchApp(title=title, subtitle=f"session {session_id}")
        pipeline = Pipeline(sources, classifier, engine, [journal_sink, app.sink], config)
        app.attach(pipeline)
        app.run()
        print(f"session recorded: {session_id}", file=out)
        return 0
    finally:
        journal.close()


def _cmd_demo(args: argparse.Namespace) -> int:
    spec = parse_spec(
        f"file:{demo_recording()}",
        {
            "speed": args.speed,
            "rebase": "1",
            "loop": "1" if args.loop else "0",
            "platform": "douyin",
        },
    )
    return _run([FileSource(spec)], args, command="demo", live=False, title="streamwatch demo")


def _cmd_watch(args: argparse.Namespace) -> int:
    options: dict[str, str] = {}
    if args.endpoint:
        if len(args.sources) > 1:
            raise ConfigError(
                "--endpoint applies to one source; put endpoint=... in each spec instead"
            )
        options["endpoint"] = args.endpoint
    if args.mapping:
        options["map"] = args.mapping
    sources = [open_source(raw, options) for raw in args.sources]
    return _run(
        sources,
        args,
        command="watch " + " ".join(args.sources),
        live=True,
        title="streamwatch",
        duration=args.duration,
    )


def _cmd_replay(args: argparse.Namespace) -> int:
    speed = args.speed
    path = Path(args.target).expanduser()
    if path.exists():
        options = {"speed": speed}
        if args.mapping:
            options["map"] = args.mapping
        if args.format:
            options["format"] = args.format
        source: Source = FileSource(parse_spec(f"file:{path}", options))
    else:
        from streamwatch.replay import SessionSource

        journal = Journal.in_dir(args.data_dir)
        try:
            info = journal.resolve(args.target)
        finally:
            journal.close()
        source = SessionSource(Journal.in_dir(args.data_dir), info, speed=parse_speed(speed))
    return _run(
        [source], args, command=f"replay {args.target}", live=False, title="streamwatch replay"
    )


def _cmd_sessions(args: argparse.Namespace, out: TextIO) -> int:
    journal = Journal.in_dir(args.data_dir)
    try:
        if args.purge_older_than is not None:
            if args.purge_older_than < 0:
                raise ConfigError("--purge-older-than needs a number of days >= 0")
            removed = journal.purge(time.time() - args.purge_older_than * 86400)
            print(f"deleted {removed} session(s)", file=sys.stderr)
        sessions = journal.sessions()
    finally:
        journal.close()
    if args.json:
        json.dump([s.to_json() for s in sessions], out, indent=2)
        out.write("\n")
        return 0
    if not sessions:
        print(f"no sessions recorded in {args.data_dir or default_data_dir()}", file=out)
        return 0
    print(
        f"{'SESSION':<25} {'STARTED (UTC)':<20} {'STATUS':<12} {'MESSAGES':>8}  COMMAND", file=out
    )
    for s in sessions:
        started = datetime.fromtimestamp(s.started_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"{s.id:<25} {started:<20} {s.status:<12} {s.messages:>8}  {s.command[:60]}", file=out
        )
    return 0


def _cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    journal = Journal.in_dir(args.data_dir)
    try:
        info = journal.resolve(args.session)
        target = args.output.open("w", encoding="utf-8") if args.output else out
        try:
            for item in journal.iter_messages(info.id):
                target.write(json.dumps(export_row(item), ensure_ascii=False) + "\n")
        finally:
            if args.output:
                target.close()
    finally:
        journal.close()
    return 0


def export_row(item: ClassifiedMessage) -> dict[str, object]:
    """A journaled message as a generic-JSONL row (re-readable by ``replay``) plus its labels."""
    m, c = item.message, item.classification
    row: dict[str, object] = {
        "ts": iso(m.sent_at),
        "user": m.display_name,
        "role": m.role.value,
        "text": m.text,
        "platform": m.platform,
        "stream": m.stream_id,
        "id": m.message_id,
        "user_id": m.author_id,
    }
    if m.reply_to:
        row["reply_to"] = m.reply_to
    if c is not None:
        row["lang"] = c.lang
        row["classification"] = {
            "is_question": c.is_question,
            "question_score": round(c.question_score, 4),
            "sentiment": c.sentiment.value,
            "distrust": c.distrust,
            "distrust_score": round(c.distrust_score, 4),
            "topic": c.topic.value,
            "topic_score": round(c.topic_score, 4),
            "model": c.model,
        }
    if item.concern_id:
        row["concern_id"] = item.concern_id
    return row


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of the ``streamwatch`` console script; returns the exit code."""
    out = out or sys.stdout
    args_list = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if args_list[:1] == ["classify"]:
        from streamwatch.models.classify_command import main as classify_main

        return _guard(lambda: classify_main(args_list[1:]))
    if args_list[:1] == ["ingest-server"]:
        from streamwatch.connectors.ingest_server import main as ingest_main

        return _guard(lambda: ingest_main(args_list[1:]))
    args = parser.parse_args(args_list)
    if args.command is None:
        parser.print_help(out)
        return 2
    args.out = out
    _setup_logging(args)
    commands = {
        "demo": lambda: _cmd_demo(args),
        "watch": lambda: _cmd_watch(args),
        "replay": lambda: _cmd_replay(args),
        "sessions": lambda: _cmd_sessions(args, out),
        "export": lambda: _cmd_export(args, out),
    }
    return _guard(commands[args.command])


def _setup_logging(args: argparse.Namespace) -> None:
    """Logs go to stderr, except under the TUI, where they would tear the screen: there they
    go to ``streamwatch.log`` in the data directory."""
    level = logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    tui = args.command in ("demo", "watch", "replay") and not args.headless
    if tui:
        data_dir = args.data_dir or default_data_dir()
        try:
            data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            logging.basicConfig(level=level, format=fmt, filename=data_dir / "streamwatch.log")
            return
        except OSError:
            logging.basicConfig(level=level, format=fmt, handlers=[logging.NullHandler()])
            return
    logging.basicConfig(level=level, format=fmt)


def _guard(run: Callable[[], int]) -> int:
    try:
        code = run()
        return int(code)
    except StreamwatchError as exc:
        print(f"streamwatch: {error_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("streamwatch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
