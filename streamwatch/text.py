"""Text normalization shared by grouping, caching and the baseline classifier."""

from __future__ import annotations

import re
import unicodedata

_REPEAT = re.compile(r"(.)\1{2,}")
_SPACE = re.compile(r"\s+")
_TERMINAL_ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves ("\x1b[31m")
    r"|\x9b[0-?]*[ -/]*[@-~]"  # the same with the 8-bit CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC (window titles, hyperlinks), terminated
    r"|\x1b[ -/]*[0-~]"  # any other escape sequence; an unterminated OSC loses only "\x1b]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2028\u2029\ufeff]")


def strip_terminal_escapes(text: str) -> str:
    """``text`` without terminal escape sequences: ``"\\x1b[31mscam\\x1b[0m"`` -> ``"scam"``.

    A chat message that carries colour codes means the same as one without them; the codes are
    not words, so the classifier, the cache and grouping all read the text without them.
    """
    return _TERMINAL_ESCAPE.sub("", text) if ("\x1b" in text or "\x9b" in text) else text


def blank_controls(text: str) -> str:
    """``text`` with control characters, zero-width spaces, line separators and the BOM
    replaced by spaces (chat is one line)."""
    return _CONTROL.sub(" ", text)


def visible_line(text: str) -> str:
    """``text`` as one line of what a reader sees: terminal escape sequences dropped, other
    control characters blanked, whitespace runs collapsed, stripped. The classifier reads chat
    this way (``streamwatch.models.encoder.prepare_text``) and the training data is cleaned this
    way (``streamwatch.models.training.sources.clean_text``)."""
    return _SPACE.sub(" ", blank_controls(strip_terminal_escapes(text))).strip()


SHOUT_MIN_LETTERS = 4
"""Fewest cased letters a text needs to count as shouted ("OK" and "GG" are not shouting)."""


def is_shouted(text: str) -> bool:
    """Whether ``text`` is written in capitals: at least :data:`SHOUT_MIN_LETTERS` cased letters,
    none of them lower case (``"IS THIS REAL?? 😡"``, ``"РАЗВОД"``; not ``"iPhone PRO"``)."""
    upper = 0
    for ch in text:
        if ch.islower():
            return False
        upper += ch.isupper()
    return upper >= SHOUT_MIN_LETTERS


def unshout(text: str) -> str:
    """``text`` lower-cased if it is shouted (see :func:`is_shouted`), else unchanged."""
    return text.lower() if is_shouted(text) else text


def normalize(text: str) -> str:
    """NFKC, casefold, letters/digits/CJK only, runs of 3+ same chars cut to 2, single spaces.

    ``"Is it REAL leather???"`` and ``"is it real leather ?"`` normalize alike; emoji-only and
    punctuation-only messages normalize to ``""``.
    """
    folded = unicodedata.normalize("NFKC", strip_terminal_escapes(text)).casefold()
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
