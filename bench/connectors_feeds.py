"""Parse + normalize throughput of the feed connectors on one core (no network).

    python bench/connectors_feeds.py [-n 50000] [youtube ws ws-arrays sse ndjson]

Measures the sans-I/O paths the connectors run per message: YouTube ``liveChatMessages.list``
pages (JSON -> ChatMessage incl. dedup and raw payload), WebSocket JSON frames through the field
mapping (one object per frame, and arrays of 100), SSE bytes through the WHATWG parser plus
mapping, and NDJSON lines. Target: >= 5,000 msg/s each.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from streamwatch.connectors.fieldmap import FeedNormalizer, FieldMap, RecentIds
from streamwatch.connectors.health import SourceHealth
from streamwatch.connectors.sse_protocol import NdjsonLine, NdjsonSplitter, SseEvent, SseParser
from streamwatch.connectors.youtube_protocol import parse_chat_page
from streamwatch.events import ChatMessage

TEXTS = [
    "how much is shipping to Tallinn?",
    "多少钱?包邮吗",
    "это оригинал или подделка?",
    "666666",
    "is the size true to fit? I am usually M",
    "[bold]fake[/bold] <s>scam</s> \x1b[31m!!!",
]


def youtube_item(i: int) -> dict[str, object]:
    channel = f"UC{i % 997:020d}"
    return {
        "kind": "youtube#liveChatMessage",
        "etag": f"etag{i}",
        "id": f"LCC.{i:012d}",
        "snippet": {
            "type": "textMessageEvent",
            "liveChatId": "Cg0KC2RRdzR3OVdnWGNR",
            "authorChannelId": channel,
            "publishedAt": f"2024-05-01T12:{i // 60 % 60:02d}:{i % 60:02d}.123456+00:00",
            "hasDisplayContent": True,
            "displayMessage": TEXTS[i % len(TEXTS)],
            "textMessageDetails": {"messageText": TEXTS[i % len(TEXTS)]},
        },
        "authorDetails": {
            "channelId": channel,
            "channelUrl": f"http://www.youtube.com/channel/{channel}",
            "displayName": f"viewer {i % 997}",
            "profileImageUrl": "https://yt3.ggpht.com/a/default-user=s64-c-k-c0x00ffffff-no-rj",
            "isVerified": False,
            "isChatOwner": i % 500 == 0,
            "isChatSponsor": False,
            "isChatModerator": i % 200 == 0,
        },
    }


def douyin_frame(i: int) -> dict[str, object]:
    return {
        "method": "WebcastChatMessage",
        "data": {
            "msg_id": 7381234567890000000 + i,
            "content": TEXTS[i % len(TEXTS)],
            "create_time": 1714564800000 + i,
            "user": {"id": 10_000 + i % 997, "nickname": f"用户{i % 997}", "is_admin": False},
        },
    }


TARGET_MSGS_PER_S = 5_000

DOUYIN_MAP = (
    "text=data.content,user=data.user.nickname,user_id=data.user.id,id=data.msg_id,"
    "ts=data.create_time,moderator=data.user.is_admin,when.method=WebcastChatMessage"
)


def normalizer(spec: str | None = None) -> FeedNormalizer:
    return FeedNormalizer(
        FieldMap.parse(spec), platform="bench", stream_id="s", health=SourceHealth("bench:s")
    )


@dataclass(frozen=True)
class FeedBenchResult:
    """Same fields as ``BenchResult`` in bench/connectors.py, so either report can show it."""

    connector: str
    messages: int
    frames: int
    seconds: float
    """CPU seconds of this process (robust on a shared machine), best of the runs."""
    wall_seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else float("inf")

    @property
    def wall_rate(self) -> float:
        return self.messages / self.wall_seconds if self.wall_seconds > 0 else float("inf")


def timed(
    connector: str, frames: int, expected: int, run: Callable[[], int], repeat: int = 3
) -> FeedBenchResult:
    """Best of ``repeat`` runs of ``run()`` (which returns the messages it produced)."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        wall = time.perf_counter()
        cpu = time.process_time()
        count = run()
        best = min(best, (time.process_time() - cpu, time.perf_counter() - wall))
        if count != expected:
            raise AssertionError(f"{connector}: {count} messages, expected {expected}")
    return FeedBenchResult(connector, expected, frames, *best)


def generic_rows(n: int) -> list[dict[str, object]]:
    return [
        {"id": f"m{i}", "ts": 1714564800 + i, "user": f"u{i % 997}", "text": TEXTS[i % len(TEXTS)]}
        for i in range(n)
    ]


def bench_youtube(n: int) -> FeedBenchResult:
    """liveChatMessages.list pages of 2,000 items: JSON -> ChatMessage, dedup, raw kept."""
    pages = []
    for start in range(0, n, 2000):
        items = [youtube_item(i) for i in range(start, min(n, start + 2000))]
        body = {"pollingIntervalMillis": 2000, "nextPageToken": "t", "items": items}
        pages.append(json.dumps(body).encode())

    def run() -> int:
        health, seen = SourceHealth("youtube:x"), RecentIds()
        count = 0
        for body in pages:
            page = parse_chat_page(body, video_id="x", health=health, seen=seen, received_at=0.0)
            count += sum(isinstance(e, ChatMessage) for e in page.events)
        return count

    return timed("youtube", len(pages), n, run)


def bench_ws(n: int) -> FeedBenchResult:
    """One Douyin-style JSON object per WebSocket frame through a nested field mapping."""
    frames = [json.dumps(douyin_frame(i), ensure_ascii=False).encode() for i in range(n)]

    def run() -> int:
        norm = normalizer(DOUYIN_MAP)
        return sum(len(norm.feed(frame, "frame")) for frame in frames)

    return timed("ws (object frames)", len(frames), n, run)


def bench_ws_arrays(n: int) -> FeedBenchResult:
    """Generic-JSONL rows in array frames of 100."""
    rows = generic_rows(n)
    frames = [json.dumps(rows[k : k + 100]).encode() for k in range(0, n, 100)]

    def run() -> int:
        norm = normalizer()
        return sum(len(norm.feed(frame, "frame")) for frame in frames)

    return timed("ws (array frames)", len(frames), n, run)


def bench_sse(n: int) -> FeedBenchResult:
    """An event stream read in 4 KB pieces: WHATWG parsing, then mapping with SSE-id fallback."""
    stream = b"".join(
        f"id: {i}\nevent: chat\ndata: {json.dumps(row, ensure_ascii=False)}\n\n".encode()
        for i, row in enumerate(generic_rows(n))
    )
    chunks = [stream[k : k + 4096] for k in range(0, len(stream), 4096)]

    def run() -> int:
        parser, norm = SseParser(), normalizer()
        count = 0
        for chunk in chunks:
            parser.receive_data(chunk)
            for event in parser.events_received():
                assert isinstance(event, SseEvent)
                count += len(norm.feed(event.data, "event", fallback_id=event.id))
        return count

    return timed("sse", len(chunks), n, run)


def bench_ndjson(n: int) -> FeedBenchResult:
    """NDJSON read in 4 KB pieces: line splitting, then mapping."""
    stream = b"".join(json.dumps(row).encode() + b"\n" for row in generic_rows(n))
    chunks = [stream[k : k + 4096] for k in range(0, len(stream), 4096)]

    def run() -> int:
        splitter, norm = NdjsonSplitter(), normalizer()
        count = 0
        for chunk in chunks:
            splitter.receive_data(chunk)
            for line in splitter.lines_received():
                assert isinstance(line, NdjsonLine)
                count += len(norm.feed(line.data, "line"))
        return count

    return timed("ndjson", len(chunks), n, run)


FEED_BENCHES: dict[str, Callable[[int], FeedBenchResult]] = {
    "youtube": bench_youtube,
    "ws": bench_ws,
    "ws-arrays": bench_ws_arrays,
    "sse": bench_sse,
    "ndjson": bench_ndjson,
}
"""Name -> benchmark; each returns a result shaped like bench/connectors.py's BenchResult."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="parse + normalize throughput of feed connectors")
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(FEED_BENCHES)} (default: all)")
    parser.add_argument("-n", "--messages", type=int, default=20_000)
    args = parser.parse_args(argv)
    names = args.names or list(FEED_BENCHES)
    unknown = [name for name in names if name not in FEED_BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    core = "all cores"
    if hasattr(os, "sched_setaffinity"):
        chosen = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {chosen})
        core = f"pinned to CPU {chosen}"
    print(f"python {sys.version.split()[0]}, {core}, {args.messages:,} messages each")
    print(f"{'connector':<20} {'msg/s (CPU)':>12} {'msg/s (wall)':>13} {'frames':>8}  target")
    ok = True
    for name in names:
        result = FEED_BENCHES[name](args.messages)
        good = result.rate >= TARGET_MSGS_PER_S
        ok = ok and good
        print(
            f"{result.connector:<20} {result.rate:>12,.0f} {result.wall_rate:>13,.0f}"
            f" {result.frames:>8,}  {'ok' if good else 'BELOW ' + format(TARGET_MSGS_PER_S, ',')}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
