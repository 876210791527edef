"""Builders of real event records for the TUI tests, on a fixed clock."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.pilot import Pilot

from streamwatch.events import (
    ChatMessage,
    Classification,
    ClassifiedMessage,
    Concern,
    ConcernStatus,
    ConcernUpdate,
    MessageKind,
    OutputEvent,
    Role,
    Sentiment,
    Topic,
)
from streamwatch.tui.app import StreamwatchApp

NOW = 1_700_000_100.0
"""The injected clock's time: 2023-11-14 22:15:00 UTC."""


def clock() -> float:
    return NOW


def classification(
    *,
    question: bool = True,
    distrust: bool = False,
    topic: Topic = Topic.PRICE_PROMO,
    lang: str = "en",
) -> Classification:
    return Classification(
        is_question=question,
        question_score=0.9 if question else 0.1,
        sentiment=Sentiment.NEG if distrust else Sentiment.NEU,
        sentiment_scores=(0.7, 0.2, 0.1) if distrust else (0.1, 0.8, 0.1),
        distrust=distrust,
        distrust_score=0.9 if distrust else 0.05,
        topic=topic,
        topic_score=0.8,
        lang=lang,
        model="test/1",
    )


def chat(
    n: int,
    text: str,
    *,
    name: str | None = None,
    role: Role = Role.VIEWER,
    cls: Classification | None = None,
    kind: MessageKind = MessageKind.TEXT,
    amount: str | None = None,
    platform: str = "twitch",
    stream: str = "shop",
    concern_id: str | None = None,
) -> ClassifiedMessage:
    at = NOW - 60 + n
    message = ChatMessage(
        platform=platform,
        stream_id=stream,
        message_id=f"m{n}",
        author_id=f"u{n}",
        display_name=name or f"viewer{n}",
        role=role,
        text=text,
        sent_at=at,
        received_at=at,
        kind=kind,
        amount=amount,
    )
    return ClassifiedMessage(message, cls, concern_id)


def concern(
    concern_id: str,
    label: str,
    *,
    priority: float,
    topic: Topic = Topic.PRICE_PROMO,
    viewers: int = 1,
    distrust: int = 0,
    pinned: bool = False,
    status: ConcernStatus = ConcernStatus.OPEN,
    age: float = 120.0,
    languages: tuple[str, ...] = ("en",),
) -> ConcernUpdate:
    c = Concern(
        concern_id=concern_id,
        source="twitch:shop",
        topic=topic,
        label=label,
        status=status,
        pinned=pinned,
        first_at=NOW - age,
        last_at=NOW - 5,
        message_count=viewers + 1,
        author_count=viewers,
        languages=languages,
        distrust_count=distrust,
        priority=priority,
    )
    return ConcernUpdate(c, created=True, at=NOW - 5)


async def publish(app: StreamwatchApp, pilot: Pilot[None], events: Sequence[OutputEvent]) -> None:
    """Publish through the app's real sink, let the app handle it, and redraw now."""
    await app.sink.publish(events)
    await pilot.pause()
    app.flush_now()
    await pilot.pause()


async def until(
    app: StreamwatchApp, pilot: Pilot[None], predicate: Callable[[], bool], what: str
) -> None:
    """Let the app (and its pipeline worker) run until ``predicate()``; bounded, not timed."""
    for _ in range(500):
        app.flush_now()
        if predicate():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"never happened: {what}")
