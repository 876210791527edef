"""Replaying a recorded session from the journal as a source."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

from streamwatch.connectors.files import paced
from streamwatch.events import ChatMessage, SourceEvent, SourceState, SourceStatus
from streamwatch.journal import Journal, SessionInfo


class SessionSource:
    """Re-emits the chat messages of a recorded session (with their ids) at ``speed``."""

    def __init__(self, journal: Journal, info: SessionInfo, *, speed: float | None) -> None:
        self.journal = journal
        self.info = info
        self.speed = speed

    @property
    def name(self) -> str:
        return f"session:{self.info.id}"

    def _messages(self) -> Iterator[ChatMessage]:
        for item in self.journal.iter_messages(self.info.id):
            yield item.message

    async def events(self) -> AsyncIterator[SourceEvent]:
        yield SourceStatus(self.name, SourceState.LIVE, time.time(), detail=self.info.command)
        count = 0
        try:
            async for event in paced(self._messages(), speed=self.speed):
                count += 1
                yield event
        finally:
            self.journal.close()
        yield SourceStatus(self.name, SourceState.ENDED, time.time(), detail=f"{count} messages")
