"""Text normalization shared by grouping, caching and the baseline classifier."""

from __future__ import annotations

import re
import unicodedata

_REPEAT = re.compile(r"(.)\1{2,}")
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC, casefold, letters/digits/CJK only, runs of 3+ same chars cut to 2, single spaces.

    ``"Is it REAL leather???"`` and ``"is it real leather ?"`` normalize alike; emoji-only and
    punctuation-only messages normalize to ``""``.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = [ch if (ch.isalnum() or ch.isspace()) else " " for ch in folded]
    squeezed = _REPEAT.sub(r"\1\1", "".join(kept))
    return _SPACE.sub(" ", squeezed).strip()


def bigrams(normalized: str) -> frozenset[str]:
    """Character bigrams of a normalized text (spaces removed), or the text itself if shorter."""
    compact = normalized.replace(" ", "")
    if len(compact) < 3:
        return frozenset({compact}) if compact else frozenset()
    return frozenset(compact[i : i + 2] for i in range(len(compact) - 1))


def dice(a: frozenset[str], b: frozenset[str]) -> float:
    """Dice coefficient of two bigram sets (0..1)."""
    if not a or not b:
        return 0.0
    return 2.0 * len(a & b) / (len(a) + len(b))
