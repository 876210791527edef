"""The ingest server on 127.0.0.1:0: POST and WebSocket pushes, auth, limits, bursts, the CLI."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from streamwatch.connectors.base import SourceSpec
from streamwatch.connectors.fieldmap import FieldMap
from streamwatch.connectors.ingest_server import (
    IngestConfig,
    IngestServer,
    main,
    open_ingest_source,
)
from streamwatch.errors import ConfigError
from streamwatch.events import (
    ChatMessage,
    InputSkipped,
    Role,
    SourceEvent,
    SourceState,
    SourceStatus,
)

TOKEN = "ingest-TOKEN-0123456789"


class Running:
    """A started server plus a task that drains its events like the pipeline would."""

    def __init__(self, server: IngestServer) -> None:
        self.server = server
        self.events: list[SourceEvent] = []
        self.task: asyncio.Task[None] | None = None
        self.consume_delay = 0.0

    async def _consume(self) -> None:
        async for event in self.server.events():
            self.events.append(event)
            if self.consume_delay and len(self.events) % 50 == 0:
                await asyncio.sleep(self.consume_delay)

    @property
    def base(self) -> str:
        return self.server.url

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/ws"

    def messages(self) -> list[ChatMessage]:
        return [e for e in self.events if isinstance(e, ChatMessage)]

    async def wait_for(self, n: int) -> None:
        async with asyncio.timeout(20):
            while len(self.messages()) < n:
                await asyncio.sleep(0.01)


async def start(**config: Any) -> Running:
    server = IngestServer(IngestConfig(token=TOKEN, port=0, **config))
    await server.start()
    running = Running(server)
    running.task = asyncio.create_task(running._consume())
    return running


@pytest.fixture
async def ingest() -> AsyncIterator[Running]:
    running = await start()
    yield running
    assert running.task is not None
    running.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running.task
    await running.server.stop()


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def row(i: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"r{i}", "ts": 1714564800 + i, "user": f"u{i}", "text": f"question {i}?", **extra}


async def post(
    running: Running, body: bytes | str, headers: dict[str, str] | None = None, query: str = ""
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{running.base}/messages{query}", data=body, headers={**AUTH, **(headers or {})}
        ) as response,
    ):
        text = await response.text()
        return response.status, json.loads(text) if text else None


# ---------------------------------------------------------------- HTTP POST


async def test_post_object_array_and_labels(ingest: Running) -> None:
    status, body = await post(ingest, json.dumps(row(1, role="host")))
    assert (status, body) == (200, {"accepted": 1, "duplicates": 0, "errors": []})
    status, body = await post(
        ingest, json.dumps([row(2), row(3)]), query="?platform=douyin&stream=room42"
    )
    assert status == 200 and body["accepted"] == 2
    await ingest.wait_for(3)
    m1, m2, _m3 = ingest.messages()
    assert m1.role is Role.HOST and m1.text == "question 1?" and m1.platform == "ingest"
    assert m1.stream_id == str(ingest.server.port)
    assert (m2.platform, m2.stream_id) == ("douyin", "room42")
    status_event = ingest.events[0]
    assert isinstance(status_event, SourceStatus) and status_event.state is SourceState.LIVE


async def test_post_ndjson_bad_rows_get_400_with_line_numbers_good_rows_kept(
    ingest: Running,
) -> None:
    lines = [
        json.dumps(row(1)),
        "{not json",
        json.dumps(row(2)),
        json.dumps({"id": "x", "user": "no text"}),
        "",
        json.dumps(row(3, text="[bold]<script>alert(1)</script>")),
        "[1, 2]",
    ]
    status, body = await post(
        ingest, "\n".join(lines) + "\n", {"Content-Type": "application/x-ndjson"}
    )
    assert status == 400
    assert body["accepted"] == 3
    assert [(e["line"], e["where"]) for e in body["errors"]] == [
        (2, "line 2"),
        (4, "line 4"),
        (7, "line 7 item 0"),
        (7, "line 7 item 1"),
    ]
    assert "not JSON" in body["errors"][0]["error"]
    assert "missing required field 'text'" in body["errors"][1]["error"]
    await ingest.wait_for(3)
    assert [m.message_id for m in ingest.messages()] == ["r1", "r2", "r3"]
    assert ingest.messages()[2].text == "[bold]<script>alert(1)</script>"
    skipped = [e for e in ingest.events if isinstance(e, InputSkipped)]
    assert len(skipped) == 4  # the pipeline hears about bad rows too


async def test_ndjson_detected_without_content_type(ingest: Running) -> None:
    status, body = await post(ingest, json.dumps(row(1)) + "\n" + json.dumps(row(2)) + "\n")
    assert status == 200 and body["accepted"] == 2


async def test_garbage_bodies(ingest: Running) -> None:
    status, body = await post(ingest, b"\xff\xfe\x00garbage")
    assert status == 400 and "invalid UTF-8" in body["errors"][0]["error"]
    status, body = await post(ingest, "42")
    assert status == 400 and body["errors"][0]["where"] == "body"
    status, body = await post(ingest, "")
    assert status == 400


async def test_duplicates_across_requests_and_transports(ingest: Running) -> None:
    await post(ingest, json.dumps([row(1), row(2)]))
    status, body = await post(ingest, json.dumps([row(2), row(3)]))
    assert status == 200 and body == {"accepted": 1, "duplicates": 1, "errors": []}
    async with connect(ingest.ws_url + "?ack=1", additional_headers=AUTH) as ws:
        await ws.send(json.dumps(row(3)))
        reply = json.loads(await ws.recv())
    assert reply == {"frame": 1, "errors": [], "accepted": 0, "duplicates": 1}
    await ingest.wait_for(3)
    assert [m.message_id for m in ingest.messages()] == ["r1", "r2", "r3"]


@pytest.mark.parametrize(
    "headers_or_query",
    [
        {},
        {"Authorization": "Bearer wrong-token-123"},
        {"Authorization": f"Basic {TOKEN}"},
        "?token=wrong-token-456",
        "?token=",
    ],
)
async def test_bad_token_is_401_and_not_logged(
    ingest: Running, caplog: pytest.LogCaptureFixture, headers_or_query: dict[str, str] | str
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = headers_or_query if isinstance(headers_or_query, dict) else {}
    query = headers_or_query if isinstance(headers_or_query, str) else ""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{ingest.base}/messages{query}", data=json.dumps(row(1)), headers=headers
        ) as response,
    ):
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
    logged = caplog.text
    assert "refused POST /messages" in logged
    assert TOKEN not in logged and "wrong-token" not in logged
    assert ingest.messages() == []
    assert ingest.server.health.counters["unauthorized"] == 1


async def test_query_token_for_browsers(ingest: Running, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{ingest.base}/messages?token={TOKEN}", data=json.dumps(row(1))) as response,
    ):
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    async with connect(f"{ingest.ws_url}?token={TOKEN}&platform=kuaishou") as ws:
        await ws.send(json.dumps(row(2)))
    await ingest.wait_for(2)
    assert ingest.messages()[1].platform == "kuaishou"
    server_side = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets")]
    assert any("GET /ws -> 101" in line for line in server_side)
    assert not any(TOKEN in line for line in server_side)  # our access log omits query strings


async def test_oversized_body_is_413(ingest: Running) -> None:
    running = await start(max_body=2000)
    try:
        status, body = await post(running, json.dumps([row(i) for i in range(100)]))
        assert status == 413 and body["limit"] == 2000

        async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length up front
            for _ in range(10):
                yield b" " * 500

        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{running.base}/messages", data=chunks(), headers=AUTH) as response,
        ):
            assert response.status == 413
        assert running.server.health.counters["oversized_bodies"] == 2
    finally:
        assert running.task is not None
        running.task.cancel()
        await running.server.stop()


async def test_cors_preflight_and_health(ingest: Running) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.options(f"{ingest.base}/messages") as response:
            assert response.status == 204
            assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
        async with session.get(f"{ingest.base}/health") as response:
            assert await response.json() == {"ok": True}
        async with session.get(f"{ingest.base}/stats") as response:
            assert response.status == 401


# ---------------------------------------------------------------- WebSocket


async def test_ws_frames_errors_and_per_connection_counters(ingest: Running) -> None:
    async with connect(ingest.ws_url, additional_headers=AUTH) as ws:
        await ws.send(json.dumps(row(1)))
        await ws.send(json.dumps([row(2), row(3)]).encode())  # binary frame
        await ws.send("not json at all")
        error = json.loads(await ws.recv())
        assert error["frame"] == 3 and "not JSON" in error["errors"][0]["error"]
        await ws.send(b"\xff\xfe binary garbage")
        error = json.loads(await ws.recv())
        assert error["frame"] == 4 and "invalid UTF-8" in error["errors"][0]["error"]
        await ws.send(json.dumps(row(4)))
    async with connect(ingest.ws_url, additional_headers=AUTH) as ws:
        await ws.send(json.dumps(row(5)))
    await ingest.wait_for(5)
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{ingest.base}/stats", headers=AUTH) as response,
    ):
        stats = await response.json()
    first, second = stats["connections"]
    assert (first["kind"], first["frames"], first["accepted"], first["skipped"]) == ("ws", 5, 4, 2)
    assert (second["frames"], second["accepted"]) == (1, 1)
    assert stats["totals"]["received"] == 5 and stats["totals"]["ws_connections"] == 2
    assert TOKEN not in json.dumps(stats)


async def test_ws_without_token_is_refused(ingest: Running) -> None:
    with pytest.raises(InvalidStatus) as caught:
        async with connect(ingest.ws_url):
            pass
    assert caught.value.response.status_code == 401


async def test_ws_drop_mid_frame_keeps_earlier_messages(ingest: Running) -> None:
    async with connect(ingest.ws_url, additional_headers=AUTH) as ws:
        for i in range(10):
            await ws.send(json.dumps(row(i)))
        await ws.ping()  # make sure the server has read the 10 frames
        payload = json.dumps(row(10)).encode()
        masked_header = bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0"  # mask key 0: no change
        ws.transport.write(masked_header + payload[:20])
        ws.transport.abort()
    await ingest.wait_for(10)
    await asyncio.sleep(0.1)
    assert [m.message_id for m in ingest.messages()] == [f"r{i}" for i in range(10)]
    # the server is still fine for the next pusher
    async with connect(ingest.ws_url, additional_headers=AUTH) as ws:
        await ws.send(json.dumps(row(11)))
    await ingest.wait_for(11)


async def test_ws_invalid_utf8_text_frame_closes_only_that_connection(ingest: Running) -> None:
    async with connect(ingest.ws_url, additional_headers=AUTH) as ws:
        await ws.send(json.dumps(row(1)))
        await ws.send(b'{"text": "\xff"}', text=True)  # invalid UTF-8 in a text frame
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007
    async with connect(ingest.ws_url, additional_headers=AUTH) as ws:
        await ws.send(json.dumps(row(2)))
    await ingest.wait_for(2)
    assert ingest.server.health.counters["invalid_utf8"] == 1


async def test_ws_oversized_frames() -> None:
    running = await start(max_bytes=1000)
    try:
        async with connect(running.ws_url, additional_headers=AUTH, max_size=None) as ws:
            await ws.send(json.dumps(row(1, text="x" * 5000)))  # over max_bytes: skipped
            error = json.loads(await ws.recv())
            assert "oversized" in error["errors"][0]["error"]
            await ws.send(json.dumps(row(2)))
            await ws.send("y" * 20_000)  # over 16 x max_bytes: the server closes with 1009
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        await running.wait_for(1)
        assert [m.message_id for m in running.messages()] == ["r2"]
        async with asyncio.timeout(10):  # the server counts it when its handler finishes
            while running.server.health.counters["oversized"] < 2:
                await asyncio.sleep(0.01)
    finally:
        assert running.task is not None
        running.task.cancel()
        await running.server.stop()


async def test_ten_thousand_burst_over_ws_and_post_with_slow_consumer() -> None:
    running = await start(queue_size=50)
    running.consume_delay = 0.002  # the pipeline is slower than the pushers: backpressure
    try:
        async with connect(running.ws_url, additional_headers=AUTH) as ws:
            for i in range(5000):
                await ws.send(json.dumps(row(i)))
        ndjson = "".join(json.dumps(row(i)) + "\n" for i in range(4000, 10_000))
        status, body = await post(running, ndjson)
        assert status == 200 and body["accepted"] + body["duplicates"] == 6000
        await running.wait_for(10_000)
        ids = [m.message_id for m in running.messages()]
        assert len(ids) == 10_000 and len(set(ids)) == 10_000
        assert ids == [f"r{i}" for i in range(10_000)]
    finally:
        assert running.task is not None
        running.task.cancel()
        await running.server.stop()


async def test_field_mapping_applies() -> None:
    fmap = FieldMap.parse("text=payload.comment,user=payload.nick,id=payload.cid,ts=payload.time")
    running = await start(fmap=fmap, platform="taobao")
    try:
        body = {"payload": {"comment": "包邮吗", "nick": "t**3", "cid": 9, "time": "1714564800000"}}
        status, _ = await post(running, json.dumps(body))
        assert status == 200
        await running.wait_for(1)
        msg = running.messages()[0]
        assert (msg.text, msg.display_name, msg.message_id, msg.platform) == (
            "包邮吗",
            "t**3",
            "9",
            "taobao",
        )
        assert msg.sent_at == 1714564800.0
    finally:
        assert running.task is not None
        running.task.cancel()
        await running.server.stop()


# ---------------------------------------------------------------- spec and CLI


def test_spec_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STREAMWATCH_INGEST_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="token"):
        open_ingest_source(SourceSpec("ingest", "9000", "ingest:9000", {}))
    source = open_ingest_source(
        SourceSpec("ingest", "0.0.0.0:9001", "x", {"token": TOKEN, "map": "text=msg"})
    )
    assert source.name == "ingest:9001" and source.config.host == "0.0.0.0"
    assert source.config.fmap.paths["text"] == ("msg",)
    assert TOKEN not in repr(source.config)
    with pytest.raises(ConfigError, match="port"):
        open_ingest_source(SourceSpec("ingest", "abc", "x", {"token": TOKEN}))
    with pytest.raises(ConfigError, match="8 characters"):
        IngestConfig(token="short")


def test_cli_config_error_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--token", "short", "--port", "0"]) == 2
    assert "error: configuration:" in capsys.readouterr().err


async def test_cli_port_in_use(ingest: Running, capsys: pytest.CaptureFixture[str]) -> None:
    code = await asyncio.to_thread(
        main, ["--token", TOKEN, "--port", str(ingest.server.port), "--duration", "1"]
    )
    assert code == 6
    assert "cannot listen" in capsys.readouterr().err


async def test_cli_end_to_end_subprocess(tmp_path: Path) -> None:
    out = tmp_path / "chat.jsonl"
    env = {**os.environ, "STREAMWATCH_INGEST_TOKEN": TOKEN}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streamwatch.connectors.ingest_server",
        "--port",
        "0",
        "--output",
        str(out),
        "--platform",
        "whatnot",
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stderr is not None
    try:
        async with asyncio.timeout(30):
            line = (await proc.stderr.readline()).decode()
        assert "listening on http://127.0.0.1:" in line
        port = int(line.rsplit(":", 1)[1])
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"http://127.0.0.1:{port}/messages",
                data="\n".join(json.dumps(row(i)) for i in range(3)) + "\nbad\n",
                headers=AUTH,
            ) as response,
        ):
            assert response.status == 400
    finally:
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            code = await proc.wait()
            rest = (await proc.stderr.read()).decode()
    assert code == 0
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["r0", "r1", "r2"]
    assert rows[0]["platform"] == "whatnot" and rows[0]["text"] == "question 0?"
    assert "skipped line 4" in rest
    assert TOKEN not in rest


async def test_periodic_status_with_counters_when_quiet() -> None:
    running = await start(status_interval=0.05)
    try:
        async with connect(running.ws_url, additional_headers=AUTH) as ws:
            await ws.send(json.dumps(row(1)))
            await running.wait_for(1)
            async with asyncio.timeout(10):
                while not any(
                    isinstance(e, SourceStatus) and "pusher" in e.detail for e in running.events
                ):
                    await asyncio.sleep(0.01)
        status = next(
            e for e in running.events if isinstance(e, SourceStatus) and "pusher" in e.detail
        )
        assert "1 WebSocket pusher" in status.detail
        assert dict(status.counters)["received"] == 1
    finally:
        assert running.task is not None
        running.task.cancel()
        await running.server.stop()
