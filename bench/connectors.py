"""Parse + normalize throughput of every connector's sans-I/O path, on one CPU core.

Frames are generated in memory (as each platform or relay sends them), then fed to the code the
connector runs per message; the time covers decoding, decompression, parsing, field mapping,
de-duplication and building the :class:`~streamwatch.events.ChatMessage` records, not the
network. Generation is not timed. Target: >= 5,000 messages/s per connector.

``twitch``    IRC lines (mostly one per WebSocket message) through ``TwitchIrcProtocol``
``bilibili``  brotli / zlib danmaku batches with heartbeat replies through ``BilibiliProtocol``
``youtube``   ``liveChatMessages.list`` pages of 2,000 items (dedup, raw payload kept)
``ws``        one Douyin-style JSON object per WebSocket frame through a nested field mapping
``ws-array``  generic JSONL rows in array frames of 100
``sse``       an event stream read in 4 KB pieces: WHATWG parsing, then mapping with SSE ids
``ndjson``    NDJSON read in 4 KB pieces: line splitting, then mapping

Run::

    python bench/connectors.py                 # all connectors, 20,000 messages each
    python bench/connectors.py -n 50000 twitch sse

To add a connector: write ``bench_<name>(n) -> BenchResult`` (build frames untimed, then call
:func:`timed`) and add it to :data:`BENCHES`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from streamwatch.connectors.bilibili_protocol import (
    OP_HEARTBEAT_REPLY,
    VER_BROTLI,
    VER_ZLIB,
    BilibiliProtocol,
    encode_messages,
    encode_packet,
)
from streamwatch.connectors.common import RecentIds
from streamwatch.connectors.fieldmap import FeedNormalizer, FieldMap
from streamwatch.connectors.health import SourceHealth
from streamwatch.connectors.irc import TwitchIrcProtocol, escape_tag_value
from streamwatch.connectors.sse_protocol import NdjsonLine, NdjsonSplitter, SseEvent, SseParser
from streamwatch.connectors.youtube_protocol import parse_chat_page
from streamwatch.events import ChatMessage

TARGET_MSGS_PER_S = 5_000

TEXTS = [
    "does the blue one come in size M?",
    "how much is shipping to Canada",
    "is this legit or a scam? my friend never got hers",
    "@SellerShop can you show the back again",
    "LUL the cat walked in",
    "¿lo envían a México?",
    "これ本物ですか？",
    "это оригинал или подделка?",
    "is the discount code still working",
    "[bold]FREE[/bold] <s>giveaway</s> click my profile \x1b[31m!!!",
    "what's the return policy if it doesn't fit",
]
CN_TEXTS = [
    "主播这个多少钱",
    "有没有M码？",
    "是正品吗，假一赔几",
    "包邮吗？新疆能发吗",
    "上次买的还没到货",
    "好看嘟",
    "链接在哪里",
    "能便宜点吗",
    "[dog][dog]",
    "退货运费谁出",
]


@dataclass(frozen=True)
class BenchResult:
    connector: str
    messages: int
    frames: int
    seconds: float
    """CPU seconds of this process (robust on a shared machine), best run."""
    wall_seconds: float
    """Wall-clock seconds of the same run."""

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else float("inf")

    @property
    def wall_rate(self) -> float:
        return self.messages / self.wall_seconds if self.wall_seconds > 0 else float("inf")


def timed(
    connector: str, frames: int, expected: int, run: Callable[[], int], repeat: int = 3
) -> BenchResult:
    """Best of ``repeat`` runs of ``run()``, which returns the chat messages it produced."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        wall = time.perf_counter()
        cpu = time.process_time()
        count = run()
        best = min(best, (time.process_time() - cpu, time.perf_counter() - wall))
        if count != expected:
            raise AssertionError(f"{connector}: {count} messages, expected {expected}")
    return BenchResult(connector, expected, frames, *best)


def timed_core(
    connector: str, frames: list[bytes], expected: int, make: Callable[[], Any]
) -> BenchResult:
    """Feed ``frames`` to a fresh protocol core from ``make()`` (``receive_data`` /
    ``events_received``), counting the chat messages it yields."""

    def run() -> int:
        core = make()
        count = 0
        for frame in frames:
            core.receive_data(frame)
            for event in core.events_received():
                if isinstance(event, ChatMessage):
                    count += 1
        return count

    return timed(connector, len(frames), expected, run)


# -- Twitch --------------------------------------------------------------------------------------


def twitch_line(i: int, rng: random.Random) -> str:
    who = f"viewer{rng.randrange(5000)}"
    badges = rng.choice(["", "subscriber/12,premium/1", "moderator/1", "vip/1", "bits/1000"])
    tags = {
        "badge-info": "subscriber/14" if "subscriber" in badges else "",
        "badges": badges,
        "client-nonce": f"{rng.getrandbits(128):032x}",
        "color": rng.choice(["", "#1E90FF", "#FF4500", "#008000"]),
        "display-name": who.capitalize(),
        "emotes": rng.choice(["", "25:0-4", "305954156:10-17"]),
        "first-msg": "1" if rng.random() < 0.05 else "0",
        "flags": "",
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "mod": "1" if badges.startswith("moderator") else "0",
        "returning-chatter": "0",
        "room-id": "713936733",
        "subscriber": "1" if "subscriber" in badges else "0",
        "tmi-sent-ts": str(1717171717000 + i * 37),
        "turbo": "0",
        "user-id": str(50000000 + rng.randrange(5000)),
        "user-type": "mod" if badges.startswith("moderator") else "",
    }
    text = rng.choice(TEXTS)
    if rng.random() < 0.1:
        tags["reply-parent-display-name"] = "SellerShop"
        tags["reply-parent-msg-body"] = "Yes, M is back in stock!"
        tags["reply-parent-msg-id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        tags["reply-parent-user-id"] = "713936733"
        tags["reply-parent-user-login"] = "sellershop"
    if rng.random() < 0.03:
        tags["bits"] = "100"
        text = "Cheer100 " + text
    tag_text = ";".join(f"{k}={escape_tag_value(v)}" for k, v in tags.items())
    return f"@{tag_text} :{who}!{who}@{who}.tmi.twitch.tv PRIVMSG #sellershop :{text}\r\n"


def twitch_frames(n: int, seed: int = 1) -> list[bytes]:
    """One line per WebSocket message, as Twitch sends them, with a few batched frames."""
    rng = random.Random(seed)
    frames: list[bytes] = []
    i = 0
    while i < n:
        size = 1 if rng.random() < 0.9 else rng.randint(2, 20)
        size = min(size, n - i)
        frames.append("".join(twitch_line(j, rng) for j in range(i, i + size)).encode())
        i += size
        if rng.random() < 0.001:
            frames.append(b"PING :tmi.twitch.tv\r\n")
    return frames


def bench_twitch(n: int) -> BenchResult:
    frames = twitch_frames(n)
    make = partial(TwitchIrcProtocol, "sellershop", nick="justinfan1")
    return timed_core("twitch", frames, n, make)


# -- Bilibili ------------------------------------------------------------------------------------


def bilibili_danmu(i: int, rng: random.Random) -> dict[str, Any]:
    """A DANMU_MSG with the 2024 web layout (metadata, extra JSON, user object, medal)."""
    uid = rng.randrange(1, 700_000_000)
    name = f"观众{uid % 9973}"
    text = rng.choice(CN_TEXTS)
    extra = {
        "send_from_me": False, "mode": 0, "color": 16777215, "dm_type": 0, "font_size": 25,
        "player_mode": 1, "show_player_type": 0, "content": text,
        "user_hash": str(rng.getrandbits(32)), "emoticon_unique": "", "bulge_display": 0,
        "recommend_score": rng.randrange(10), "main_state_dm_color": "",
        "objective_state_dm_color": "", "direction": 0, "pk_direction": 0, "quartet_direction": 0,
        "anniversary_crowd": 0, "yeah_space_type": "", "yeah_space_url": "", "jump_to_url": "",
        "space_type": "", "space_url": "", "animation": {}, "emots": None, "is_audited": False,
        "id_str": f"{rng.getrandbits(132):033x}", "icon": None, "show_reply": True,
        "reply_mid": 0, "reply_uname": "", "reply_uname_color": "", "reply_is_mystery": False,
        "hit_combo": 0,
    }  # fmt: skip
    user = {
        "uid": uid,
        "base": {
            "name": name, "face": "https://i2.hdslb.com/bfs/face/33dbd8d6e36f0ab184ef1adde4c4f618d0a1dedb.jpg",
            "name_color": 0, "is_mystery": False, "risk_ctrl_info": None,
            "origin_info": {"name": name, "face": ""},
            "official_info": {"role": 0, "title": "", "desc": "", "type": -1}, "name_color_str": "",
        },
        "medal": None, "wealth": None, "title": {"old_title_css_id": "", "title_css_id": ""},
        "uhead_frame": None, "guard_leader": {"is_guard_leader": False},
    }  # fmt: skip
    meta = [
        0, 1, 25, 16777215, 1715735563613 + i * 41, rng.getrandbits(31), 0,
        f"{rng.getrandbits(32):08x}", 0, 0, 0, "", 0, "{}", "{}",
        {"mode": 0, "show_player_type": 0, "extra": json.dumps(extra, ensure_ascii=False),
         "user": user},
        {"activity_identity": "", "activity_source": 0, "not_show": 0}, 0,
    ]  # fmt: skip
    return {
        "cmd": "DANMU_MSG",
        "dm_v2": "",
        "info": [
            meta, text, [uid, name, 0, 0, 0, 10000, 1, ""],
            [21, "刺儿", "逍遥散人", 1017, 13081892, "", 0, 13081892, 13081892, 13081892, 0, 1,
             168598],
            [31, 0, 10512625, ">50000", 0], ["", ""], 0, 0, None,
            {"ct": f"{rng.getrandbits(32):08X}", "ts": 1715735563 + i // 25}, 0, 0, None, None, 0,
            56, [0], None,
        ],
    }  # fmt: skip


def bilibili_noise(rng: random.Random) -> dict[str, Any]:
    """The non-chat commands that dominate a real room's traffic."""
    return rng.choice(
        [
            {
                "cmd": "INTERACT_WORD",
                "data": {"uid": rng.randrange(10**8), "uname": "路人", "msg_type": 1},
            },
            {"cmd": "WATCHED_CHANGE", "data": {"num": rng.randrange(10**5), "text_small": "1.2万"}},
            {"cmd": "ONLINE_RANK_COUNT", "data": {"count": rng.randrange(1000)}},
        ]
    )


def bilibili_frames(n: int, seed: int = 2) -> list[bytes]:
    """Brotli batches (mostly) and zlib batches of 1-30 commands, plus heartbeat replies."""
    rng = random.Random(seed)
    frames: list[bytes] = []
    i = 0
    while i < n:
        size = min(rng.randint(1, 30), n - i)
        batch: list[dict[str, Any]] = [bilibili_danmu(j, rng) for j in range(i, i + size)]
        batch += [bilibili_noise(rng) for _ in range(rng.randint(0, 3))]
        rng.shuffle(batch)
        frames.append(encode_messages(batch, ver=VER_BROTLI if rng.random() < 0.8 else VER_ZLIB))
        i += size
        if rng.random() < 0.02:
            frames.append(
                encode_packet(OP_HEARTBEAT_REPLY, rng.randrange(10**6).to_bytes(4, "big"))
            )
    return frames


def bench_bilibili(n: int) -> BenchResult:
    frames = bilibili_frames(n)
    return timed_core("bilibili", frames, n, lambda: BilibiliProtocol(21452505))


# -- YouTube and the JSON feeds --------------------------------------------------------------------


def youtube_item(i: int) -> dict[str, object]:
    channel = f"UC{i % 997:020d}"
    text = TEXTS[i % len(TEXTS)]
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
            "displayMessage": text,
            "textMessageDetails": {"messageText": text},
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


def bench_youtube(n: int) -> BenchResult:
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


DOUYIN_MAP = (
    "text=data.content,user=data.user.nickname,user_id=data.user.id,id=data.msg_id,"
    "ts=data.create_time,moderator=data.user.is_admin,when.method=WebcastChatMessage"
)


def douyin_frame(i: int) -> dict[str, object]:
    return {
        "method": "WebcastChatMessage",
        "data": {
            "msg_id": 7381234567890000000 + i,
            "content": CN_TEXTS[i % len(CN_TEXTS)],
            "create_time": 1714564800000 + i,
            "user": {"id": 10_000 + i % 997, "nickname": f"用户{i % 997}", "is_admin": False},
        },
    }


def generic_rows(n: int) -> list[dict[str, object]]:
    return [
        {"id": f"m{i}", "ts": 1714564800 + i, "user": f"u{i % 997}", "text": TEXTS[i % len(TEXTS)]}
        for i in range(n)
    ]


def normalizer(spec: str | None = None) -> FeedNormalizer:
    return FeedNormalizer(
        FieldMap.parse(spec), platform="bench", stream_id="s", health=SourceHealth("bench:s")
    )


def bench_ws(n: int) -> BenchResult:
    frames = [json.dumps(douyin_frame(i), ensure_ascii=False).encode() for i in range(n)]

    def run() -> int:
        norm = normalizer(DOUYIN_MAP)
        return sum(len(norm.feed(frame, "frame")) for frame in frames)

    return timed("ws", len(frames), n, run)


def bench_ws_array(n: int) -> BenchResult:
    rows = generic_rows(n)
    frames = [json.dumps(rows[k : k + 100]).encode() for k in range(0, n, 100)]

    def run() -> int:
        norm = normalizer()
        return sum(len(norm.feed(frame, "frame")) for frame in frames)

    return timed("ws-array", len(frames), n, run)


def chunks_of(stream: bytes, size: int = 4096) -> list[bytes]:
    return [stream[k : k + size] for k in range(0, len(stream), size)]


def bench_sse(n: int) -> BenchResult:
    chunks = chunks_of(
        b"".join(
            f"id: {i}\nevent: chat\ndata: {json.dumps(row, ensure_ascii=False)}\n\n".encode()
            for i, row in enumerate(generic_rows(n))
        )
    )

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


def bench_ndjson(n: int) -> BenchResult:
    chunks = chunks_of(b"".join(json.dumps(row).encode() + b"\n" for row in generic_rows(n)))

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


BENCHES: dict[str, Callable[[int], BenchResult]] = {
    "twitch": bench_twitch,
    "bilibili": bench_bilibili,
    "youtube": bench_youtube,
    "ws": bench_ws,
    "ws-array": bench_ws_array,
    "sse": bench_sse,
    "ndjson": bench_ndjson,
}
"""Connector name -> benchmark."""


def pin_to_one_core() -> str:
    """Run on a single CPU where the OS lets us; returns a description."""
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def report(results: Iterable[BenchResult]) -> bool:
    """Print one row per connector and the target check; True when every one meets it."""
    below: list[str] = []
    print(
        f"{'connector':<10} {'messages':>9} {'frames':>7} {'cpu s':>7} {'msg/s cpu':>10}"
        f" {'wall s':>7} {'msg/s wall':>10}  target"
    )
    for r in results:
        meets = r.rate >= TARGET_MSGS_PER_S
        if not meets:
            below.append(r.connector)
        verdict = "ok" if meets else f"BELOW {TARGET_MSGS_PER_S:,}"
        print(
            f"{r.connector:<10} {r.messages:>9} {r.frames:>7} {r.seconds:>7.3f} {r.rate:>10,.0f}"
            f" {r.wall_seconds:>7.3f} {r.wall_rate:>10,.0f}  {verdict}"
        )
    target = f"target >= {TARGET_MSGS_PER_S:,} msg/s (CPU time, one core)"
    print(f"{target}: {'met by all' if not below else 'missed by ' + ', '.join(below)}")
    return not below


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("connectors", nargs="*", help=f"any of {', '.join(BENCHES)} (default: all)")
    parser.add_argument("-n", "--messages", type=int, default=20_000)
    args = parser.parse_args(argv)
    names = args.connectors or list(BENCHES)
    unknown = [name for name in names if name not in BENCHES]
    if unknown:
        parser.error(f"unknown connector(s): {', '.join(unknown)}")
    print(f"python {sys.version.split()[0]}, {pin_to_one_core()}, {args.messages:,} messages each")
    ok = report(BENCHES[name](args.messages) for name in names)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
