"""Textual messages that carry pipeline output into the app, as small dataclasses.

The :class:`~streamwatch.tui.app.TuiSink` posts these from the pipeline's task (or any thread:
``post_message`` is thread-safe); the app handles them on its own loop. Handling only updates
in-memory models; widgets redraw on the app's refresh timer, so the cost of a burst is one redraw.

High-rate updates merge: Textual drops a queued message when the next queued one
``can_replace`` it, so a backlog of :class:`StatsUpdated` collapses to the newest.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from streamwatch.events import HostAction, OutputEvent, PipelineStats


@dataclass
class OutputBatch(Message):
    """Events the pipeline published in one ``Sink.publish`` call, in order (stats excluded)."""

    events: tuple[OutputEvent, ...]


@dataclass
class StatsUpdated(Message):
    """The newest pipeline counters; a newer one supersedes an older one still queued."""

    stats: PipelineStats

    def can_replace(self, message: Message) -> bool:
        # Textual asks the message being processed whether the next queued one supersedes it.
        return isinstance(message, StatsUpdated)


@dataclass
class SinkClosed(Message):
    """The pipeline closed its sinks: the stream ended or the pipeline stopped."""


@dataclass
class ActionSubmitted(Message):
    """A key produced a host action and it was handed to the pipeline (for observers and tests)."""

    action: HostAction
