"""The help screen (``?``): what each key does and what the marks in the feed mean."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

_KEYS = (
    ("↑ / ↓", "move through the concern queue"),
    ("a", "mark the selected concern answered"),
    ("d", "dismiss it (needs no answer)"),
    ("p", "pin / unpin it (pinned stay on top)"),
    ("r", "reopen an answered or dismissed concern"),
    ("v", "show open concerns / all concerns"),
    ("f", "freeze / unfreeze the chat feed"),
    ("?", "this help"),
    ("q, ctrl+c", "quit (stops the pipeline and flushes the journal)"),
)

_MARKS = (
    ("?", "bold cyan", "question"),
    ("!", "bold red", "distrust (doubt about honesty, safety, price or payment)"),
    ("·", "dim", "not classified (model error or overload); still recorded"),
    (" HOST ", "bold black on yellow", "the host's own message"),
    ("⚑", "bold yellow", "pinned concern"),
)


def help_text() -> Text:
    text = Text(end="")
    text.append("Keys\n", style="bold underline")
    for key, what in _KEYS:
        text.append(f"  {key:<10}", style="bold")
        text.append(f" {what}\n")
    text.append("\nChat feed marks\n", style="bold underline")
    for mark, style, what in _MARKS:
        text.append("  ")
        text.append(mark, style=style)
        text.append(f"  {what}\n")
    text.append("\nStatus bar: dropped / skipped / unclassified count every message not fully\n")
    text.append("processed; a failed source stays listed with its reason.\n")
    text.append("\nPress escape or ? to close.", style="dim")
    return text


class HelpScreen(ModalScreen[None]):
    """A modal with the key map; any of escape, ``?`` or ``q`` closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(help_text(), id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
