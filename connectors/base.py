"""What a connector is and how a source spec picks one.

A connector is an async source of :data:`~streamwatch.events.SourceEvent`. It is registered
under the entry-point group ``streamwatch.connectors``; the entry point's name is the scheme of the
source spec (``twitch`` in ``twitch:CHANNEL``) and its value is a :class:`ConnectorFactory`.

A source never raises for bad data: a malformed frame becomes an
:class:`~streamwatch.events.InputSkipped`, a lost connection a
:class:`~streamwatch.events.SourceStatus`. It ends its iterator when the stream ends, and
raises only :class:`~streamwatch.errors.StreamwatchError` for failures it cannot report as
status (which the pipeline turns into a ``failed`` status).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from streamwatch.events import SourceEvent


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A parsed source spec such as ``twitch:somechannel`` or ``ws://host/feed``."""

    scheme: str
    """Connector name: ``twitch``, ``youtube``, ``file``, ``ws``, ``sse+https``..."""
    target: str
    """What follows the scheme: channel, video id, room id, path or URL remainder."""
    raw: str
    """The spec exactly as the user wrote it."""
    options: Mapping[str, str] = field(default_factory=dict)
    """Options from the command line (``--endpoint``, ``--map``...) or after ``?`` in the spec."""


@runtime_checkable
class Source(Protocol):
    """A running chat source."""

    @property
    def name(self) -> str:
        """``platform:stream_id`` as shown in the TUI status bar."""
        ...

    def events(self) -> AsyncIterator[SourceEvent]:
        """Yield events until the stream ends; cancel the iteration to stop the source."""
        ...


class ConnectorFactory(Protocol):
    """The object an entry point in ``streamwatch.connectors`` refers to."""

    def __call__(self, spec: SourceSpec) -> Source: ...
