"""The classifier protocol the pipeline calls.

A classifier is a synchronous object: the pipeline calls :meth:`Classifier.predict` from a worker
thread with micro-batches, so implementations may hold the GIL-releasing torch work freely but
must be safe to call from one thread at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from streamwatch.events import Classification


@runtime_checkable
class Classifier(Protocol):
    """Anything that labels chat texts."""

    @property
    def name(self) -> str:
        """Name and version recorded with every classification (``baseline-lexicon/1``)."""
        ...

    def predict(self, texts: Sequence[str]) -> list[Classification]:
        """Classify ``texts``; returns one :class:`Classification` per text, in order."""
        ...
