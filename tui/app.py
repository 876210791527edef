"""The streamwatch terminal UI: concern queue, live chat, alerts and source health.

Wiring (the CLI does this)::

    app = StreamwatchApp(title="streamwatch", subtitle="twitch:shop")
    pipeline = Pipeline(sources, classifier, engine, [journal_sink, app.sink])
    app.attach(pipeline)
    app.run()

Data flow: the pipeline runs in an async worker on the app's loop and publishes to
:class:`TuiSink`, which only posts Textual messages (never blocks). Message handlers update
in-memory models; a timer redraws the widgets :data:`REFRESH_INTERVAL` apart, so the screen cost
does not grow with the message rate. Keys turn into :class:`~streamwatch.events.HostAction` handed
to :meth:`Pipeline.submit_action` (which only enqueues); the concern changes on screen when the
engine's :class:`~streamwatch.events.ConcernUpdate` comes back (until then the row says
``answer…``). Quitting stops the pipeline and waits up to :data:`QUIT_TIMEOUT` seconds for it to
drain and close the journal. When the pipeline ends by itself (a replay file ran out) the UI stays
open and the status bar says ``stream ended``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from streamwatch.events import (
    ActionKind,
    AlertEvent,
    ClassifiedMessage,
    Concern,
    ConcernStatus,
    ConcernUpdate,
    HostAction,
    InputSkipped,
    MessageDeleted,
    OutputEvent,
    PipelineStats,
    SourceStatus,
)
from streamwatch.tui.alerts import AlertsPanel
from streamwatch.tui.chat_feed import ChatFeed
from streamwatch.tui.concern_queue import ConcernQueue
from streamwatch.tui.help import HelpScreen
from streamwatch.tui.messages import ActionSubmitted, OutputBatch, SinkClosed, StatsUpdated
from streamwatch.tui.sanitize import clean
from streamwatch.tui.status_bar import StatusBar

if TYPE_CHECKING:
    from streamwatch.pipeline import Pipeline

log = logging.getLogger(__name__)

REFRESH_INTERVAL: Final = 0.25
"""Seconds between redraws of the queue, feed, alerts and status bar."""

QUIT_TIMEOUT: Final = 2.5
"""Longest the UI waits, after ``q``, for the pipeline to drain (its own grace is 2 s)."""


class TuiSink:
    """The pipeline's sink for the UI: turns each publish into at most two posted messages.

    Implements :class:`streamwatch.pipeline.Sink`. It never blocks and never touches widgets:
    ``post_message`` is safe from any task or thread. Stats are split off into a
    :class:`StatsUpdated`, which Textual merges when several are queued.
    """

    def __init__(self, app: App[Any]) -> None:
        self._app = app
        self.closed = False

    async def publish(self, events: Sequence[OutputEvent]) -> None:
        batch: list[OutputEvent] = []
        stats: PipelineStats | None = None
        for event in events:
            if isinstance(event, PipelineStats):
                stats = event
            else:
                batch.append(event)
        if batch:
            self._app.post_message(OutputBatch(tuple(batch)))
        if stats is not None:
            self._app.post_message(StatsUpdated(stats))

    async def close(self) -> None:
        self.closed = True
        self._app.post_message(SinkClosed())


class StreamwatchApp(App[None]):
    """The host assistant's screen."""

    CSS_PATH: ClassVar[str] = str(Path(__file__).with_name("streamwatch.tcss"))

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "act('answer')", "Answered"),
        Binding("d", "act('dismiss')", "Dismiss"),
        Binding("p", "act('pin')", "Pin/unpin"),
        Binding("r", "act('reopen')", "Reopen"),
        Binding("v", "toggle_view", "Open/all"),
        Binding("f", "freeze", "Freeze chat"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    queue: ConcernQueue
    chat: ChatFeed
    alerts: AlertsPanel
    status_bar: StatusBar

    def __init__(
        self,
        *,
        title: str = "streamwatch",
        subtitle: str = "",
        clock: Callable[[], float] = time.time,
        refresh_interval: float = REFRESH_INTERVAL,
    ) -> None:
        super().__init__()
        self.title = clean(title, limit=80)
        self.sub_title = clean(subtitle, limit=120)
        self.sink = TuiSink(self)
        """Pass this to the :class:`Pipeline` as one of its sinks."""
        self._clock = clock
        self._refresh_interval = refresh_interval
        self._pipeline: Pipeline | None = None
        self._pipeline_worker: Worker[Any] | None = None
        self._pipeline_finished = asyncio.Event()
        self._quitting = False
        self._backlog: list[OutputEvent] = []
        self._widgets_ready = False
        self.final_stats: PipelineStats | None = None
        """What :meth:`Pipeline.run` returned, once it has."""

    # -- setup ----------------------------------------------------------------------------

    def attach(self, pipeline: Pipeline) -> None:
        """Run ``pipeline`` while the app runs (started on mount, or now if already mounted)."""
        if self._pipeline is not None:
            raise RuntimeError("a pipeline is already attached")
        self._pipeline = pipeline
        if self._widgets_ready:
            self._start_pipeline()

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield ConcernQueue(clock=self._clock, id="concerns")
        with Horizontal(id="lower"):
            yield ChatFeed(id="chat")
            yield AlertsPanel(clock=self._clock, id="alerts")
        yield StatusBar(clock=self._clock, id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.queue = self.query_one(ConcernQueue)
        self.chat = self.query_one(ChatFeed)
        self.alerts = self.query_one(AlertsPanel)
        self.status_bar = self.query_one(StatusBar)
        self._widgets_ready = True
        for event in self._backlog:
            self._route(event)
        self._backlog.clear()
        self.queue.focus()
        self.set_interval(self._refresh_interval, self.flush_now, name="redraw")
        if self._pipeline is not None:
            self._start_pipeline()

    def _start_pipeline(self) -> None:
        assert self._pipeline is not None
        self.status_bar.set_pipeline_state("running")
        self._pipeline_worker = self.run_worker(
            self._run_pipeline(self._pipeline),
            name="pipeline",
            group="pipeline",
            exclusive=True,
            exit_on_error=False,
        )

    async def _run_pipeline(self, pipeline: Pipeline) -> None:
        try:
            self.final_stats = await pipeline.run()
        finally:
            self._pipeline_finished.set()

    # -- pipeline output ------------------------------------------------------------------

    def on_output_batch(self, message: OutputBatch) -> None:
        if not self._widgets_ready:
            self._backlog.extend(message.events)
            return
        for event in message.events:
            self._route(event)

    def on_stats_updated(self, message: StatsUpdated) -> None:
        if not self._widgets_ready:
            self._backlog.append(message.stats)
            return
        self.status_bar.set_stats(message.stats)

    def on_sink_closed(self, _: SinkClosed) -> None:
        if self._widgets_ready and self._pipeline_worker is None:
            # Someone else runs the pipeline; its closing the sinks is our end-of-stream signal.
            self.status_bar.set_pipeline_state("stream ended")

    def _route(self, event: OutputEvent) -> None:
        if isinstance(event, ClassifiedMessage):
            self.chat.add(event)
            self.status_bar.message_seen(event.message.source, event.message.received_at)
        elif isinstance(event, ConcernUpdate):
            self.queue.apply(event.concern)
        elif isinstance(event, AlertEvent):
            self.alerts.add(event)
        elif isinstance(event, SourceStatus):
            self.status_bar.source_status(event)
        elif isinstance(event, InputSkipped):
            self.status_bar.input_skipped(event)
        elif isinstance(event, MessageDeleted):
            self.chat.delete(event)
        elif isinstance(event, PipelineStats):
            self.status_bar.set_stats(event)
        # HostAction: the ConcernUpdate the engine publishes with it carries the new state.

    def flush_now(self) -> None:
        """Redraw every widget from its model (the timer calls this; tests may too)."""
        if not self._widgets_ready:
            return
        self.queue.redraw()
        self.chat.flush()
        self.alerts.redraw()
        self.status_bar.redraw()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._pipeline_worker:
            return
        if event.state is WorkerState.SUCCESS:
            self.status_bar.set_pipeline_state("stream ended")
        elif event.state is WorkerState.ERROR:
            error = event.worker.error
            log.error("the pipeline failed", exc_info=error)
            self.status_bar.set_pipeline_state(f"pipeline failed: {type(error).__name__}: {error}")
        elif event.state is WorkerState.CANCELLED:
            self.status_bar.set_pipeline_state("stream ended (cancelled)")

    # -- keys -----------------------------------------------------------------------------

    @property
    def pipeline_running(self) -> bool:
        return (
            self._pipeline is not None
            and self._pipeline_worker is not None
            and not self._pipeline_finished.is_set()
            and not self._quitting
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Queue keys act on what is visible: not while the help screen covers the queue."""
        return not (action in _QUEUE_ACTIONS and isinstance(self.screen, HelpScreen))

    def action_act(self, kind: str) -> None:
        concern = self.queue.selected()
        if concern is None:
            self.notify("No concern selected.", severity="warning", markup=False)
            return
        action = _action_for(ActionKind(kind), concern)
        if action is None:
            self.notify(f"Already {concern.status.value}.", markup=False)
            return
        if not self.pipeline_running:
            self.notify(
                "The pipeline is not running: the action was not recorded.",
                severity="warning",
                markup=False,
            )
            return
        assert self._pipeline is not None
        host_action = HostAction(action, concern.concern_id, at=self._clock(), by="tui")
        self._pipeline.submit_action(host_action)
        self.queue.mark_pending(concern.concern_id, action)
        self.queue.redraw()
        self.post_message(ActionSubmitted(host_action))

    def action_toggle_view(self) -> None:
        self.queue.toggle_view()
        self.queue.redraw()

    def action_freeze(self) -> None:
        self.chat.toggle_freeze()
        self.chat.flush()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        if self._quitting or not self.pipeline_running:
            self.exit()  # nothing to wait for, or a second q: do not wait any longer
            return
        assert self._pipeline is not None
        self._quitting = True
        self.status_bar.set_pipeline_state("stopping…")
        self._pipeline.stop()
        self.run_worker(self._exit_when_stopped(), name="quit", group="quit")

    async def _exit_when_stopped(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._pipeline_finished.wait(), QUIT_TIMEOUT)
        self.exit()


_QUEUE_ACTIONS: Final = frozenset({"act", "toggle_view", "freeze"})


def _action_for(kind: ActionKind, concern: Concern) -> ActionKind | None:
    """The action a key means for this concern (``p`` toggles), or None if it changes nothing."""
    if kind is ActionKind.PIN:
        return ActionKind.UNPIN if concern.pinned else ActionKind.PIN
    if kind is ActionKind.ANSWER and concern.status is ConcernStatus.ANSWERED:
        return None
    if kind is ActionKind.DISMISS and concern.status is ConcernStatus.DISMISSED:
        return None
    if kind is ActionKind.REOPEN and concern.status is ConcernStatus.OPEN:
        return None
    return kind
