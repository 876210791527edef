"""The sanitizer that stands between untrusted chat text and the terminal."""

from __future__ import annotations

import unicodedata

import pytest
from rich.console import Console
from rich.text import Text

from streamwatch.tui.sanitize import (
    DEFAULT_LIMIT,
    ELLIPSIS,
    NAME_LIMIT,
    REPLACEMENT,
    clean,
    clean_name,
    safe_text,
)


def _rendered(text: Text) -> str:
    """What a terminal would receive for ``text`` (with colour codes on)."""
    console = Console(force_terminal=True, color_system="truecolor", width=400, record=False)
    with console.capture() as cap:
        console.print(text, end="")
    return cap.get()


def test_plain_text_is_unchanged() -> None:
    for text in ("how much is this?", "这个多少钱？", "сколько стоит", "كم السعر؟", "👍🏽 nice"):
        assert clean(text) == text


@pytest.mark.parametrize(
    "markup",
    ["[bold]free[/bold]", "[link=https://evil.example]click[/link]", "<s>x</s>", "[/]", "[red"],
)
def test_markup_shows_literally(markup: str) -> None:
    text = safe_text(markup)
    assert text.plain == markup
    assert not text.spans  # no style was parsed out of the text
    assert text.style == ""
    # Rich renders it verbatim: the brackets reach the screen, no hyperlink escape is emitted.
    out = _rendered(text)
    assert markup in out
    assert "\x1b]8;" not in out


def test_csi_sequence_is_made_visible() -> None:
    cleaned = clean("\x1b[31mred\x1b[0m")
    assert cleaned == "␛[31mred␛[0m"
    assert "\x1b" not in cleaned


def test_osc_title_sequence_is_made_visible() -> None:
    cleaned = clean("\x1b]0;pwned\x07after")
    assert cleaned == "␛]0;pwned␇after"
    assert not any(unicodedata.category(ch) == "Cc" for ch in cleaned)


def test_every_control_character_is_replaced() -> None:
    controls = "".join(chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)))
    cleaned = clean(controls, limit=1000)
    assert len(cleaned) == len(controls)  # one placeholder per character, nothing vanishes
    assert not any(unicodedata.category(ch) == "Cc" for ch in cleaned)
    assert cleaned[0x0A] == "␊"  # newline
    assert cleaned[0x09] == "␉"  # tab
    assert cleaned[0x1B] == "␛"  # escape
    assert cleaned[0x20] == "␡"  # DEL
    assert cleaned[0x21 + 0x1B] == REPLACEMENT  # U+009B, the 8-bit CSI


@pytest.mark.parametrize("char", ["\u202e", "\u202d", "\u202a", "\u2066", "\u2067", "\u2069"])
def test_bidi_overrides_are_replaced(char: str) -> None:
    cleaned = clean(f"price {char}evil")
    assert char not in cleaned
    assert cleaned == f"price {REPLACEMENT}evil"


def test_line_separators_do_not_break_lines() -> None:
    assert clean("a\u2028b\u2029c") == "a␤b␤c"


def test_lone_surrogates_become_replacement_and_encode() -> None:
    cleaned = clean("ok \ud800 and \udfff")
    assert cleaned == f"ok {REPLACEMENT} and {REPLACEMENT}"
    cleaned.encode("utf-8")  # would raise UnicodeEncodeError on a surrogate


def test_one_megabyte_message_is_truncated() -> None:
    huge = "A" * 1_000_000
    cleaned = clean(huge)
    assert len(cleaned) == DEFAULT_LIMIT + 1
    assert cleaned.endswith(ELLIPSIS)
    assert cleaned[:-1] == "A" * DEFAULT_LIMIT


def test_truncation_happens_before_replacement_and_keeps_length() -> None:
    cleaned = clean("\x1b" * 1_000_000, limit=10)
    assert cleaned == "␛" * 10 + ELLIPSIS


def test_text_at_the_limit_is_not_cut() -> None:
    assert clean("x" * DEFAULT_LIMIT) == "x" * DEFAULT_LIMIT


def test_combining_mark_floods_are_cut() -> None:
    zalgo = "a" + "\u0301" * 500 + "b"
    cleaned = clean(zalgo, limit=1000)
    assert cleaned == "a" + "\u0301" * 4 + "b"
    # ordinary accents survive
    assert clean("cafe\u0301") == "cafe\u0301"


def test_names_are_cut_shorter() -> None:
    assert clean_name("n" * 100) == "n" * NAME_LIMIT + ELLIPSIS
    assert clean_name("[bold]x\x1b") == "[bold]x␛"


def test_safe_text_applies_only_the_given_style() -> None:
    text = safe_text("[red]hi[/red]", style="cyan")
    assert text.plain == "[red]hi[/red]"
    assert str(text.style) == "cyan"
    assert not text.spans
