"""Pick a connector for a source spec through the ``streamwatch.connectors`` entry points.

``twitch:somechannel``, ``youtube:VIDEO_ID``, ``bilibili:ROOM``, ``tiktok:@user``,
``file:chat.jsonl``,
``ws://host/feed``, ``sse+https://host/events`` and a bare path to an existing file are all specs.
Options may follow the target after ``?`` in URL query syntax
(``twitch:channel?endpoint=ws://127.0.0.1:8765``) or come from the command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from urllib.parse import parse_qsl

from streamwatch.connectors.base import ConnectorFactory, Source, SourceSpec
from streamwatch.errors import ConfigError

ENTRY_POINT_GROUP = "streamwatch.connectors"
_URL_SCHEMES = ("ws", "wss", "sse+http", "sse+https", "ndjson+http", "ndjson+https")


def parse_spec(raw: str, options: Mapping[str, str] | None = None) -> SourceSpec:
    """Split ``raw`` into scheme, target and options; a bare existing path means ``file:``."""
    text = raw.strip()
    if not text:
        raise ConfigError("empty source spec")
    scheme, sep, rest = text.partition(":")
    if not sep or (len(scheme) == 1 and Path(text).exists()) or "/" in scheme or "\\" in scheme:
        return SourceSpec("file", text, raw, dict(options or {}))
    scheme = scheme.lower()
    merged: dict[str, str] = {}
    if scheme in _URL_SCHEMES:
        target = text  # the connector wants the whole URL
    else:
        target, _, query = rest.partition("?")
        merged.update(parse_qsl(query, keep_blank_values=True))
    merged.update(options or {})
    if not target:
        raise ConfigError(f"source spec {raw!r} names no channel, room, video or path")
    return SourceSpec(scheme, target, raw, merged)


def available_connectors() -> list[str]:
    """Names of the installed connectors (entry-point names)."""
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def open_source(raw: str, options: Mapping[str, str] | None = None) -> Source:
    """Build the source a spec names; raises :class:`ConfigError` for an unknown scheme."""
    spec = parse_spec(raw, options)
    matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == spec.scheme]
    if not matches:
        known = ", ".join(available_connectors()) or "none installed"
        raise ConfigError(f"unknown source type {spec.scheme!r} in {raw!r} (known: {known})")
    try:
        factory: ConnectorFactory = matches[0].load()
    except ImportError as exc:
        raise ConfigError(
            f"the {spec.scheme!r} connector is not available: {exc}"
            " (is its optional extra installed?)"
        ) from exc
    return factory(spec)
