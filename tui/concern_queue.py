"""The prioritized queue of concerns: a DataTable the host's assistant works through.

Updates only touch a dict (:meth:`ConcernQueue.apply`); :meth:`ConcernQueue.redraw`, which the
app calls from its refresh timer, brings the table up to date touching only the rows that
changed, so a burst of hundreds of updates costs one redraw. The cursor follows the concern it
is on (by id) across redraws, so a new, more urgent concern arriving above it never makes a key
act on the wrong row.

Order: pinned first, then (in the "all" view) open before closed, then priority, then age.
Answered and dismissed concerns leave the default "open" view; ``v`` shows all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar, Final

from rich.text import Text
from textual.widgets import DataTable

from streamwatch.events import ActionKind, Concern, ConcernStatus, Topic
from streamwatch.tui.sanitize import clean

MAX_ROWS: Final = 100
"""Rows drawn at most; the rest are counted in the title (keeps a redraw cheap)."""

PIN_MARK: Final = "⚑"

TOPIC_NAMES: Final[dict[Topic, str]] = {
    Topic.PRICE_PROMO: "price/promo",
    Topic.SHIPPING: "shipping",
    Topic.RETURNS_AFTERSALES: "returns",
    Topic.AUTHENTICITY_QUALITY: "authenticity",
    Topic.SIZE_SPECS: "size/specs",
    Topic.STOCK: "stock",
    Topic.PAYMENT_SECURITY_PRIVACY: "payment",
    Topic.PRODUCT_USAGE: "usage",
    Topic.HOST_INTERACTION: "host",
    Topic.OTHER: "other",
}

_PENDING_NAMES: Final[dict[ActionKind, str]] = {
    ActionKind.ANSWER: "answer…",
    ActionKind.DISMISS: "dismiss…",
    ActionKind.PIN: "pin…",
    ActionKind.UNPIN: "unpin…",
    ActionKind.REOPEN: "reopen…",
}

# (key, header, width); the label column takes the remaining width.
_COLUMNS: Final = (
    ("pin", " ", 1),
    ("priority", "prio", 5),
    ("topic", "topic", 12),
    ("viewers", "viewers", 7),
    ("langs", "langs", 8),
    ("distrust", "distrust", 8),
    ("age", "age", 6),
    ("status", "status", 9),
)
_LABEL_MIN: Final = 20
_LABEL_LIMIT: Final = 160


def format_age(seconds: float) -> str:
    """``45s``, ``12m05s``, ``3h07m``: compact, at most 6 characters below 100 hours."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def _languages(langs: tuple[str, ...]) -> str:
    shown = ",".join(clean(lang, limit=3) for lang in langs[:2])
    return shown if len(langs) <= 2 else f"{shown},+{len(langs) - 2}"


class _PinCell(Text):
    """The pin cell; it also carries its row's concern id, which ``sort`` keys on."""

    __slots__ = ("concern_id",)

    def __init__(self, concern_id: str, mark: str) -> None:
        super().__init__(mark, style="bold yellow", end="")
        self.concern_id = concern_id


class ConcernQueue(DataTable[Text]):
    """Open concerns, most urgent first; the row under the cursor is what keys act on."""

    BORDER_TITLE: ClassVar[str] = "concerns"

    def __init__(self, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._clock = clock
        self._concerns: dict[str, Concern] = {}
        self._pending: dict[str, ActionKind] = {}
        self._shown: list[str] = []
        self._ages: list[str] = []
        self._changed: set[str] = set()
        self._dirty = True
        self._label_width = 0
        self.show_all = False
        """False: only open concerns; True: every concern, closed ones dimmed."""

    def on_mount(self) -> None:
        self.redraw()

    def on_resize(self) -> None:
        if self._fit_label_width() != self._label_width:
            self._dirty = True
            self.redraw()

    # -- model ----------------------------------------------------------------------------

    def apply(self, concern: Concern) -> None:
        """Take the newest snapshot of a concern (from a ConcernUpdate); redrawn later."""
        self._concerns[concern.concern_id] = concern
        self._pending.pop(concern.concern_id, None)
        self._changed.add(concern.concern_id)
        self._dirty = True

    def mark_pending(self, concern_id: str, action: ActionKind) -> None:
        """Show that an action was sent and its confirming update has not arrived yet."""
        self._pending[concern_id] = action
        self._changed.add(concern_id)
        self._dirty = True

    def get(self, concern_id: str) -> Concern | None:
        return self._concerns.get(concern_id)

    @property
    def concerns(self) -> dict[str, Concern]:
        """Every concern seen, by id (read-only use)."""
        return self._concerns

    def toggle_view(self) -> None:
        self.show_all = not self.show_all
        self._dirty = True

    def view_items(self) -> list[Concern]:
        """The concerns of the current view, in display order (before the row cap)."""
        items = [
            c for c in self._concerns.values() if self.show_all or c.status is ConcernStatus.OPEN
        ]
        items.sort(
            key=lambda c: (
                not c.pinned,
                c.status is not ConcernStatus.OPEN,
                -c.priority,
                c.first_at,
                c.concern_id,
            )
        )
        return items

    @property
    def shown_ids(self) -> list[str]:
        """Concern ids in the rows as drawn now, top to bottom."""
        return list(self._shown)

    def selected(self) -> Concern | None:
        """The concern under the cursor, as drawn."""
        if not self._shown or not 0 <= self.cursor_row < len(self._shown):
            return None
        return self._concerns.get(self._shown[self.cursor_row])

    # -- drawing --------------------------------------------------------------------------

    def _fit_label_width(self) -> int:
        fixed = sum(width + 2 * self.cell_padding for _, _, width in _COLUMNS)
        available = self.scrollable_content_region.width - fixed - 2 * self.cell_padding
        return max(_LABEL_MIN, available)

    def _ensure_columns(self) -> bool:
        """(Re)create the columns when the label width changed; True if the rows were lost."""
        width = self._fit_label_width()
        if self.columns and width == self._label_width:
            return False
        self.clear(columns=True)
        for key, header, col_width in _COLUMNS:
            self.add_column(Text(header), width=col_width, key=key)
        self._label_width = width
        self.add_column(Text("label"), width=width, key="label")
        self._shown = []
        self._ages = []
        return True

    def redraw(self) -> None:
        """Apply what changed since the last redraw, touching only the rows that changed.

        DataTable measures every added row, so rows are updated in place, added or removed
        one by one, and reordered with ``sort``; a full rebuild happens only when the width
        changes. Without changes, only the age cells that show a new value are updated.
        """
        now = self._clock()
        if self._dirty:
            self._apply_changes(now)
        for row, concern_id in enumerate(self._shown):
            age = format_age(now - self._concerns[concern_id].first_at)
            if age != self._ages[row]:
                self._ages[row] = age
                self.update_cell(concern_id, "age", self._age_text(concern_id, age))

    def _apply_changes(self, now: float) -> None:
        self._dirty = False
        selected = self.selected()
        old_row = self.cursor_row
        changed, self._changed = self._changed, set()
        if self._ensure_columns():
            changed = set(self._concerns)
        items = self.view_items()
        hidden = max(0, len(items) - MAX_ROWS)
        items = items[:MAX_ROWS]
        wanted = [c.concern_id for c in items]
        wanted_set = set(wanted)
        present = set(self._shown)
        for concern_id in present - wanted_set:
            self.remove_row(concern_id)
        ages: dict[str, str] = {}
        for concern in items:
            cid = concern.concern_id
            age = ages[cid] = format_age(now - concern.first_at)
            if cid not in present:
                self.add_row(*self._cells(concern, age), key=cid)
            elif cid in changed:
                for (key, _, _), cell in zip(_COLUMNS, self._cells(concern, age), strict=False):
                    self.update_cell(cid, key, cell)
                self.update_cell(cid, "label", self._label_text(concern))
        current = [row.key.value for row in self.ordered_rows]
        if current != wanted:
            rank = {cid: i for i, cid in enumerate(wanted)}
            self.sort("pin", key=lambda cell: rank[cell.concern_id])
        self._shown = wanted
        self._ages = [ages[cid] for cid in wanted]
        view = "all" if self.show_all else "open"
        more = f", +{hidden} more" if hidden else ""
        self.border_title = f"concerns: {view} ({len(items) + hidden}{more})"
        if not items:
            return
        row = old_row
        if selected is not None and selected.concern_id in wanted_set:
            row = wanted.index(selected.concern_id)
        row = min(max(0, row), len(items) - 1)
        if row != self.cursor_row:
            self.move_cursor(row=row, animate=False)

    def _age_text(self, concern_id: str, age: str) -> Text:
        closed = self._concerns[concern_id].status is not ConcernStatus.OPEN
        return Text(age, style="dim" if closed else "")

    def _label_text(self, c: Concern) -> Text:
        style = "dim" if c.status is not ConcernStatus.OPEN else ""
        return Text(
            clean(c.label, limit=_LABEL_LIMIT), style=style, no_wrap=True, overflow="ellipsis"
        )

    def _cells(self, c: Concern, age: str) -> list[Text]:
        closed = c.status is not ConcernStatus.OPEN
        dim = "dim" if closed else ""
        pending = self._pending.get(c.concern_id)
        status = Text(c.status.value, style=dim)
        if pending is not None:
            status = Text(_PENDING_NAMES[pending], style="italic")
        elif c.status is ConcernStatus.ANSWERED:
            status = Text("answered", style="green")
        return [
            _PinCell(c.concern_id, PIN_MARK if c.pinned else ""),
            Text(f"{c.priority:5.1f}", style=dim or "bold"),
            Text(TOPIC_NAMES.get(c.topic, str(c.topic)), style=dim),
            Text(str(c.author_count), style=dim, justify="right"),
            Text(_languages(c.languages), style=dim),
            Text(
                str(c.distrust_count),
                style="bold red" if c.distrust_count and not closed else dim,
                justify="right",
            ),
            Text(age, style=dim),
            status,
            self._label_text(c),
        ]
