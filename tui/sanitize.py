"""Make untrusted text (chat, names, labels, server error strings) safe to put on the screen.

Chat text is attacker-controlled. Three things can go wrong when it reaches a terminal UI:

* **Markup injection.** Textual and Rich parse ``[bold]``/``[link=...]`` in plain ``str``
  renderables. Everything here returns plain strings meant for ``rich.text.Text(...)`` (never
  ``Text.from_markup``), and :func:`safe_text` builds that ``Text`` directly.
* **Terminal control.** ESC starts CSI/OSC sequences (colours, window titles, hyperlinks,
  clipboard writes); other C0/C1 controls move the cursor or ring the bell. Every control
  character is replaced by a visible placeholder (``␛``, ``␇``, ``␊``...), so ``"\\x1b[31m"``
  shows as ``␛[31m`` and cannot act.
* **Spoofing and floods.** Bidi embeddings, overrides and isolates (U+202A-U+202E,
  U+2066-U+2069) reorder the rest of a line; line/paragraph separators break lines; lone
  surrogates make the terminal encoder raise; thousands of stacked combining marks ("zalgo")
  smear over neighbouring lines; a 1 MB message would stall rendering. Overrides become ``�``,
  separators ``␤``, surrogates ``�``, combining runs are cut to a few marks, and the text is
  truncated to ``limit`` characters with an ellipsis *before* any per-character work.

The mapping is one character to one character, so truncation and replacement commute and the
result is never longer than ``limit + 1`` characters.
"""

from __future__ import annotations

import re
from typing import Final

from rich.style import Style
from rich.text import Text

DEFAULT_LIMIT: Final = 300
"""Characters kept from a chat message before the ellipsis."""

NAME_LIMIT: Final = 32
"""Characters kept from a display name."""

ELLIPSIS: Final = "…"
REPLACEMENT: Final = "\ufffd"
LINE_BREAK_SYMBOL: Final = "\u2424"  # ␤

_MAX_COMBINING: Final = 4
"""Combining marks kept after one base character."""


def _build_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x20):  # C0 controls -> Unicode "Control Pictures" (␀ .. ␟)
        table[code] = chr(0x2400 + code)
    table[0x7F] = "\u2421"  # ␡
    for code in range(0x80, 0xA0):  # C1 controls, including the 8-bit CSI (U+009B)
        table[code] = REPLACEMENT
    for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)):  # bidi embed/override/isolate
        table[code] = REPLACEMENT
    table[0x2028] = LINE_BREAK_SYMBOL  # line separator
    table[0x2029] = LINE_BREAK_SYMBOL  # paragraph separator
    for code in range(0xD800, 0xE000):  # lone surrogates (from "\\ud800" in JSON, say)
        table[code] = REPLACEMENT
    return table


_TABLE: Final = _build_table()

_COMBINING: Final = (
    "\u0300-\u036f"  # combining diacritical marks
    "\u0489"  # combining cyrillic millions sign
    "\u1ab0-\u1aff"  # combining diacritical marks extended
    "\u1dc0-\u1dff"  # combining diacritical marks supplement
    "\u20d0-\u20ff"  # combining marks for symbols
    "\ufe20-\ufe2f"  # combining half marks
)
_ZALGO: Final = re.compile(f"([{_COMBINING}]{{{_MAX_COMBINING}}})[{_COMBINING}]+")


def clean(text: str, *, limit: int = DEFAULT_LIMIT) -> str:
    """Return ``text`` with controls made visible, spoofing characters replaced, and truncated.

    ``limit`` counts characters (not cells); a cut text ends with ``…``. ``limit <= 0`` keeps
    nothing but the ellipsis when there was any text.
    """
    truncated = len(text) > limit
    if truncated:
        text = text[: max(0, limit)]
    if not text.isprintable():
        # isprintable() is False for every character the table maps (Cc, Cf, Cs, Zl, Zp) and
        # also for harmless ones (U+3000), so it is only a fast path.
        text = text.translate(_TABLE)
    if len(text) > _MAX_COMBINING:
        text = _ZALGO.sub(r"\1", text)
    return text + ELLIPSIS if truncated else text


def clean_name(name: str) -> str:
    """A display name made safe, cut to :data:`NAME_LIMIT` characters."""
    return clean(name, limit=NAME_LIMIT)


def safe_text(text: str, *, limit: int = DEFAULT_LIMIT, style: str | Style = "") -> Text:
    """A ``rich.text.Text`` showing ``text`` literally (no markup parsing), cleaned and cut."""
    return Text(clean(text, limit=limit), style=style, end="")
