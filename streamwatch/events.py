"""The event model: typed, immutable records that flow from connectors to the screen.

Conventions for every record here:

* Timestamps are ``float`` seconds since the Unix epoch, UTC (``time.time()``), everywhere.
* Records are frozen, slotted dataclasses; collections inside them are tuples.
* A message is identified by ``(platform, stream_id, message_id)``; ``ChatMessage.key`` joins them.

Data flow: a connector yields :data:`SourceEvent` (chat messages, deletions, status changes); the
classify stage turns a :class:`ChatMessage` into a :class:`ClassifiedMessage`; the concern engine
emits :class:`ConcernUpdate` and :class:`AlertEvent`; the host's assistant produces
:class:`HostAction`; sinks (journal, TUI, Redis) receive :data:`OutputEvent`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Role(enum.StrEnum):
    """Who wrote a chat message."""

    VIEWER = "viewer"
    HOST = "host"  #: the broadcaster / channel owner / seller
    MODERATOR = "moderator"
    SYSTEM = "system"  #: platform notices (joins, gifts, raids) rather than typed text


class MessageKind(enum.StrEnum):
    """What kind of chat item a message is."""

    TEXT = "text"
    PAID = "paid"  #: super chat, bits, paid danmaku: text with money attached
    NOTICE = "notice"  #: a system notice carrying text (sub, raid, gift)


class Sentiment(enum.StrEnum):
    NEG = "neg"
    NEU = "neu"
    POS = "pos"


class Topic(enum.StrEnum):
    """The concern topics a viewer message can be about."""

    PRICE_PROMO = "price_promo"
    SHIPPING = "shipping"
    RETURNS_AFTERSALES = "returns_aftersales"
    AUTHENTICITY_QUALITY = "authenticity_quality"
    SIZE_SPECS = "size_specs"
    STOCK = "stock"
    PAYMENT_SECURITY_PRIVACY = "payment_security_privacy"
    PRODUCT_USAGE = "product_usage"
    HOST_INTERACTION = "host_interaction"
    OTHER = "other"


class ConcernStatus(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"  #: the host answered it (by key in the TUI or by replying in chat)
    DISMISSED = "dismissed"  #: the assistant decided it needs no answer


class SourceState(enum.StrEnum):
    """Health of one chat source, as shown in the TUI status bar."""

    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    DEGRADED = "degraded"  #: up, but rate limited, names masked, quota low, messages skipped
    ENDED = "ended"  #: the stream or file ended normally
    FAILED = "failed"  #: gave up; ``detail`` says why


class ActionKind(enum.StrEnum):
    ANSWER = "answer"
    DISMISS = "dismiss"
    PIN = "pin"
    UNPIN = "unpin"
    REOPEN = "reopen"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat message as a connector received it, normalized across platforms."""

    platform: str
    """Connector name: ``twitch``, ``youtube``, ``bilibili``, ``tiktok``, ``file``, ``ws``..."""
    stream_id: str
    """Channel, video id, room id or file name the message belongs to."""
    message_id: str
    """The platform's id for the message, or the input file's ``id``; kept end to end."""
    author_id: str
    """Stable id of the author on the platform ("" when the platform hides it)."""
    display_name: str
    """Name shown in chat; may be masked by the platform."""
    role: Role
    """Viewer, host, moderator or system."""
    text: str
    """The message text exactly as received (never interpreted as markup)."""
    sent_at: float
    """When the platform says the message was sent (epoch seconds)."""
    received_at: float
    """When streamwatch received it (epoch seconds); in replay, the time it was re-emitted."""
    kind: MessageKind = MessageKind.TEXT
    """Plain text, paid message, or a system notice."""
    reply_to: str | None = None
    """Message id this message replies to, when the platform says so."""
    reply_to_author: str | None = None
    """Display name of the author of the message replied to."""
    mentions: tuple[str, ...] = ()
    """Names mentioned with ``@name`` in the text or by platform metadata."""
    lang_hint: str | None = None
    """Language the source declares for this message (ISO 639-1), if any."""
    amount: str | None = None
    """Money attached to a paid message, as the platform formats it (``"$5.00"``)."""
    raw: str | None = None
    """The raw payload (JSON text or protocol line) for debugging and re-parsing; may be None."""

    @property
    def source(self) -> str:
        """``platform:stream_id``: the source this message came from."""
        return f"{self.platform}:{self.stream_id}"

    @property
    def key(self) -> str:
        """Globally unique key ``platform:stream_id:message_id``."""
        return f"{self.platform}:{self.stream_id}:{self.message_id}"


@dataclass(frozen=True, slots=True)
class MessageDeleted:
    """A moderator or the platform removed a message (or all of one author's messages)."""

    platform: str
    stream_id: str
    at: float
    """When the deletion happened (epoch seconds)."""
    message_id: str | None = None
    """The deleted message, or None when a whole author was cleared."""
    author_id: str | None = None
    """The author whose messages were cleared (ban / timeout), if known."""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Classification:
    """What the classifier says about one message text."""

    is_question: bool
    """The viewer asks or requests something, with or without a question mark."""
    question_score: float
    """Probability behind ``is_question`` (0..1)."""
    sentiment: Sentiment
    sentiment_scores: tuple[float, float, float]
    """Probabilities of (neg, neu, pos)."""
    distrust: bool
    """Doubt about the honesty or safety of seller, host, product claims, price or payment."""
    distrust_score: float
    topic: Topic
    topic_score: float
    lang: str
    """ISO 639-1 code, or ``"und"`` when undetermined."""
    model: str
    """Name and version of the classifier that produced this."""


@dataclass(frozen=True, slots=True)
class ClassifiedMessage:
    """A chat message with its classification, as the engine and sinks see it."""

    message: ChatMessage
    classification: Classification | None
    """None only when the message could not be classified (shutdown deadline, model error)."""
    concern_id: str | None = None
    """The concern this message was grouped into, if any."""


@dataclass(frozen=True, slots=True)
class Concern:
    """Messages asking or complaining about the same thing, across viewers and languages."""

    concern_id: str
    source: str
    """``platform:stream_id`` of the first message; concerns never span unrelated streams."""
    topic: Topic
    label: str
    """Representative text shown to the host (the first or most typical question)."""
    status: ConcernStatus
    pinned: bool
    first_at: float
    last_at: float
    message_count: int
    author_count: int
    """Distinct authors who asked; one viewer repeating counts once."""
    languages: tuple[str, ...]
    distrust_count: int
    """How many of the grouped messages signal distrust."""
    priority: float
    """Higher is more urgent; the TUI sorts by pinned, then priority."""
    sample_message_ids: tuple[str, ...] = ()
    """Up to a few message ids for drill-down (newest last)."""
    answered_at: float | None = None


@dataclass(frozen=True, slots=True)
class ConcernUpdate:
    """A concern was created or changed."""

    concern: Concern
    created: bool
    at: float


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """Something the host should look at now, e.g. distrust rising above the stream's baseline."""

    alert_id: str
    kind: str
    """``distrust_surge`` or another documented kind."""
    source: str
    at: float
    message: str
    """One sentence for the host, e.g. 'distrust 4.0x baseline in the last 60 s (price_promo)'."""
    score: float
    baseline: float
    concern_id: str | None = None


@dataclass(frozen=True, slots=True)
class HostAction:
    """The host's assistant (or the host replying in chat) acted on a concern."""

    action: ActionKind
    concern_id: str
    at: float
    by: str = "tui"
    """``tui``, ``host-chat`` (the host replied in chat) or a user name."""
    note: str = ""


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A change in one source's health."""

    source: str
    """``platform:stream_id`` or the spec the user gave."""
    state: SourceState
    at: float
    detail: str = ""
    """Human-readable reason: 'rate limited', 'quota exhausted', 'connection reset'..."""
    attempt: int = 0
    """Reconnect attempt number while reconnecting."""
    heartbeat_age: float | None = None
    """Seconds since the last sign of life from the server."""
    gap_seconds: float = 0.0
    """Time disconnected in the gap this status closes."""
    missed_estimate: int | None = None
    """Messages probably missed during the gap, where the protocol lets us estimate it."""
    counters: tuple[tuple[str, int], ...] = ()
    """Per-source counters (received, malformed, oversized, duplicates...) as sorted pairs."""


@dataclass(frozen=True, slots=True)
class PipelineStats:
    """Counters of the whole pipeline, published a few times a second to the status bar."""

    at: float
    received: int = 0
    classified: int = 0
    journaled: int = 0
    dropped_overload: int = 0
    """Messages refused because a queue was full and the overload policy is 'drop'."""
    skipped_invalid: int = 0
    """Input rows or frames skipped as invalid (each reported where it happened)."""
    unclassified: int = 0
    """Messages journaled without a classification (model error, shutdown deadline)."""
    queue_depth: int = 0
    queue_capacity: int = 0
    latency_p50_ms: float = 0.0
    latency_p99_ms: float = 0.0
    rate_per_s: float = 0.0


@dataclass(frozen=True, slots=True)
class InputSkipped:
    """A row or frame was skipped as invalid; carries where and why, never the secret parts."""

    source: str
    where: str
    """``line 17`` for files, ``frame 3`` for streams."""
    reason: str
    at: float = field(default=0.0)


SourceEvent = ChatMessage | MessageDeleted | SourceStatus | InputSkipped
"""What a connector yields."""

OutputEvent = (
    ClassifiedMessage
    | MessageDeleted
    | ConcernUpdate
    | AlertEvent
    | HostAction
    | SourceStatus
    | InputSkipped
    | PipelineStats
)
"""What sinks (journal, TUI, Redis) receive."""
