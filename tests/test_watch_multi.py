"""``streamwatch watch`` with Twitch, YouTube and Bilibili at once, each against a local server
speaking the platform's real protocol: headless through the CLI, and in the TUI."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from streamwatch.cli import main
from streamwatch.connectors.registry import open_source
from streamwatch.engine import ConcernEngine
from streamwatch.models.baseline import BaselineClassifier
from streamwatch.pipeline import Pipeline, PipelineConfig
from streamwatch.tui.app import StreamwatchApp

from . import test_bilibili_connector as bili
from . import test_twitch_connector as twitch
from . import test_youtube_connector as yt

TWITCH_N, YOUTUBE_N, BILIBILI_N = 20, 12, 15


async def _twitch_script(s: twitch.Session) -> None:
    await s.login()
    for i in range(TWITCH_N):
        await s.send(twitch.privmsg(i))
    await s.wait_closed()


async def _bilibili_script(s: bili.Session) -> None:
    await s.accept()
    await s.send([bili.danmu(i) for i in range(BILIBILI_N)])
    await s.wait_closed()


@asynccontextmanager
async def _youtube() -> AsyncIterator[str]:
    server = yt.FakeYouTube()
    server.video_replies.append(yt.video_body())
    items = [
        yt.text_item(f"yt{i}", f"ship to Canada? {i}", name=f"Viewer{i}", n=i)
        for i in range(YOUTUBE_N)
    ]
    server.chat_replies.append(yt.page(items, "p2", interval_ms=200))
    server.chat_replies.extend(yt.page([], f"p{3 + i}", interval_ms=200) for i in range(200))
    app = web.Application()
    app.router.add_get("/youtube/v3/videos", server.videos)
    app.router.add_get("/youtube/v3/liveChat/messages", server.messages)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/youtube/v3"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def _platforms() -> AsyncIterator[list[str]]:
    async with (
        twitch.FakeTwitch(_twitch_script) as tw,
        bili.FakeBilibili(_bilibili_script) as bb,
        _youtube() as yurl,
    ):
        yield [
            f"twitch:{twitch.CHANNEL}?endpoint={tw.url}",
            f"youtube:{yt.VIDEO}?endpoint={yurl}&key={yt.KEY}",
            f"bilibili:{bili.ROOM}?endpoint={bb.url}",
        ]


async def test_watch_three_platforms_headless_records_everything(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    async with _platforms() as specs:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "streamwatch.cli", "watch", *specs, "--headless",
            "--duration", "4", "--model", "baseline", "--data-dir", data,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    total = TWITCH_N + YOUTUBE_N + BILIBILI_N
    assert f"messages: {total} received, {total} classified" in text
    for platform in ("twitch", "youtube", "bilibili"):
        assert f"source {platform}:" in text
    assert yt.KEY not in text and yt.KEY not in err.decode()
    session = text.strip().splitlines()[-1]
    export = io.StringIO()
    assert main(["export", session, "--data-dir", data], out=export) == 0
    rows = [json.loads(line) for line in export.getvalue().splitlines()]
    by_platform = {
        p: [r for r in rows if r["platform"] == p] for p in ("twitch", "youtube", "bilibili")
    }
    assert [len(v) for v in by_platform.values()] == [TWITCH_N, YOUTUBE_N, BILIBILI_N]
    assert {r["id"] for r in by_platform["twitch"]} == {twitch.msg_id(i) for i in range(TWITCH_N)}
    assert {r["id"] for r in by_platform["youtube"]} == {f"yt{i}" for i in range(YOUTUBE_N)}


@pytest.mark.parametrize("size", [(140, 40)])
async def test_tui_shows_each_sources_health(size: tuple[int, int]) -> None:
    async with _platforms() as specs:
        sources = [open_source(spec) for spec in specs]
        app = StreamwatchApp(title="streamwatch", refresh_interval=0.05)
        pipeline = Pipeline(
            sources,
            BaselineClassifier(),
            ConcernEngine(),
            [app.sink],
            PipelineConfig(stats_interval=0.05),
        )
        app.attach(pipeline)
        async with app.run_test(size=size) as pilot:
            total = TWITCH_N + YOUTUBE_N + BILIBILI_N
            for _ in range(200):
                await pilot.pause(0.05)
                status = str(app.status_bar.render())
                stats = app.status_bar.stats
                if stats is not None and stats.received >= total and status.count(" live") >= 3:
                    break
            status = str(app.status_bar.render())
            assert f"twitch:{twitch.CHANNEL} live" in status
            assert f"bilibili:{bili.ROOM} live" in status
            assert "youtube:" in status and status.count(" live") >= 3
            assert app.status_bar.stats is not None and app.status_bar.stats.received == total
            await pilot.press("q")
            for _ in range(100):
                if pipeline.done:
                    break
                await pilot.pause(0.05)
            assert pipeline.done
