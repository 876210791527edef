"""TwitchSource against an in-process fake Twitch that speaks IRC over WebSocket byte for byte.

Every test starts its own server on 127.0.0.1:0 with its own script; faults are produced the
way a real network produces them: frames cut in half and the TCP connection aborted, garbage
and oversized frames, a server that goes silent, a 10,000-message burst, a RECONNECT.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from streamwatch.connectors.base import Source
from streamwatch.connectors.reconnect import no_delay_backoff
from streamwatch.connectors.registry import open_source, parse_spec
from streamwatch.connectors.twitch import TwitchSource
from streamwatch.errors import ConfigError
from streamwatch.events import InputSkipped, MessageDeleted, SourceState

from .connector_support import FakeWebSocketServer, chats, collect, has_chats, statuses

CHANNEL = "sellershop"
NAMESPACE = uuid.UUID("6f1d8a3e-2b4c-4d5e-9f60-718293a4b5c6")


def msg_id(i: int) -> str:
    return str(uuid.uuid5(NAMESPACE, str(i)))


def privmsg(i: int) -> str:
    """A PRIVMSG with the tag set Twitch web chat sends."""
    who = f"viewer{i % 97}"
    return (
        f"@badge-info=;badges=;client-nonce={i:032x};color=#1E90FF;display-name=Viewer{i % 97};"
        f"emotes=;first-msg=0;flags=;id={msg_id(i)};mod=0;returning-chatter=0;"
        f"room-id=713936733;subscriber=0;tmi-sent-ts={1717171717000 + i};turbo=0;"
        f"user-id={50000000 + i % 97};user-type= :{who}!{who}@{who}.tmi.twitch.tv "
        f"PRIVMSG #{CHANNEL} :question {i}: is the blue one in stock?"
    )


def crlf(*lines: str) -> str:
    return "".join(line + "\r\n" for line in lines)


def raw_text_frame(payload: bytes) -> bytes:
    """An unmasked server-to-client text frame, as it goes on the wire."""
    n = len(payload)
    if n < 126:
        header = bytes([0x81, n])
    elif n < 1 << 16:
        header = bytes([0x81, 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([0x81, 127]) + n.to_bytes(8, "big")
    return header + payload


@dataclass(eq=False)
class Session:
    """One client connection as the fake server sees it."""

    ws: ServerConnection
    index: int
    received: list[str] = field(default_factory=list)
    nick: str = ""
    joined_at: float | None = None
    closed_at: float | None = None

    async def _lines(self) -> list[str]:
        data = await self.ws.recv()
        text = data if isinstance(data, str) else data.decode()
        lines = [line for line in text.split("\r\n") if line]
        self.received.extend(lines)
        return lines

    async def login(self) -> None:
        """Answer CAP, PASS, NICK and JOIN the way tmi.twitch.tv does."""
        while True:
            for line in await self._lines():
                if line.startswith("CAP REQ"):
                    await self.send(":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands")
                elif line.startswith("NICK "):
                    self.nick = line[5:]
                    n = self.nick
                    await self.send(
                        f":tmi.twitch.tv 001 {n} :Welcome, GLHF!",
                        f":tmi.twitch.tv 002 {n} :Your host is tmi.twitch.tv",
                        f":tmi.twitch.tv 003 {n} :This server is rather new",
                        f":tmi.twitch.tv 004 {n} :-",
                        f":tmi.twitch.tv 375 {n} :-",
                        f":tmi.twitch.tv 372 {n} :You are in a maze of twisty passages, all alike.",
                        f":tmi.twitch.tv 376 {n} :>",
                    )
                elif line.startswith("JOIN #"):
                    n, channel = self.nick, line[5:]
                    await self.send(
                        f":{n}!{n}@{n}.tmi.twitch.tv JOIN {channel}",
                        f":{n}.tmi.twitch.tv 353 {n} = {channel} :{n}",
                        f":{n}.tmi.twitch.tv 366 {n} {channel} :End of /NAMES list",
                        "@emote-only=0;followers-only=-1;r9k=0;room-id=713936733;slow=0;"
                        f"subs-only=0 :tmi.twitch.tv ROOMSTATE {channel}",
                    )
                    self.joined_at = asyncio.get_running_loop().time()
                    return

    async def send(self, *lines: str) -> None:
        """One text frame per call, as Twitch batches lines."""
        await self.ws.send(crlf(*lines))

    async def wait_closed(self) -> None:
        """Drain (and record) what the client sends until it closes the connection."""
        try:
            while True:
                await self._lines()
        except ConnectionClosed:
            self.closed_at = asyncio.get_running_loop().time()


class FakeTwitch(FakeWebSocketServer[Session]):
    """A fake Twitch IRC-over-WebSocket server running ``script`` for every connection."""

    def open_session(self, ws: ServerConnection, index: int) -> Session:
        return Session(ws, index)

    def closed(self, session: Session) -> None:
        session.closed_at = asyncio.get_running_loop().time()


def source_for(url: str, **kwargs: object) -> TwitchSource:
    spec = parse_spec(f"twitch:{CHANNEL}", {"endpoint": url})
    kwargs.setdefault("backoff", no_delay_backoff())
    kwargs.setdefault("env", {})
    return TwitchSource(spec, **kwargs)  # type: ignore[arg-type]


async def test_live_chat_with_real_lines() -> None:
    async def script(s: Session) -> None:
        await s.login()
        await s.send(privmsg(0), privmsg(1))
        await s.send(
            "@login=viewer1;room-id=;target-msg-id=" + msg_id(1) + ";tmi-sent-ts=1717171730000 "
            f":tmi.twitch.tv CLEARMSG #{CHANNEL} :question 1: is the blue one in stock?"
        )
        await s.send(privmsg(2))
        await s.wait_closed()

    async with FakeTwitch(script) as server:
        events = await collect(source_for(server.url), has_chats(3))
    assert [c.message_id for c in chats(events)] == [msg_id(0), msg_id(1), msg_id(2)]
    first = chats(events)[0]
    assert (first.display_name, first.author_id, first.text) == (
        "Viewer0",
        "50000000",
        "question 0: is the blue one in stock?",
    )
    [deleted] = [e for e in events if isinstance(e, MessageDeleted)]
    assert deleted.message_id == msg_id(1)
    states = [s.state for s in statuses(events)]
    assert states[:2] == [SourceState.CONNECTING, SourceState.LIVE]
    sent = server.sessions[0].received
    assert sent[:3] == [
        "CAP REQ :twitch.tv/tags twitch.tv/commands",
        "PASS SCHMOOPIIE",
        f"NICK {server.sessions[0].nick}",
    ]
    assert server.sessions[0].nick.startswith("justinfan")
    assert f"JOIN #{CHANNEL}" in sent


async def test_oauth_token_is_sent_but_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = "k9x2secrettoken77"

    async def script(s: Session) -> None:
        await s.login()
        await s.send(privmsg(0))
        await s.wait_closed()

    async with FakeTwitch(script) as server:
        with pytest.raises(ConfigError) as info:  # a token needs its account's login name
            source_for(server.url, env={"STREAMWATCH_TWITCH_TOKEN": token})
        assert token not in str(info.value)
        source = TwitchSource(
            parse_spec(f"twitch:{CHANNEL}", {"endpoint": server.url, "nick": "SellerBot"}),
            backoff=no_delay_backoff(),
            env={"STREAMWATCH_TWITCH_TOKEN": token},
        )
        events = await collect(source, has_chats(1))
    assert f"PASS oauth:{token}" in server.sessions[0].received
    assert "NICK sellerbot" in server.sessions[0].received
    ours = "\n".join(  # everything but the fake server's own frame log
        r.getMessage() for r in caplog.records if not r.name.startswith("websockets.server")
    )
    assert token not in ours
    assert "PASS ***" in ours  # the line was logged, redacted
    assert all(token not in repr(e) for e in events)
    assert token not in repr(source)


async def test_drop_mid_frame_reconnects_without_loss_or_duplicates() -> None:
    async def script(s: Session) -> None:
        await s.login()
        if s.index == 0:
            for i in range(50):
                if i == 10:  # one line split across two frames: must be reassembled
                    wire = crlf(privmsg(i))
                    await s.ws.send(wire[:100])
                    await s.ws.send(wire[100:])
                else:
                    await s.send(privmsg(i))
            # message 50 never arrives whole: half a frame, then the TCP connection dies
            partial = raw_text_frame(crlf(privmsg(50)).encode())
            s.ws.transport.write(partial[: len(partial) // 2])
            await asyncio.sleep(0.05)
            s.ws.transport.abort()
            return
        for i in range(50, 100):  # the client came back: the rest of the chat
            await s.send(privmsg(i))
        await s.wait_closed()

    async with FakeTwitch(script) as server:
        source = source_for(server.url)
        events = await collect(source, has_chats(100))
    ids = [c.message_id for c in chats(events)]
    assert ids == [msg_id(i) for i in range(100)]
    assert len(server.sessions) == 2
    reconnecting = [s for s in statuses(events) if s.state is SourceState.RECONNECTING]
    assert [s.attempt for s in reconnecting] == [1]
    live = [s for s in statuses(events) if s.state is SourceState.LIVE]
    assert len(live) == 2 and live[1].gap_seconds > 0
    assert source.health.counters["received"] == 100
    assert source.health.counters["duplicates"] == 0


async def test_garbage_and_oversized_frames_are_counted_not_fatal() -> None:
    async def script(s: Session) -> None:
        await s.login()
        await s.send(privmsg(0))
        await s.ws.send(b"\x00\x01\x02 \xff\xfe binary junk\r\n")  # binary frame, not IRC
        await s.send("@only-tags-no-command")
        bad_utf8 = crlf(privmsg(1)).encode().replace(b"in stock", b"in \xff\xfe stock")
        await s.ws.send(bad_utf8, text=True)  # a text frame that is not valid UTF-8
        await s.send(privmsg(2).replace("question 2", "x" * 20_000))  # over 8 KiB
        await s.ws.send("y" * ((1 << 20) + 100))  # a 1 MiB+ frame
        await s.send(privmsg(3))
        await s.wait_closed()

    async with FakeTwitch(script) as server:
        source = source_for(server.url)
        events = await collect(source, has_chats(3))
    ids = [c.message_id for c in chats(events)]
    assert ids == [msg_id(0), msg_id(1), msg_id(3)]
    assert "\ufffd" in chats(events)[1].text
    skipped = [e for e in events if isinstance(e, InputSkipped)]
    assert len(skipped) == 4  # junk line, tags-only line, the 20 KB line, the 1 MiB frame
    counters = source.health.counters
    assert counters["malformed"] == 2
    assert counters["oversized"] == 2
    assert counters["invalid_utf8"] == 2  # the binary junk and the bad text frame
    assert len(server.sessions) == 1
    assert SourceState.RECONNECTING not in {s.state for s in statuses(events)}


async def test_stalled_server_is_detected_and_replaced() -> None:
    async def script(s: Session) -> None:
        await s.login()
        await s.send(privmsg(s.index))
        await s.wait_closed()  # then silence: PINGs go unanswered

    async with FakeTwitch(script) as server:
        source = source_for(server.url, heartbeat=0.2, pong_timeout=0.2)
        events = await collect(source, has_chats(2))
    assert [c.message_id for c in chats(events)] == [msg_id(0), msg_id(1)]
    assert any(line.startswith("PING") for line in server.sessions[0].received)
    states = statuses(events)
    degraded = [s for s in states if s.state is SourceState.DEGRADED]
    assert degraded and "PING" in degraded[0].detail
    reconnecting = [s for s in states if s.state is SourceState.RECONNECTING]
    assert reconnecting and "stalled" in reconnecting[0].detail
    assert reconnecting[0].heartbeat_age is not None and reconnecting[0].heartbeat_age >= 0.2
    assert source.health.counters["stalls"] == 1


async def test_answered_ping_keeps_the_connection() -> None:
    async def script(s: Session) -> None:
        await s.login()
        await s.send(privmsg(0))
        while not any(line.startswith("PING") for line in await s._lines()):
            pass
        await s.send(":tmi.twitch.tv PONG tmi.twitch.tv :streamwatch")
        await s.send(privmsg(1))
        await s.wait_closed()

    async with FakeTwitch(script) as server:
        source = source_for(server.url, heartbeat=0.2, pong_timeout=5.0)
        events = await collect(source, has_chats(2))
    states = [s.state for s in statuses(events)]
    assert SourceState.DEGRADED in states
    assert states[-1] is SourceState.LIVE
    assert SourceState.RECONNECTING not in states
    assert len(server.sessions) == 1


async def test_burst_of_10000_messages() -> None:
    total = 10_000

    async def script(s: Session) -> None:
        await s.login()
        i = 0
        while i < total:
            size = 1 if i % 1000 < 50 else 50  # mostly batched frames, some single lines
            await s.send(*(privmsg(j) for j in range(i, min(total, i + size))))
            i += size
        await s.wait_closed()

    async with FakeTwitch(script) as server:
        source = source_for(server.url)
        events = await collect(source, has_chats(total), timeout=60)
    ids = [c.message_id for c in chats(events)]
    assert ids == [msg_id(i) for i in range(total)]
    assert source.health.counters["received"] == total
    assert len(server.sessions) == 1


async def test_reconnect_opens_new_connection_first_and_drops_duplicates() -> None:
    second_joined = asyncio.Event()

    async def script(s: Session) -> None:
        await s.login()
        if s.index == 0:
            for i in range(100):
                await s.send(privmsg(i))
            await s.send(":tmi.twitch.tv RECONNECT")
            i = 100
            while not second_joined.is_set():  # keeps flowing until the client has moved
                await s.send(privmsg(i))
                i += 1
                await asyncio.sleep(0.005)
            await s.wait_closed()
            return
        second_joined.set()
        for i in range(100, 200):  # overlaps with what the old connection still sent
            await s.send(privmsg(i))
        await s.wait_closed()

    async with FakeTwitch(script) as server:
        source = source_for(server.url)
        events = await collect(source, has_chats(200))
        old, new = server.sessions
        async with asyncio.timeout(5):
            while old.closed_at is None:
                await asyncio.sleep(0.01)
    ids = [c.message_id for c in chats(events)]
    assert len(ids) == len(set(ids)) == 200
    assert set(ids) == {msg_id(i) for i in range(200)}
    assert ids[:100] == [msg_id(i) for i in range(100)]
    assert source.health.counters["duplicates"] > 0
    assert new.joined_at is not None and old.closed_at is not None
    assert new.joined_at < old.closed_at  # the new connection joined before the old one closed
    details = [s.detail for s in statuses(events)]
    assert any("asked to reconnect" in d for d in details)
    assert any("RECONNECT" in d for d in details)
    assert len(server.sessions) == 2


async def test_login_failure_is_fatal_and_not_retried() -> None:
    async def script(s: Session) -> None:
        while not any(line.startswith("NICK") for line in await s._lines()):
            pass
        await s.send(":tmi.twitch.tv NOTICE * :Login authentication failed")
        await s.ws.close()

    async with FakeTwitch(script) as server:
        source = TwitchSource(
            parse_spec(f"twitch:{CHANNEL}", {"endpoint": server.url, "nick": "sellerbot"}),
            backoff=no_delay_backoff(),
            env={"STREAMWATCH_TWITCH_TOKEN": "expiredtoken123"},
        )
        events = await collect(source, lambda _: False)
    last = statuses(events)[-1]
    assert last.state is SourceState.FAILED
    assert "Login authentication failed" in last.detail
    assert all("expiredtoken123" not in repr(e) for e in events)
    assert len(server.sessions) == 1


async def test_unreachable_endpoint_gives_up_after_max_attempts() -> None:
    async with FakeTwitch(lambda s: s.wait_closed()) as server:
        url = server.url
    source = source_for(url, backoff=no_delay_backoff(max_attempts=2))  # nobody listens now
    events = await collect(source, lambda _: False)
    states = statuses(events)
    assert [s.state for s in states] == [
        SourceState.CONNECTING,
        SourceState.RECONNECTING,
        SourceState.RECONNECTING,
        SourceState.FAILED,
    ]
    assert [s.attempt for s in states[1:3]] == [1, 2]
    assert "gave up after 2 attempts" in states[-1].detail


async def test_http_404_from_the_endpoint_is_fatal() -> None:
    def refuse(connection: ServerConnection, request: Request) -> Response:
        return connection.respond(HTTPStatus.NOT_FOUND, "no such relay\n")

    server = await serve(lambda ws: ws.wait_closed(), "127.0.0.1", 0, process_request=refuse)
    port = server.sockets[0].getsockname()[1]
    try:
        events = await collect(source_for(f"ws://127.0.0.1:{port}"), lambda _: False)
    finally:
        server.close()
        await server.wait_closed()
    last = statuses(events)[-1]
    assert last.state is SourceState.FAILED and "404" in last.detail


def test_registry_builds_the_source_and_checks_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STREAMWATCH_TWITCH_TOKEN", raising=False)
    monkeypatch.delenv("STREAMWATCH_TWITCH_NICK", raising=False)
    source = open_source("twitch:#SellerShop?endpoint=ws://127.0.0.1:9/irc")
    assert isinstance(source, TwitchSource) and isinstance(source, Source)
    assert source.name == "twitch:sellershop"
    with pytest.raises(ConfigError):
        open_source("twitch:sellershop?endpoint=http://127.0.0.1:9/")
    with pytest.raises(ConfigError):
        open_source("twitch:not a channel")
    with pytest.raises(ConfigError):
        open_source("twitch:sellershop?heartbeat=soon")
