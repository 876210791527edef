"""Snapshots of the main screen at 120x36 from a fixed set of events on a fixed clock.

Regenerate after an intended visual change with
``python -m pytest tests/test_tui_snapshots.py --snapshot-update`` and review the SVGs
(``tests/__snapshots__/test_tui_snapshots/``) before committing them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot

from streamwatch.events import (
    AlertEvent,
    ConcernStatus,
    InputSkipped,
    MessageKind,
    OutputEvent,
    PipelineStats,
    Role,
    SourceState,
    SourceStatus,
    Topic,
)
from streamwatch.tui.app import StreamwatchApp

from .tui_support import NOW, chat, classification, clock, concern

SIZE = (120, 36)
Compare = Callable[..., bool]


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Chat lines show local time of day: pin the zone so snapshots match everywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _events() -> list[OutputEvent]:
    q = classification
    return [
        SourceStatus("twitch:shop", SourceState.LIVE, NOW - 2, heartbeat_age=1.0),
        SourceStatus(
            "youtube:live42",
            SourceState.LIVE,
            NOW - 30,
            heartbeat_age=0.0,
            gap_seconds=14.0,
            missed_estimate=23,
        ),
        SourceStatus("tiktok:@store", SourceState.FAILED, NOW - 40, detail="room is offline"),
        chat(1, "hi everyone!", cls=q(question=False, topic=Topic.HOST_INTERACTION)),
        chat(2, "how much is the blue bag?", cls=q()),
        chat(3, "这个包多少钱？", cls=q(lang="zh")),
        chat(
            4,
            "is this real leather or fake?",
            cls=q(distrust=True, topic=Topic.AUTHENTICITY_QUALITY),
        ),
        chat(5, "[bold]FREE[/bold] \x1b[31mcoupon\x1b[0m at evil.example", cls=q(question=False)),
        chat(
            6,
            "the blue bag is $39 today, link below",
            name="shopkeeper",
            role=Role.HOST,
            cls=q(question=False),
        ),
        chat(7, "do you ship to Canada?", cls=q(topic=Topic.SHIPPING)),
        chat(
            8, "thanks for the stream", cls=q(question=False), kind=MessageKind.PAID, amount="$5.00"
        ),
        chat(9, "price was cheaper yesterday, scam", cls=q(question=False, distrust=True)),
        chat(10, "what size is the small one", cls=None),
        concern(
            "c00001",
            "how much is the blue bag?",
            priority=7.5,
            viewers=3,
            languages=("en", "zh", "ru"),
            age=310,
        ),
        concern(
            "c00002",
            "is this real leather or fake?",
            priority=9.5,
            viewers=2,
            distrust=3,
            topic=Topic.AUTHENTICITY_QUALITY,
            age=95,
        ),
        concern(
            "c00003",
            "do you ship to Canada?",
            priority=2.0,
            topic=Topic.SHIPPING,
            age=45,
            pinned=True,
        ),
        concern(
            "c00004",
            "[link=https://evil.example]is the coupon legit?[/link]",
            priority=3.5,
            topic=Topic.PAYMENT_SECURITY_PRIVACY,
            viewers=1,
            distrust=1,
            age=20,
        ),
        concern(
            "c00005",
            "what colours are there",
            priority=4.0,
            topic=Topic.SIZE_SPECS,
            status=ConcernStatus.ANSWERED,
            age=600,
        ),
        concern(
            "c00006",
            "hello host",
            priority=2.0,
            topic=Topic.HOST_INTERACTION,
            status=ConcernStatus.DISMISSED,
            age=700,
        ),
        AlertEvent(
            "a0001",
            "distrust_surge",
            "twitch:shop",
            NOW - 12,
            "distrust 4.2x the stream's baseline: 6 of 31 messages in the last 60 s "
            "(mostly authenticity_quality)",
            0.19,
            0.045,
        ),
        InputSkipped("file:backup.jsonl", "line 17", "invalid JSON", NOW - 50),
        PipelineStats(
            NOW,
            received=1843,
            classified=1801,
            journaled=1843,
            dropped_overload=3,
            skipped_invalid=1,
            unclassified=39,
            queue_depth=12,
            queue_capacity=10000,
            latency_p50_ms=7.8,
            latency_p99_ms=41.2,
            rate_per_s=312.4,
        ),
    ]


def _app() -> StreamwatchApp:
    # refresh_interval is long so only the explicit flush below draws: fully deterministic.
    return StreamwatchApp(
        title="streamwatch", subtitle="twitch:shop + 2", clock=clock, refresh_interval=3600
    )


def _setup(state: str, *keys: str) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, StreamwatchApp)
        await app.sink.publish(_events())
        await pilot.pause()
        app.status_bar.set_pipeline_state(state)
        app.flush_now()
        await pilot.pause()
        if keys:
            await pilot.press(*keys)
        app.flush_now()
        await pilot.pause()

    return run_before


def test_main_screen(snap_compare: Compare) -> None:
    assert snap_compare(_app(), terminal_size=SIZE, run_before=_setup("running"))


def test_all_view_with_frozen_chat_after_stream_end(snap_compare: Compare) -> None:
    assert snap_compare(_app(), terminal_size=SIZE, run_before=_setup("stream ended", "v", "f"))


def test_help_screen(snap_compare: Compare) -> None:
    assert snap_compare(_app(), terminal_size=SIZE, run_before=_setup("running", "question_mark"))
