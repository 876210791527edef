"""The TUI on the real pipeline: real engine, baseline classifier, in-memory and file sources."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from textual.message import Message

from streamwatch.connectors.base import SourceSpec
from streamwatch.connectors.files import FileSource
from streamwatch.engine import ConcernEngine
from streamwatch.errors import FatalConnectorError, JournalError
from streamwatch.events import (
    ActionKind,
    ChatMessage,
    ConcernStatus,
    OutputEvent,
    Role,
    SourceEvent,
    SourceState,
    SourceStatus,
)
from streamwatch.models.baseline import BaselineClassifier
from streamwatch.pipeline import OverloadPolicy, Pipeline, PipelineConfig
from streamwatch.tui.app import StreamwatchApp
from streamwatch.tui.concern_queue import PIN_MARK
from streamwatch.tui.messages import ActionSubmitted

from .tui_support import until

SIZE = (120, 36)
FAST = PipelineConfig(max_wait=0.01, shutdown_grace=1.0, stats_interval=0.05)


def viewer(n: int, text: str, *, role: Role = Role.VIEWER) -> ChatMessage:
    at = time.time()
    return ChatMessage(
        platform="test",
        stream_id="shop",
        message_id=f"m{n}",
        author_id=f"u{n}",
        display_name=f"viewer{n}",
        role=role,
        text=text,
        sent_at=at,
        received_at=at,
    )


class LiveSource:
    """A live in-memory source: says it is live, yields its messages, then stays connected."""

    def __init__(self, messages: Sequence[ChatMessage], name: str = "test:shop") -> None:
        self._messages = list(messages)
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def events(self) -> AsyncIterator[SourceEvent]:
        yield SourceStatus(self._name, SourceState.LIVE, time.time())
        for message in self._messages:
            yield message
        await asyncio.Event().wait()  # until the pipeline cancels it


class BrokenSource:
    """A source whose platform refuses it after connecting."""

    name = "youtube:gone"

    async def events(self) -> AsyncIterator[SourceEvent]:
        yield SourceStatus(self.name, SourceState.CONNECTING, time.time())
        raise FatalConnectorError("quota exhausted")


def _questions() -> list[ChatMessage]:
    """Three concerns: price (3 viewers), shipping (2), size (1)."""
    texts = ["what is the price?"] * 3 + ["do you ship to canada?"] * 2 + ["what size is it"]
    return [viewer(i, text) for i, text in enumerate(texts)]


def _app() -> StreamwatchApp:
    return StreamwatchApp(title="streamwatch", subtitle="test:shop", refresh_interval=0.05)


def _status(app: StreamwatchApp) -> str:
    return str(app.status_bar.render())


async def test_answer_key_sends_answer_and_the_concern_leaves_the_open_view() -> None:
    actions: list[ActionSubmitted] = []

    def hook(message: Message) -> None:
        if isinstance(message, ActionSubmitted):
            actions.append(message)

    app = _app()
    engine = ConcernEngine()
    pipeline = Pipeline([LiveSource(_questions())], BaselineClassifier(), engine, [app.sink], FAST)
    app.attach(pipeline)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await until(app, pilot, lambda: len(app.queue.shown_ids) == 3, "three concerns shown")
        top = app.queue.get(app.queue.shown_ids[0])
        assert top is not None and top.label == "what is the price?" and top.author_count == 3
        assert "running" in _status(app)

        await pilot.press("a")
        assert [(m.action.action, m.action.concern_id) for m in actions] == [
            (ActionKind.ANSWER, top.concern_id)
        ]
        await until(
            app, pilot, lambda: top.concern_id not in app.queue.shown_ids, "answered concern left"
        )
        assert len(app.queue.shown_ids) == 2
        answered = app.queue.get(top.concern_id)
        assert answered is not None and answered.status is ConcernStatus.ANSWERED
        engine_view = engine.get(top.concern_id)
        assert engine_view is not None and engine_view.status is ConcernStatus.ANSWERED

        await pilot.press("v")  # all view: it is still there, marked answered
        assert app.queue.shown_ids[-1] == top.concern_id

        await pilot.press("q")
        await until(app, pilot, lambda: pipeline.done, "pipeline stopped after q")
    assert pipeline.done
    assert app.sink.closed
    assert app.final_stats is not None and app.final_stats.classified == 6


async def test_pin_moves_a_concern_to_the_top_and_unpin_puts_it_back() -> None:
    app = _app()
    engine = ConcernEngine()
    pipeline = Pipeline([LiveSource(_questions())], BaselineClassifier(), engine, [app.sink], FAST)
    app.attach(pipeline)
    async with app.run_test(size=SIZE) as pilot:
        await until(app, pilot, lambda: len(app.queue.shown_ids) == 3, "three concerns shown")
        await pilot.press("down", "down")
        last = app.queue.selected()
        assert last is not None and last.label == "what size is it"

        await pilot.press("p")
        await until(app, pilot, lambda: app.queue.shown_ids[0] == last.concern_id, "pinned on top")
        cell = app.queue.get_cell(last.concern_id, "pin")
        assert getattr(cell, "plain", None) == PIN_MARK
        selected = app.queue.selected()
        assert selected is not None and selected.concern_id == last.concern_id  # cursor followed

        await pilot.press("p")
        await until(app, pilot, lambda: app.queue.shown_ids[-1] == last.concern_id, "unpinned")
        await pilot.press("ctrl+c")
        await until(app, pilot, lambda: pipeline.done, "pipeline stopped after ctrl+c")
    assert pipeline.done


async def test_hostile_chat_text_renders_literally_through_the_pipeline() -> None:
    texts = [
        "[bold]is it real?[/bold] \x1b[31m",
        "[link=https://evil.example]free coupon[/link] price?",
        "\x1b]0;owned\x07<s>ok</s>",
    ]
    app = _app()
    pipeline = Pipeline(
        [LiveSource([viewer(i, t) for i, t in enumerate(texts)])],
        BaselineClassifier(),
        ConcernEngine(),
        [app.sink],
        FAST,
    )
    app.attach(pipeline)
    async with app.run_test(size=SIZE) as pilot:
        await until(app, pilot, lambda: len(app.chat.entries) == 3, "three messages in the feed")
        await until(app, pilot, lambda: len(app.queue.shown_ids) >= 2, "concerns from them")
        feed = "\n".join(strip.text for strip in app.chat.rendered_lines())
        assert "[bold]is it real?[/bold] ␛[31m" in feed
        assert "[link=https://evil.example]free coupon[/link] price?" in feed
        assert "␛]0;owned␇<s>ok</s>" in feed
        assert all(
            "\x1b" not in seg.text and (seg.style is None or not seg.style.link)
            for strip in app.chat.rendered_lines()
            for seg in strip
        )
        labels = {
            getattr(app.queue.get_cell(cid, "label"), "plain", None) for cid in app.queue.shown_ids
        }
        assert "[bold]is it real?[/bold] ␛[31m" in labels
        await pilot.press("q")
        await until(app, pilot, lambda: pipeline.done, "pipeline stopped")


async def test_status_bar_shows_a_failed_source_and_the_dropped_count() -> None:
    burst = [viewer(i, f"hello {i}") for i in range(50)]
    config = PipelineConfig(
        queue_size=1,
        overload=OverloadPolicy.SHED,
        shed_capacity=0,
        max_wait=0.01,
        shutdown_grace=1.0,
        stats_interval=0.05,
    )
    app = _app()
    pipeline = Pipeline(
        [LiveSource(burst), BrokenSource()],
        BaselineClassifier(),
        ConcernEngine(),
        [app.sink],
        config,
    )
    app.attach(pipeline)
    async with app.run_test(size=SIZE) as pilot:
        await until(app, pilot, lambda: "FAILED" in _status(app), "failed source shown")
        await until(
            app,
            pilot,
            lambda: app.status_bar.stats is not None and app.status_bar.stats.dropped_overload > 0,
            "drops counted",
        )
        status = _status(app)
        assert "youtube:gone FAILED: quota exhausted" in status
        assert "test:shop live" in status
        dropped = app.status_bar.stats.dropped_overload  # type: ignore[union-attr]
        assert f"dropped {dropped}" in status
        await pilot.press("q")
        await until(app, pilot, lambda: pipeline.done, "pipeline stopped")


async def test_replay_end_keeps_the_ui_open_with_stream_ended(tmp_path: Path) -> None:
    chat_file = tmp_path / "chat.jsonl"
    rows = [
        {"ts": 1_700_000_000, "user": "ann", "text": "what is the price?"},
        {"ts": 1_700_000_001, "user": "bob", "text": "what is the price?"},
    ]
    lines = [json.dumps(r) for r in rows]
    lines.insert(1, "{not json")
    chat_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = FileSource(SourceSpec("file", str(chat_file), f"file:{chat_file}", {"speed": "max"}))

    app = _app()
    pipeline = Pipeline([source], BaselineClassifier(), ConcernEngine(), [app.sink], FAST)
    app.attach(pipeline)
    async with app.run_test(size=SIZE) as pilot:
        await until(app, pilot, lambda: "stream ended" in _status(app), "stream ended shown")
        assert pipeline.done
        assert app.is_running  # the UI stays open after the replay ran out
        status = _status(app)
        assert "file:chat.jsonl ended" in status
        assert "skipped 1" in status
        assert "last skipped: file:chat.jsonl line 2" in status
        assert len(app.queue.shown_ids) == 1
        await pilot.press("a")  # the pipeline is gone: nothing is recorded, nothing changes
        await pilot.pause()
        only = app.queue.get(app.queue.shown_ids[0])
        assert only is not None and only.status is ConcernStatus.OPEN
        await pilot.press("q")
    assert app.return_code == 0


class FullDiskSink:
    """A journal sink whose disk is full."""

    async def publish(self, events: Sequence[OutputEvent]) -> None:
        raise JournalError("disk full")

    async def close(self) -> None:
        return None


async def test_a_failing_pipeline_is_shown_and_the_ui_stays_open() -> None:
    app = _app()
    pipeline = Pipeline(
        [LiveSource(_questions())],
        BaselineClassifier(),
        ConcernEngine(),
        [FullDiskSink(), app.sink],
        FAST,
    )
    app.attach(pipeline)
    async with app.run_test(size=SIZE) as pilot:
        await until(app, pilot, lambda: "pipeline failed" in _status(app), "failure shown")
        assert "pipeline failed: JournalError: disk full" in _status(app)
        assert app.is_running
        await pilot.press("q")
    assert app.return_code == 0
