"""The concern engine: groups repeated questions, tracks answers, detects distrust surges.

It is synchronous and pure (no I/O, no clock of its own: times come from the messages), so the
pipeline, replay and tests drive it alike.

* **Grouping.** A viewer message that is a question or a distrust signal joins the open concern
  of the same source and topic whose texts are most similar to it (Dice coefficient of character
  bigrams of the normalized text, found through an inverted index) when the similarity reaches
  ``similarity``; otherwise it starts a new concern. Exact and near duplicates ("price?",
  "price??", "PRICE pls") group; paraphrases across languages need the embedding grouping that a
  later engine adds.
* **Answers.** A host message answers a concern when it replies to one of its messages, mentions
  one of its askers by ``@name``, or shares its topic and enough of its words.
* **Distrust surge.** Per source, the share of distrust messages in the last ``surge_window``
  seconds is compared with the stream's own baseline share (everything before the window, with a
  small prior); an alert fires when it is ``surge_ratio`` times the baseline with at least
  ``surge_min_count`` distrust messages, then rests for ``surge_cooldown`` seconds.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field, replace

from streamwatch.events import (
    ActionKind,
    AlertEvent,
    ClassifiedMessage,
    Concern,
    ConcernStatus,
    ConcernUpdate,
    HostAction,
    MessageDeleted,
    OutputEvent,
    Role,
    Topic,
)
from streamwatch.text import bigrams, dice, normalize

_SAMPLES = 5
_VARIANTS = 8
_MAX_POSTINGS = 200


@dataclass(frozen=True, slots=True)
class EngineConfig:
    similarity: float = 0.6
    """Dice similarity of character bigrams needed to join a concern."""
    answer_similarity: float = 0.3
    """Similarity a host message needs (with the same topic) to count as answering."""
    answer_window: float = 600.0
    """Only concerns active in the last N seconds can be answered by a host message."""
    surge_window: float = 60.0
    surge_ratio: float = 3.0
    surge_min_count: int = 5
    surge_cooldown: float = 120.0
    prior_share: float = 0.03
    """Baseline distrust share assumed before the stream has history."""
    prior_weight: float = 100.0
    """How many messages' worth of evidence the prior counts for."""


@dataclass
class _ConcernState:
    concern: Concern
    authors: set[str] = field(default_factory=set)
    languages: Counter[str] = field(default_factory=Counter)
    variants: deque[frozenset[str]] = field(default_factory=lambda: deque(maxlen=_VARIANTS))
    askers: set[str] = field(default_factory=set)
    """Lower-cased display names, for ``@name`` answers."""


@dataclass
class _SurgeState:
    window: deque[tuple[float, bool, Topic]] = field(default_factory=deque)
    window_distrust: Counter[Topic] = field(default_factory=Counter)
    """Distrust messages in the window by topic, kept in step with ``window``."""
    before_total: int = 0
    before_distrust: int = 0
    last_alert: float = -math.inf


def _author_key(item: ClassifiedMessage) -> str:
    """Who asked; when the platform or file hides authors, each message counts as its own asker."""
    m = item.message
    return m.author_id or m.display_name or f"anonymous:{m.message_id}"


def _priority(c: Concern) -> float:
    """Urgency: distinct askers weigh most, distrust adds, repeats add a little."""
    return round(
        2.0 * c.author_count + 0.5 * (c.message_count - c.author_count) + 1.5 * c.distrust_count,
        3,
    )


class ConcernEngine:
    """Turns classified messages and host actions into concern updates and alerts."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self._concerns: dict[str, _ConcernState] = {}
        self._index: dict[tuple[str, Topic], dict[str, set[str]]] = defaultdict(
            lambda: defaultdict(set)
        )
        self._message_concern: dict[str, str] = {}
        self._surge: dict[str, _SurgeState] = defaultdict(_SurgeState)
        self._next_id = 1
        self._alerts = 0

    # -- queries ----------------------------------------------------------------------------

    def concerns(self) -> list[Concern]:
        """All concerns, pinned first, then by priority."""
        return sorted(
            (s.concern for s in self._concerns.values()),
            key=lambda c: (not c.pinned, -c.priority, c.first_at),
        )

    def get(self, concern_id: str) -> Concern | None:
        state = self._concerns.get(concern_id)
        return None if state is None else state.concern

    # -- inputs -----------------------------------------------------------------------------

    def ingest(self, item: ClassifiedMessage) -> list[OutputEvent]:
        """Take one classified message; returns it (with its concern id) and what changed."""
        msg, cls = item.message, item.classification
        out: list[OutputEvent] = []
        if msg.role is Role.HOST:
            out.append(item)
            out.extend(self._host_answers(item))
            return out
        if cls is None or msg.role is Role.SYSTEM:
            out.append(item)
            return out
        alert = self._track_surge(item)
        if cls.is_question or cls.distrust:
            update = self._group(item)
            out.append(replace(item, concern_id=update.concern.concern_id))
            out.append(update)
        else:
            out.append(item)
        if alert is not None:
            out.append(alert)
        return out

    def apply(self, action: HostAction) -> list[OutputEvent]:
        """Apply the assistant's answer/dismiss/pin; unknown concern ids are ignored."""
        state = self._concerns.get(action.concern_id)
        if state is None:
            return [action]
        c = state.concern
        if action.action is ActionKind.ANSWER:
            c = replace(c, status=ConcernStatus.ANSWERED, answered_at=action.at)
        elif action.action is ActionKind.DISMISS:
            c = replace(c, status=ConcernStatus.DISMISSED)
        elif action.action is ActionKind.REOPEN:
            c = replace(c, status=ConcernStatus.OPEN, answered_at=None)
        elif action.action is ActionKind.PIN:
            c = replace(c, pinned=True)
        elif action.action is ActionKind.UNPIN:
            c = replace(c, pinned=False)
        state.concern = c
        return [action, ConcernUpdate(c, created=False, at=action.at)]

    def delete(self, event: MessageDeleted) -> list[OutputEvent]:
        """A deleted message leaves its concern's count (one author's messages, when cleared)."""
        out: list[OutputEvent] = [event]
        if event.message_id is None:
            return out
        key = f"{event.platform}:{event.stream_id}:{event.message_id}"
        concern_id = self._message_concern.pop(key, None)
        state = self._concerns.get(concern_id) if concern_id else None
        if state is None:
            return out
        c = state.concern
        c = replace(
            c,
            message_count=max(0, c.message_count - 1),
            sample_message_ids=tuple(m for m in c.sample_message_ids if m != event.message_id),
        )
        state.concern = replace(c, priority=_priority(c))
        out.append(ConcernUpdate(state.concern, created=False, at=event.at))
        return out

    # -- grouping ---------------------------------------------------------------------------

    def _group(self, item: ClassifiedMessage) -> ConcernUpdate:
        msg, cls = item.message, item.classification
        assert cls is not None
        grams = bigrams(normalize(msg.text))
        index = self._index[(msg.source, cls.topic)]
        best_id, best_score = None, 0.0
        shared: Counter[str] = Counter()
        for gram in grams:
            postings = index.get(gram)
            # A bigram in hundreds of concerns ("吗", "the") says little; rarer ones decide.
            if postings and len(postings) <= _MAX_POSTINGS:
                shared.update(postings)
        for concern_id, _ in shared.most_common(20):
            state = self._concerns[concern_id]
            score = max((dice(grams, v) for v in state.variants), default=0.0)
            if score > best_score:
                best_id, best_score = concern_id, score
        if not grams:  # emoji-only "??": group by exact topic only if nothing else
            best_id, best_score = None, 0.0
        if best_id is not None and best_score >= self.config.similarity:
            return self._join(self._concerns[best_id], item, grams, index)
        return self._create(item, grams, index)

    def _create(
        self, item: ClassifiedMessage, grams: frozenset[str], index: dict[str, set[str]]
    ) -> ConcernUpdate:
        msg, cls = item.message, item.classification
        assert cls is not None
        concern_id = f"c{self._next_id:05d}"
        self._next_id += 1
        concern = Concern(
            concern_id=concern_id,
            source=msg.source,
            topic=cls.topic,
            label=msg.text[:200],
            status=ConcernStatus.OPEN,
            pinned=False,
            first_at=msg.sent_at,
            last_at=msg.sent_at,
            message_count=1,
            author_count=1,
            languages=(cls.lang,),
            distrust_count=int(cls.distrust),
            priority=0.0,
            sample_message_ids=(msg.message_id,),
        )
        concern = replace(concern, priority=_priority(concern))
        state = _ConcernState(concern)
        state.authors.add(_author_key(item))
        state.askers.add(msg.display_name.casefold())
        state.languages[cls.lang] += 1
        state.variants.append(grams)
        self._concerns[concern_id] = state
        for gram in grams:
            index[gram].add(concern_id)
        self._message_concern[msg.key] = concern_id
        return ConcernUpdate(concern, created=True, at=msg.sent_at)

    def _join(
        self,
        state: _ConcernState,
        item: ClassifiedMessage,
        grams: frozenset[str],
        index: dict[str, set[str]],
    ) -> ConcernUpdate:
        msg, cls = item.message, item.classification
        assert cls is not None
        state.authors.add(_author_key(item))
        state.askers.add(msg.display_name.casefold())
        state.languages[cls.lang] += 1
        if grams not in state.variants:
            state.variants.append(grams)
            for gram in grams:
                index[gram].add(state.concern.concern_id)
        c = state.concern
        c = replace(
            c,
            last_at=max(c.last_at, msg.sent_at),
            message_count=c.message_count + 1,
            author_count=len(state.authors),
            languages=tuple(lang for lang, _ in state.languages.most_common()),
            distrust_count=c.distrust_count + int(cls.distrust),
            sample_message_ids=(*c.sample_message_ids, msg.message_id)[-_SAMPLES:],
        )
        state.concern = replace(c, priority=_priority(c))
        self._message_concern[msg.key] = c.concern_id
        return ConcernUpdate(state.concern, created=False, at=msg.sent_at)

    # -- host answers -----------------------------------------------------------------------

    def _host_answers(self, item: ClassifiedMessage) -> list[OutputEvent]:
        msg, cls = item.message, item.classification
        answered: list[_ConcernState] = []
        if msg.reply_to is not None:
            concern_id = self._message_concern.get(f"{msg.source}:{msg.reply_to}")
            if concern_id is not None:
                answered.append(self._concerns[concern_id])
        mentioned = {m.casefold().lstrip("@") for m in msg.mentions}
        grams = bigrams(normalize(msg.text))
        for state in self._concerns.values():
            c = state.concern
            if (
                state in answered
                or c.status is not ConcernStatus.OPEN
                or c.source != msg.source
                or msg.sent_at - c.last_at > self.config.answer_window
            ):
                continue
            if mentioned & state.askers or (
                cls is not None
                and cls.topic is c.topic
                and c.topic is not Topic.OTHER
                and max((dice(grams, v) for v in state.variants), default=0.0)
                >= self.config.answer_similarity
            ):
                answered.append(state)
        out: list[OutputEvent] = []
        for state in answered:
            if state.concern.status is ConcernStatus.ANSWERED:
                continue
            action = HostAction(
                ActionKind.ANSWER, state.concern.concern_id, msg.sent_at, "host-chat"
            )
            out.extend(self.apply(action))
        return out

    # -- distrust surge ---------------------------------------------------------------------

    def _track_surge(self, item: ClassifiedMessage) -> AlertEvent | None:
        msg, cls = item.message, item.classification
        assert cls is not None
        cfg = self.config
        s = self._surge[msg.source]
        now = msg.sent_at
        s.window.append((now, cls.distrust, cls.topic))
        if cls.distrust:
            s.window_distrust[cls.topic] += 1
        while s.window and s.window[0][0] < now - cfg.surge_window:
            _, was_distrust, old_topic = s.window.popleft()
            s.before_total += 1
            if was_distrust:
                s.before_distrust += 1
                s.window_distrust[old_topic] -= 1
        distrust_topics = s.window_distrust
        count = sum(distrust_topics.values())
        if count < cfg.surge_min_count or now - s.last_alert < cfg.surge_cooldown:
            return None
        share = count / len(s.window)
        baseline = (s.before_distrust + cfg.prior_share * cfg.prior_weight) / (
            s.before_total + cfg.prior_weight
        )
        ratio = share / baseline
        if ratio < cfg.surge_ratio:
            return None
        s.last_alert = now
        self._alerts += 1
        topic = distrust_topics.most_common(1)[0][0]
        return AlertEvent(
            alert_id=f"a{self._alerts:04d}",
            kind="distrust_surge",
            source=msg.source,
            at=now,
            message=(
                f"distrust {ratio:.1f}x the stream's baseline: {count} of {len(s.window)} "
                f"messages in the last {cfg.surge_window:.0f} s (mostly {topic.value})"
            ),
            score=round(share, 4),
            baseline=round(baseline, 4),
        )
