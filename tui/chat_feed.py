"""The live chat feed: every message with the classifier's labels, newest at the bottom.

Cost does not grow with the message rate: :meth:`ChatFeed.add` only queues a message,
:meth:`ChatFeed.flush` (from the app's refresh timer) moves the queue into a bounded scrollback of
``max_entries`` messages and measures them, and lines are rendered lazily (Line API), only those
on screen. Long messages wrap. The feed follows new messages unless the user scrolled up (then the
view stays on the same messages while old ones fall off the top); ``f`` freezes it: new messages
wait, counted in the title, until it is unfrozen. A moderator's deletion blanks the text at once,
frozen or not.

Chat text is untrusted: each line is a ``rich.text.Text`` built from
:func:`~streamwatch.tui.sanitize.clean` output, never parsed as markup.

Line layout::

    22:14:04 ?! viewer4: is this real leather or fake?  [authenticity en]
             ││
             │└ ``!`` red: distrust
             └─ ``?`` cyan: question;  ``·`` dim: unclassified
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass

from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from streamwatch.events import ClassifiedMessage, MessageDeleted, MessageKind, Role
from streamwatch.tui.concern_queue import TOPIC_NAMES
from streamwatch.tui.sanitize import clean, clean_name

DEFAULT_SCROLLBACK = 500


def _time_of_day(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def render_message(item: ClassifiedMessage, *, deleted: bool = False, source: bool = False) -> Text:
    """One feed entry for a classified message (pure: used by the feed and by tests)."""
    m, c = item.message, item.classification
    line = Text(end="")
    line.append(_time_of_day(m.sent_at), style="dim")
    line.append(" ")
    if source:
        line.append(clean(m.platform, limit=8), style="dim")
        line.append(" ")
    if c is None:
        line.append("· ", style="dim")
    elif m.role is Role.HOST:  # the host's own lines raise no concern: no viewer marks
        line.append("  ")
    else:
        line.append("?" if c.is_question else " ", style="bold cyan")
        line.append("!" if c.distrust else " ", style="bold red")
    line.append(" ")
    name = clean_name(m.display_name) or clean_name(m.author_id) or "?"
    if m.role is Role.HOST:
        line.append(" HOST ", style="bold black on yellow")
        line.append(" ")
        line.append(name, style="bold yellow")
    elif m.role is Role.MODERATOR:
        line.append("MOD ", style="bold green")
        line.append(name, style="bold green")
    elif m.role is Role.SYSTEM:
        line.append(name, style="dim italic")
    else:
        line.append(name, style="bold")
    if m.kind is MessageKind.PAID and m.amount:
        line.append(" ")
        line.append(f" {clean(m.amount, limit=16)} ", style="bold black on green")
    line.append(": ")
    if m.reply_to_author:
        line.append(f"↪ @{clean_name(m.reply_to_author)} ", style="dim")
    if deleted:
        line.append("(deleted by a moderator)", style="dim strike")
        return line
    if m.role is Role.HOST:
        style = "bold"
    elif m.role is Role.SYSTEM or m.kind is MessageKind.NOTICE:
        style = "dim italic"
    elif c is not None and c.distrust:
        style = "red"
    elif c is not None and c.is_question:
        style = "cyan"
    else:
        style = ""
    line.append(clean(m.text), style=style)
    if c is not None and (c.is_question or c.distrust):
        topic = TOPIC_NAMES.get(c.topic, str(c.topic))
        line.append(f"  [{topic} {clean(c.lang, limit=3)}]", style="dim")
    if m.role is Role.HOST:
        line.stylize("on grey23")
    return line


@dataclass(slots=True)
class _Entry:
    item: ClassifiedMessage
    deleted: bool = False
    text: Text | None = None
    """The rendered entry; built when first measured."""
    width: int = 0
    """The width ``height`` and ``lines`` were computed for (0: not yet)."""
    height: int = 1
    lines: list[Strip] | None = None
    """Wrapped lines, rendered only when drawn (or when the entry needs more than one line)."""

    def reset(self) -> None:
        self.text = None
        self.width = 0
        self.lines = None


class ChatFeed(ScrollView):
    """Bounded, colour-coded chat scrollback that follows the stream unless told not to."""

    def __init__(self, *, max_entries: int = DEFAULT_SCROLLBACK, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_entries = max_entries
        self._entries: deque[_Entry] = deque()
        self._pending: deque[_Entry] = deque(maxlen=max_entries)
        self._offsets: list[int] = [0]
        """``_offsets[i]``: first line of entry ``i``; the last item is the total height."""
        self._relayout = False
        self._sources: set[str] = set()
        self._unseen = 0
        self.frozen = False
        self.border_title = "chat"

    # -- model ----------------------------------------------------------------------------

    def add(self, item: ClassifiedMessage) -> None:
        """Queue one message; it is shown on the next :meth:`flush` (unless frozen)."""
        self._pending.append(_Entry(item))
        if len(self._sources) < 2:
            self._sources.add(item.message.source)
            if len(self._sources) == 2:  # from now on, say which source each line came from
                for entry in self._entries:
                    entry.reset()
                self._relayout = True
        if self.frozen:
            self._unseen += 1

    def delete(self, event: MessageDeleted) -> None:
        """Blank the text of deleted messages, shown or still queued."""
        for entry in (*self._entries, *self._pending):
            m = entry.item.message
            if entry.deleted or m.platform != event.platform or m.stream_id != event.stream_id:
                continue
            if (event.message_id is not None and m.message_id == event.message_id) or (
                event.message_id is None
                and event.author_id is not None
                and m.author_id == event.author_id
            ):
                entry.deleted = True
                entry.reset()
                self._relayout = True

    @property
    def entries(self) -> list[ClassifiedMessage]:
        """Messages in the scrollback (shown), oldest first."""
        return [e.item for e in self._entries]

    def toggle_freeze(self) -> bool:
        """Freeze or unfreeze the feed; returns the new state."""
        self.frozen = not self.frozen
        self._unseen = 0
        self._update_title()
        return self.frozen

    def rendered_lines(self) -> list[Strip]:
        """Every line of the scrollback at the current width (for tests and export)."""
        width = self._wrap_width()
        return [strip for entry in self._entries for strip in self._lines_of(entry, width)]

    # -- layout ---------------------------------------------------------------------------

    def _update_title(self) -> None:
        if self.frozen:
            self.border_title = f"chat: FROZEN (+{self._unseen} new, f to resume)"
        else:
            self.border_title = "chat"
        self.set_class(self.frozen, "-frozen")

    def _wrap_width(self) -> int:
        return max(20, self.scrollable_content_region.width)

    def _text_of(self, entry: _Entry) -> Text:
        if entry.text is None:
            entry.text = render_message(
                entry.item, deleted=entry.deleted, source=len(self._sources) > 1
            )
        return entry.text

    def _lines_of(self, entry: _Entry, width: int) -> list[Strip]:
        if entry.lines is None or entry.width != width:
            console = self.app.console
            options = console.options.update_width(width)
            rendered = console.render_lines(self._text_of(entry), options, pad=False)
            entry.lines = [Strip(line) for line in rendered] or [Strip.blank(0)]
            entry.width = width
            entry.height = len(entry.lines)
        return entry.lines

    def _measure(self, entry: _Entry, width: int) -> int:
        if entry.width != width:
            if self._text_of(entry).cell_len <= width:
                entry.height, entry.width, entry.lines = 1, width, None
            else:
                self._lines_of(entry, width)  # wraps: render it to know how many lines
        return entry.height

    def flush(self) -> None:
        """Show what arrived since the last flush; keep the view where the user left it."""
        if self.frozen:
            self._update_title()
        width = self._wrap_width()
        follow = self.is_vertical_scroll_end
        dropped = 0
        if not self.frozen and self._pending:
            self._entries.extend(self._pending)
            self._pending.clear()
            while len(self._entries) > self.max_entries:
                gone = self._entries.popleft()
                dropped += gone.height if gone.width else 1
            self._relayout = True
        if not self._relayout and all(e.width == width for e in self._entries):
            return
        self._relayout = False
        offsets = [0]
        total = 0
        for entry in self._entries:
            total += self._measure(entry, width)
            offsets.append(total)
        self._offsets = offsets
        self.virtual_size = Size(width, total)
        if follow and not self.frozen:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)
        elif dropped:
            self.scroll_to(
                y=max(0, self.scroll_y - dropped), animate=False, immediate=True, force=True
            )
        self.refresh()

    def on_resize(self) -> None:
        self._relayout = True
        self.flush()

    # -- drawing --------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        line_no = scroll_y + y
        total = self._offsets[-1]
        if not self._entries or line_no >= total or line_no < 0:
            return Strip.blank(width, self.rich_style)
        index = bisect_right(self._offsets, line_no) - 1
        entry = self._entries[index]
        lines = self._lines_of(entry, self._wrap_width())
        part = line_no - self._offsets[index]
        strip = lines[part] if part < len(lines) else Strip.blank(width)
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style).apply_style(
            self.rich_style
        )
