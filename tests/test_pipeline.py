from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Sequence

import pytest

from streamwatch.engine import ConcernEngine
from streamwatch.errors import ModelError
from streamwatch.events import (
    ActionKind,
    Classification,
    ClassifiedMessage,
    ConcernStatus,
    ConcernUpdate,
    HostAction,
    OutputEvent,
    PipelineStats,
    SourceEvent,
    SourceState,
    SourceStatus,
)
from streamwatch.models.baseline import BaselineClassifier
from streamwatch.pipeline import OverloadPolicy, Pipeline, PipelineConfig

from .conftest import ListSource, msg


class CollectSink:
    def __init__(self) -> None:
        self.events: list[OutputEvent] = []
        self.closed = False

    async def publish(self, events: Sequence[OutputEvent]) -> None:
        self.events.extend(events)

    async def close(self) -> None:
        self.closed = True

    def messages(self) -> list[ClassifiedMessage]:
        return [e for e in self.events if isinstance(e, ClassifiedMessage)]


class SlowClassifier(BaselineClassifier):
    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.calls: list[int] = []

    def predict(self, texts: Sequence[str]) -> list[Classification]:
        self.calls.append(len(texts))
        time.sleep(self.delay)
        return super().predict(texts)


class FailingClassifier(BaselineClassifier):
    def predict(self, texts: Sequence[str]) -> list[Classification]:
        raise ModelError("out of memory")


def _messages(n: int, prefix: str = "m") -> list[SourceEvent]:
    return [msg(f"price {i}?", mid=f"{prefix}{i}", user=f"u{i}", at=1000.0 + i) for i in range(n)]


async def test_messages_flow_in_order_with_micro_batches() -> None:
    sink = CollectSink()
    clf = SlowClassifier(0.0)
    pipeline = Pipeline(
        [ListSource(_messages(200))], clf, ConcernEngine(), [sink], PipelineConfig(max_batch=32)
    )
    stats = await pipeline.run()
    assert [m.message.message_id for m in sink.messages()] == [f"m{i}" for i in range(200)]
    assert all(m.classification is not None for m in sink.messages())
    assert max(clf.calls) <= 32 and sum(clf.calls) == 200
    assert stats.received == stats.classified == stats.journaled == 200
    assert sink.closed
    assert isinstance(sink.events[-1], PipelineStats)


async def test_burst_into_a_small_queue_blocks_and_loses_nothing() -> None:
    sink = CollectSink()
    config = PipelineConfig(queue_size=16, max_batch=8, overload=OverloadPolicy.BLOCK)
    pipeline = Pipeline(
        [ListSource(_messages(5000))], SlowClassifier(0.0005), ConcernEngine(), [sink], config
    )
    depths: list[int] = []

    async def watch() -> None:
        while not pipeline.done:
            depths.append(pipeline.stats().queue_depth)
            await asyncio.sleep(0.001)

    watcher = asyncio.create_task(watch())
    stats = await pipeline.run()
    await watcher
    assert max(depths) <= 16
    assert stats.received == 5000 and stats.classified == 5000 and stats.dropped_overload == 0
    assert len({m.message.message_id for m in sink.messages()}) == 5000


async def test_shed_policy_accounts_for_every_message() -> None:
    sink = CollectSink()
    config = PipelineConfig(
        queue_size=8, max_batch=8, overload=OverloadPolicy.SHED, shed_capacity=100
    )
    pipeline = Pipeline(
        [ListSource(_messages(2000))], SlowClassifier(0.02), ConcernEngine(), [sink], config
    )
    stats = await pipeline.run()
    delivered = sink.messages()
    assert stats.unclassified > 0 and stats.dropped_overload > 0
    assert stats.received == 2000
    assert stats.classified + stats.unclassified + stats.dropped_overload == 2000
    assert len(delivered) == stats.classified + stats.unclassified
    assert sum(m.classification is None for m in delivered) == stats.unclassified


async def test_stop_drains_and_flushes_within_the_grace_period() -> None:
    sink = CollectSink()
    config = PipelineConfig(queue_size=10_000, max_batch=16, shutdown_grace=2.0)
    source = ListSource(_messages(3000))
    pipeline = Pipeline([source], SlowClassifier(0.05), ConcernEngine(), [sink], config)
    task = asyncio.create_task(pipeline.run())
    await asyncio.sleep(0.3)
    started = time.monotonic()
    pipeline.stop()
    stats = await task
    elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert sink.closed
    # Everything that entered the pipeline reached the sink, classified or not.
    assert len(sink.messages()) == stats.received
    assert stats.classified + stats.unclassified == stats.received
    assert stats.unclassified > 0


async def test_classifier_failure_journals_messages_unclassified() -> None:
    sink = CollectSink()
    pipeline = Pipeline([ListSource(_messages(10))], FailingClassifier(), ConcernEngine(), [sink])
    stats = await pipeline.run()
    assert stats.unclassified == 10 and stats.classified == 0
    assert len(sink.messages()) == 10


class CrashingSource:
    name = "test:crash"

    async def events(self) -> AsyncIterator[SourceEvent]:
        yield msg("before crash?", mid="c1")
        raise RuntimeError("connector bug")


async def test_a_crashing_source_becomes_a_failed_status_and_others_go_on() -> None:
    sink = CollectSink()
    pipeline = Pipeline(
        [CrashingSource(), ListSource(_messages(50), name="test:ok", pause=0.001)],
        BaselineClassifier(),
        ConcernEngine(),
        [sink],
    )
    stats = await pipeline.run()
    failed = [
        e for e in sink.events if isinstance(e, SourceStatus) and e.state is SourceState.FAILED
    ]
    assert len(failed) == 1 and "connector bug" in failed[0].detail
    assert stats.received == 51


async def test_host_actions_from_the_ui_reach_engine_and_sinks() -> None:
    sink = CollectSink()
    source = ListSource(_messages(3), pause=0.05)
    pipeline = Pipeline([source], BaselineClassifier(), ConcernEngine(), [sink])
    task = asyncio.create_task(pipeline.run())
    while not any(isinstance(e, ConcernUpdate) for e in sink.events):
        await asyncio.sleep(0.01)
    concern = next(e for e in sink.events if isinstance(e, ConcernUpdate)).concern
    pipeline.submit_action(HostAction(ActionKind.ANSWER, concern.concern_id, time.time()))
    await task
    updates = [
        e
        for e in sink.events
        if isinstance(e, ConcernUpdate) and e.concern.concern_id == concern.concern_id
    ]
    assert updates[-1].concern.status is ConcernStatus.ANSWERED
    assert any(isinstance(e, HostAction) for e in sink.events)


@pytest.mark.parametrize("duration", [0.3])
async def test_duration_stops_a_source_that_never_ends(duration: float) -> None:
    class Endless:
        name = "test:endless"

        async def events(self) -> AsyncIterator[SourceEvent]:
            i = 0
            while True:
                await asyncio.sleep(0.01)
                i += 1
                yield msg("hi", mid=f"e{i}")

    sink = CollectSink()
    pipeline = Pipeline(
        [Endless()],
        BaselineClassifier(),
        ConcernEngine(),
        [sink],
        PipelineConfig(duration=duration),
    )
    started = time.monotonic()
    stats = await pipeline.run()
    assert time.monotonic() - started < duration + 1.0
    assert stats.received > 5 and len(sink.messages()) == stats.received


async def test_the_run_summary_counts_viewers_questions_and_distrust_only() -> None:
    from streamwatch.events import Role
    from streamwatch.headless import ReportSink

    from .tui_support import classification

    both = classification(question=True, distrust=True)
    report = ReportSink(io.StringIO())
    await report.publish(
        [
            ClassifiedMessage(msg("is it fake?", mid="v"), both),
            ClassifiedMessage(msg("real?", mid="m", role=Role.MODERATOR), both),
            ClassifiedMessage(msg("link is up!", mid="h", role=Role.HOST), both),
            ClassifiedMessage(msg("x joined", mid="s", role=Role.SYSTEM), both),
            ClassifiedMessage(msg("unclassified?", mid="u"), None),
        ]
    )
    assert (report.questions, report.distrust) == (2, 2)
    assert report.languages["en"] == 4  # every classified line still shows its language
