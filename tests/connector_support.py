"""Helpers the connector tests share: run a source, pick its events apart, record its sleeps,
serve an aiohttp app or a scripted WebSocket server on 127.0.0.1:0."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

from aiohttp import web
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from streamwatch.events import ChatMessage, InputSkipped, SourceEvent, SourceState, SourceStatus

Until = Callable[[list[SourceEvent]], bool]
"""Called with the events so far after each new one; True stops the collection."""


class EventSource(Protocol):
    def events(self) -> AsyncGenerator[SourceEvent, None]: ...


def never(events: list[SourceEvent]) -> bool:
    """Collect until the source ends by itself."""
    return False


async def collect(
    source: EventSource, until: Until = never, timeout: float = 30.0
) -> list[SourceEvent]:
    """Events until ``until`` holds or the source ends; fails after ``timeout`` seconds.

    The source's generator is closed on the way out, as the pipeline closes it.
    """
    events: list[SourceEvent] = []
    async with asyncio.timeout(timeout), aclosing(source.events()) as stream:
        async for event in stream:
            events.append(event)
            if until(events):
                break
    return events


def chats(events: list[SourceEvent]) -> list[ChatMessage]:
    return [e for e in events if isinstance(e, ChatMessage)]


def statuses(events: list[SourceEvent]) -> list[SourceStatus]:
    return [e for e in events if isinstance(e, SourceStatus)]


def states(events: list[SourceEvent]) -> list[SourceState]:
    return [e.state for e in events if isinstance(e, SourceStatus)]


def skips(events: list[SourceEvent]) -> list[InputSkipped]:
    return [e for e in events if isinstance(e, InputSkipped)]


def ended(events: list[SourceEvent]) -> bool:
    """The last event says the source ended or failed."""
    last = events[-1]
    return isinstance(last, SourceStatus) and last.state in (SourceState.ENDED, SourceState.FAILED)


def has_chats(n: int) -> Until:
    """True once ``n`` chat messages arrived (called once per new event, so O(1) each)."""
    seen = 0

    def check(events: list[SourceEvent]) -> bool:
        nonlocal seen
        seen += isinstance(events[-1], ChatMessage)
        return seen >= n

    return check


@dataclass
class RecordingSleep:
    """A source's ``sleep`` that records the delays it was asked for and returns at once."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


@asynccontextmanager
async def serve_app(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 at a free port; yields ``127.0.0.1:PORT``."""
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


S = TypeVar("S")


class FakeWebSocketServer(Generic[S]):
    """A websockets server on 127.0.0.1:0 running ``script`` on a session per connection.

    Subclasses say how a session is made (:meth:`open_session`) and what happens when the client
    goes away mid-script (:meth:`closed`) or the script is over (:meth:`finished`).
    """

    path = ""

    def __init__(self, script: Callable[[S], Awaitable[None]]) -> None:
        self.script = script
        self.sessions: list[S] = []
        self.server: Server | None = None

    def open_session(self, ws: ServerConnection, index: int) -> S:
        raise NotImplementedError

    def closed(self, session: S) -> None:
        """The connection closed while the script ran."""

    def finished(self, session: S) -> None:
        """The script is over, however it ended."""

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"ws://127.0.0.1:{self.server.sockets[0].getsockname()[1]}{self.path}"

    async def _handler(self, ws: ServerConnection) -> None:
        session = self.open_session(ws, len(self.sessions))
        self.sessions.append(session)
        try:
            await self.script(session)
        except ConnectionClosed:
            self.closed(session)
        finally:
            self.finished(session)

    async def __aenter__(self) -> Self:
        self.server = await serve(self._handler, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
