"""The ``file:`` source: replays a chat file (JSONL, CSV, chat-downloader JSON) as a live stream.

Options (in the spec after ``?`` or from the command line): ``speed`` (``1`` real time, ``10``
ten times faster, ``max`` as fast as the pipeline takes it), ``map`` (CSV column mapping
``ts=published_at,text=message``), ``format``, ``platform``, ``rebase`` (``1``: shift timestamps
so the recording starts now, as the demo does) and ``loop`` (``1``: start again at the end, with
``~2``, ``~3``... appended to message ids so every copy stays distinct).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from pathlib import Path

from streamwatch.connectors.base import SourceSpec
from streamwatch.errors import ConfigError
from streamwatch.events import ChatMessage, InputSkipped, SourceEvent, SourceState, SourceStatus
from streamwatch.formats import FileOptions, parse_mapping, read_chat_file


def parse_speed(value: str | None) -> float | None:
    """``"max"`` -> None (no pacing); a positive number -> that factor."""
    if value is None or value == "":
        return 1.0
    if value.lower() == "max":
        return None
    try:
        speed = float(value)
    except ValueError as exc:
        raise ConfigError(f"speed must be a number or 'max', not {value!r}") from exc
    if not speed > 0:
        raise ConfigError("speed must be greater than 0")
    return speed


async def paced(
    events: Iterable[ChatMessage | InputSkipped],
    *,
    speed: float | None,
    rebase_to: float | None = None,
    id_suffix: str = "",
) -> AsyncIterator[ChatMessage | InputSkipped]:
    """Re-emit recorded messages with their original spacing divided by ``speed``."""
    first: float | None = None
    wall_start = time.monotonic()
    for n, event in enumerate(events):
        if n % 256 == 255:
            await asyncio.sleep(0)  # reading is synchronous: let the pipeline breathe
        if not isinstance(event, ChatMessage):
            yield event
            continue
        if first is None:
            first = event.sent_at
        offset = max(0.0, event.sent_at - first)
        if speed is not None:
            delay = wall_start + offset / speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        changes: dict[str, object] = {"received_at": time.time()}
        if rebase_to is not None:
            changes["sent_at"] = rebase_to + offset
        if id_suffix:
            changes["message_id"] = event.message_id + id_suffix
        yield replace(event, **changes)  # type: ignore[arg-type]


class FileSource:
    """Replays one chat file; see the module docstring for options."""

    def __init__(self, spec: SourceSpec) -> None:
        self.path = Path(spec.target).expanduser()
        opts = spec.options
        self.speed = parse_speed(opts.get("speed"))
        self.loop = opts.get("loop", "0") in ("1", "true", "yes")
        self.rebase = opts.get("rebase", "0") in ("1", "true", "yes")
        mapping = parse_mapping(opts["map"]) if opts.get("map") else None
        self.options = FileOptions(
            platform=opts.get("platform", "file"),
            stream_id=opts.get("stream", ""),
            mapping=mapping,
            format=opts.get("format") or None,
        )
        if not self.path.is_file():
            raise ConfigError(f"no such chat file: {self.path}")
        # Fail now, before a session starts, if the file cannot be read at all (unknown format,
        # CSV columns missing); bad rows are reported later, one by one.
        rows = read_chat_file(self.path, self.options)
        next(rows, None)
        rows.close()

    @property
    def name(self) -> str:
        return f"file:{self.path.name}"

    async def events(self) -> AsyncIterator[SourceEvent]:
        yield SourceStatus(self.name, SourceState.LIVE, time.time(), detail=str(self.path))
        rounds = 0
        start = time.time()
        while True:
            rounds += 1
            messages = skipped = 0
            last_sent: float | None = None
            suffix = f"~{rounds}" if rounds > 1 else ""
            rebase_to = start if self.rebase else None
            async for event in paced(
                read_chat_file(self.path, self.options),
                speed=self.speed,
                rebase_to=rebase_to,
                id_suffix=suffix,
            ):
                if isinstance(event, ChatMessage):
                    messages += 1
                    last_sent = event.sent_at
                else:
                    skipped += 1
                yield event
            detail = f"{messages} messages, {skipped} skipped"
            if not self.loop or messages == 0:
                yield SourceStatus(self.name, SourceState.ENDED, time.time(), detail=detail)
                return
            start = (last_sent or time.time()) + 5.0
            yield SourceStatus(
                self.name, SourceState.LIVE, time.time(), detail=f"looping ({detail})"
            )
