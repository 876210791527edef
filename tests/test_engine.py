from __future__ import annotations

from streamwatch.engine import ConcernEngine
from streamwatch.events import (
    ActionKind,
    AlertEvent,
    ClassifiedMessage,
    ConcernStatus,
    ConcernUpdate,
    HostAction,
    MessageDeleted,
    Role,
)
from streamwatch.models.baseline import BaselineClassifier

from .conftest import msg

CLF = BaselineClassifier()


def _ingest(engine: ConcernEngine, m: object) -> list[object]:
    from streamwatch.events import ChatMessage

    assert isinstance(m, ChatMessage)
    return list(engine.ingest(ClassifiedMessage(m, CLF.predict([m.text])[0])))


def _updates(events: list[object]) -> list[ConcernUpdate]:
    return [e for e in events if isinstance(e, ConcernUpdate)]


def test_near_duplicate_questions_group_and_count_viewers_once() -> None:
    engine = ConcernEngine()
    texts = [
        "is this real leather?",
        "Is this REAL leather???",
        "is this real leather",
        "is this real leather?",
    ]
    users = ["a", "b", "c", "a"]
    for i, (text, user) in enumerate(zip(texts, users, strict=True)):
        _ingest(engine, msg(text, mid=f"m{i}", user=user, at=100.0 + i))
    _ingest(engine, msg("ship to Canada?", mid="m9", user="d", at=110.0))
    concerns = engine.concerns()
    assert len(concerns) == 2
    leather = concerns[0]
    assert leather.message_count == 4 and leather.author_count == 3
    assert leather.status is ConcernStatus.OPEN


def test_colour_codes_in_chat_do_not_split_a_concern() -> None:
    engine = ConcernEngine()
    _ingest(engine, msg("is this real leather?", mid="p1", user="a", at=100.0))
    _ingest(engine, msg("\x1b[1;31mis this real leather?\x1b[0m", mid="p2", user="b", at=101.0))
    [concern] = engine.concerns()
    assert concern.message_count == 2 and concern.author_count == 2


def test_noise_does_not_make_concerns() -> None:
    engine = ConcernEngine()
    for i, text in enumerate(["666", "hahaha", "❤️❤️", "hello everyone"]):
        out = _ingest(engine, msg(text, mid=f"n{i}"))
        assert not _updates(out)
    assert engine.concerns() == []


def test_host_reply_and_mention_and_paraphrase_answer_concerns() -> None:
    engine = ConcernEngine()
    _ingest(engine, msg("is it real leather?", mid="q1", user="ann", at=100.0))
    _ingest(engine, msg("ship to Canada?", mid="q2", user="bob", at=101.0))
    _ingest(
        engine, msg("what size should I take, size M available?", mid="q3", user="cat", at=102.0)
    )
    out = _ingest(
        engine, msg("yes!", mid="h1", user="shop", role=Role.HOST, at=103.0, reply_to="q1")
    )
    answered = {
        u.concern.label for u in _updates(out) if u.concern.status is ConcernStatus.ANSWERED
    }
    assert answered == {"is it real leather?"}
    out = _ingest(
        engine,
        msg("@bob yes we do", mid="h2", user="shop", role=Role.HOST, at=104.0, mentions=("bob",)),
    )
    assert [u.concern.label for u in _updates(out)] == ["ship to Canada?"]
    assert all(
        isinstance(e, HostAction) and e.by == "host-chat" for e in out if isinstance(e, HostAction)
    )


def test_assistant_actions_change_status_and_pin() -> None:
    engine = ConcernEngine()
    _ingest(engine, msg("price?", mid="q1", user="a", at=1.0))
    _ingest(engine, msg("ship to Canada?", mid="q2", user="b", at=2.0))
    _ingest(engine, msg("ship to Canada??", mid="q3", user="c", at=3.0))
    first, second = engine.concerns()
    assert first.label == "ship to Canada?"
    engine.apply(HostAction(ActionKind.PIN, second.concern_id, 4.0))
    assert engine.concerns()[0].concern_id == second.concern_id
    engine.apply(HostAction(ActionKind.DISMISS, first.concern_id, 5.0))
    assert engine.get(first.concern_id).status is ConcernStatus.DISMISSED  # type: ignore[union-attr]
    engine.apply(HostAction(ActionKind.REOPEN, first.concern_id, 6.0))
    assert engine.get(first.concern_id).status is ConcernStatus.OPEN  # type: ignore[union-attr]
    assert engine.apply(HostAction(ActionKind.ANSWER, "missing", 7.0)) == [
        HostAction(ActionKind.ANSWER, "missing", 7.0)
    ]


def test_deleted_message_leaves_its_concern() -> None:
    engine = ConcernEngine()
    _ingest(engine, msg("price?", mid="q1", user="a", at=1.0))
    _ingest(engine, msg("price??", mid="q2", user="b", at=2.0))
    out = engine.delete(MessageDeleted("test", "s", 3.0, message_id="q2"))
    (update,) = _updates(list(out))
    assert update.concern.message_count == 1
    assert "q2" not in update.concern.sample_message_ids


def test_distrust_surge_against_the_streams_own_baseline() -> None:
    engine = ConcernEngine()
    alerts: list[AlertEvent] = []
    t = 0.0
    # Ten quiet minutes: ordinary chat with a rare complaint.
    for i in range(600):
        t += 1.0
        text = "scam" if i % 150 == 0 else ("nice bag" if i % 2 else "hello")
        alerts += [
            e
            for e in _ingest(engine, msg(text, mid=f"a{i}", user=f"u{i % 40}", at=t))
            if isinstance(e, AlertEvent)
        ]
    assert alerts == []
    # The price goes up: a third of the chat calls it a scam.
    for i in range(60):
        t += 1.0
        text = "scam, it was cheaper yesterday" if i % 3 == 0 else "hmm"
        alerts += [
            e
            for e in _ingest(engine, msg(text, mid=f"b{i}", user=f"v{i}", at=t))
            if isinstance(e, AlertEvent)
        ]
    assert len(alerts) == 1
    assert alerts[0].kind == "distrust_surge" and alerts[0].score > 3 * alerts[0].baseline
