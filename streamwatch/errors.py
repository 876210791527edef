"""The one exception tree of streamwatch.

Every error streamwatch raises on purpose derives from :class:`StreamwatchError`::

    StreamwatchError
    ├── ConfigError            bad option, unknown source spec, missing credential
    ├── InputFormatError       a file that cannot be read at all (rows are skipped, not raised)
    ├── JournalError           the session journal cannot be opened or written
    │   └── SessionNotFound    no session with that id
    ├── ModelError             the classifier cannot be loaded or run
    ├── ConnectorError         a source failed
    │   ├── RetryableError     transient: reconnect with backoff
    │   ├── FatalConnectorError  do not retry: bad credentials, channel gone, quota exhausted
    │   └── Disconnected       internal to the reconnect loop (connectors/reconnect.py)
    ├── ProtocolError          bytes that do not follow the platform's protocol
    └── ScaleOutError          the shared (Redis) backend failed

Each error carries a short ``title`` that the command line prints before the message, so a user
sees ``error: journal: cannot open ...`` rather than a traceback (:func:`error_line`,
:func:`run_command`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable


class StreamwatchError(Exception):
    """Base class of every error streamwatch raises on purpose."""

    title = "error"
    exit_code = 1


class ConfigError(StreamwatchError):
    """An option, source spec or credential is missing or invalid."""

    title = "configuration"
    exit_code = 2


class InputFormatError(StreamwatchError):
    """An input file cannot be read at all (single bad rows are skipped and counted instead)."""

    title = "input"
    exit_code = 3


class JournalError(StreamwatchError):
    """The session journal cannot be opened, read or written."""

    title = "journal"
    exit_code = 4


class SessionNotFound(JournalError):
    """No recorded session matches the id the user gave."""

    title = "session"


class ModelError(StreamwatchError):
    """The classifier cannot be loaded or run."""

    title = "model"
    exit_code = 5


class ConnectorError(StreamwatchError):
    """A chat source failed."""

    title = "connector"
    exit_code = 6


class RetryableError(ConnectorError):
    """A transient failure: the connector reconnects with backoff."""


class FatalConnectorError(ConnectorError):
    """A failure that retrying cannot fix (bad token, unknown channel, quota exhausted)."""


class ProtocolError(StreamwatchError):
    """Bytes that do not follow the platform's protocol."""

    title = "protocol"


class ScaleOutError(StreamwatchError):
    """The shared backend used to scale out (Redis) failed."""

    title = "redis"
    exit_code = 7


def error_line(exc: StreamwatchError) -> str:
    """What a command prints for ``exc``: ``error: journal: cannot open ...``."""
    return f"error: {exc.title}: {exc}"


def run_command(body: Callable[[], int]) -> int:
    """Run a command's ``body``; a :class:`StreamwatchError` becomes its :func:`error_line` on
    stderr and its exit code instead of a traceback."""
    try:
        return body()
    except StreamwatchError as exc:
        print(error_line(exc), file=sys.stderr)
        return exc.exit_code
