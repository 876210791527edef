"""Sans-I/O parsers for Server-Sent Events and NDJSON: bytes in, events or lines out.

:class:`SseParser` follows the WHATWG HTML "event stream" interpretation rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):

* the stream is UTF-8; a leading BOM is dropped; invalid bytes become U+FFFD (and are counted);
* lines end with CRLF, LF or CR, and a CRLF split across two reads is still one line end;
* ``data:`` lines are joined with LF; ``event:`` sets the type (default ``message``); ``id:``
  (unless it contains NUL) sets the last event id, which persists across events and reconnects
  and is what a client sends back as ``Last-Event-ID``; ``retry:`` with only ASCII digits sets
  the reconnection time in ms; a line starting with ``:`` is a comment; one leading space after
  the colon is removed; unknown fields are ignored;
* an empty line dispatches the event, unless no ``data`` was given; at the end of the stream an
  unfinished event is discarded, never dispatched.

:class:`NdjsonSplitter` splits newline-delimited JSON into numbered lines (CRLF tolerated, blank
lines skipped, a leading BOM dropped); a final line without a newline counts only when the
stream ended cleanly. Both cap what they buffer and report oversized events or lines instead.
"""

from __future__ import annotations

import codecs
import re
import threading
from dataclasses import dataclass, field
from typing import Final

DEFAULT_MAX_EVENT_BYTES: Final = 1_000_000

_EOL = re.compile(r"\r\n|\r|\n")
_invalid = threading.local()


def _count_and_replace(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    _invalid.count = getattr(_invalid, "count", 0) + 1
    return "\ufffd", exc.end


_ERRORS: Final = "streamwatch-sse-replace"
codecs.register_error(_ERRORS, _count_and_replace)


@dataclass(frozen=True, slots=True)
class SseEvent:
    """A dispatched event: ``data`` (lines joined by LF), type, and the last event id."""

    data: str
    event: str = "message"
    id: str = ""
    number: int = 0
    """1-based count of events dispatched by this parser (for error messages)."""


@dataclass(frozen=True, slots=True)
class SseOversized:
    """An event or line was larger than the limit and was discarded."""

    number: int
    size: int


SseItem = SseEvent | SseOversized


@dataclass
class SseParser:
    """Feed bytes with :meth:`receive_data`, collect with :meth:`events_received`."""

    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    last_event_id: str = ""
    """The last event id string: what to send as ``Last-Event-ID`` when reconnecting."""
    retry: int | None = None
    """Reconnection time in milliseconds the server asked for, if any."""
    comments: int = 0
    invalid_utf8: int = 0
    dispatched: int = 0
    _decoder: codecs.IncrementalDecoder = field(init=False)
    _pending: str = ""
    _skip_lf: bool = False
    _discarding_line: bool = False
    _data: list[str] = field(default_factory=list)
    _data_size: int = 0
    _event_type: str = ""
    _id_buffer: str = ""
    _oversized: int = 0
    _out: list[SseItem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._id_buffer = self.last_event_id
        self._new_decoder()

    def _new_decoder(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors=_ERRORS)

    def receive_data(self, data: bytes) -> None:
        """Parse the next bytes of the stream."""
        _invalid.count = 0
        text = self._decoder.decode(data)
        self.invalid_utf8 += _invalid.count
        if not text:
            return
        if self._skip_lf:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
        buffer = self._pending + text if self._pending else text
        start = 0
        for match in _EOL.finditer(buffer):
            end = match.start()
            if self._discarding_line:
                self._discarding_line = False
            else:
                self._line(buffer[start:end])
            start = match.end()
        rest = buffer[start:]
        if buffer.endswith("\r"):
            self._skip_lf = True
        if self._discarding_line:
            rest = ""
        elif len(rest) > self.max_event_bytes:
            self._oversized = max(self._oversized, len(rest))
            self._discarding_line = True
            rest = ""
        self._pending = rest

    def receive_eof(self) -> None:
        """The connection ended: drop the unfinished line and event; ready for a new stream."""
        self._pending = ""
        self._skip_lf = False
        self._discarding_line = False
        self._data = []
        self._data_size = 0
        self._event_type = ""
        self._oversized = 0
        self._id_buffer = self.last_event_id
        self._new_decoder()

    def events_received(self) -> list[SseItem]:
        """Events dispatched since the last call."""
        out, self._out = self._out, []
        return out

    def _line(self, line: str) -> None:
        if not line:
            self._dispatch()
            return
        if line[0] == ":":
            self.comments += 1
            return
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data_size += len(value) + 1
            if self._data_size > self.max_event_bytes:
                self._oversized = self._data_size
                self._data = []
            elif not self._oversized:
                self._data.append(value)
        elif name == "event":
            self._event_type = value
        elif name == "id":
            if "\0" not in value:
                self._id_buffer = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)

    def _dispatch(self) -> None:
        self.last_event_id = self._id_buffer
        oversized, self._oversized = self._oversized, 0
        data, self._data = self._data, []
        self._data_size = 0
        event_type, self._event_type = self._event_type, ""
        if oversized:
            self.dispatched += 1
            self._out.append(SseOversized(self.dispatched, oversized))
            return
        if not data:
            return
        self.dispatched += 1
        self._out.append(
            SseEvent("\n".join(data), event_type or "message", self.last_event_id, self.dispatched)
        )


@dataclass(frozen=True, slots=True)
class NdjsonLine:
    """One non-blank line (without its line end) and its 1-based line number."""

    number: int
    data: bytes


@dataclass(frozen=True, slots=True)
class NdjsonOversized:
    number: int
    size: int


NdjsonItem = NdjsonLine | NdjsonOversized


@dataclass
class NdjsonSplitter:
    """Split a byte stream of newline-delimited JSON into numbered lines."""

    max_line_bytes: int = DEFAULT_MAX_EVENT_BYTES
    line_number: int = 0
    """Lines completed so far (blank ones included)."""
    _buffer: bytearray = field(default_factory=bytearray)
    _discarding: int = 0
    _at_start: bool = True
    _out: list[NdjsonItem] = field(default_factory=list)

    def receive_data(self, data: bytes) -> None:
        if self._at_start and data:
            joined = bytes(self._buffer) + data
            if len(joined) < 3 and b"\xef\xbb\xbf".startswith(joined):
                self._buffer = bytearray(joined)
                return
            self._at_start = False
            self._buffer = bytearray()
            data = joined[3:] if joined.startswith(b"\xef\xbb\xbf") else joined
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            self.line_number += 1
            if self._discarding:
                size = self._discarding + end - start
                self._discarding = 0
                self._out.append(NdjsonOversized(self.line_number, size))
            else:
                if self._buffer:
                    self._buffer += data[start:end]
                    line = bytes(self._buffer)
                    self._buffer.clear()
                else:
                    line = data[start:end]
                self._emit(line)
            start = end + 1
        if start < len(data):
            if self._discarding:
                self._discarding += len(data) - start
            else:
                self._buffer += data[start:]
                if len(self._buffer) > self.max_line_bytes:
                    self._discarding = len(self._buffer)
                    self._buffer.clear()

    def _emit(self, line: bytes) -> None:
        if line.endswith(b"\r"):
            line = line[:-1]
        if len(line) > self.max_line_bytes:
            self._out.append(NdjsonOversized(self.line_number, len(line)))
        elif line.strip():
            self._out.append(NdjsonLine(self.line_number, line))

    def receive_eof(self, clean: bool = True) -> None:
        """End of stream; the last unterminated line counts only if ``clean``. Resets for reuse."""
        if self._discarding or self._buffer:
            self.line_number += 1
            if self._discarding:
                self._out.append(NdjsonOversized(self.line_number, self._discarding))
            elif clean:
                self._emit(bytes(self._buffer))
        self._buffer = bytearray()
        self._discarding = 0
        self._at_start = True

    @property
    def pending_bytes(self) -> int:
        """Bytes of an unfinished line (what a dropped connection would lose)."""
        return len(self._buffer) + self._discarding

    def lines_received(self) -> list[NdjsonItem]:
        out, self._out = self._out, []
        return out
