"""The TUI's widgets, fed real event records through the app's real sink (no pipeline)."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message

from streamwatch.events import (
    AlertEvent,
    ConcernStatus,
    InputSkipped,
    MessageDeleted,
    MessageKind,
    OutputEvent,
    PipelineStats,
    Role,
    SourceState,
    SourceStatus,
    Topic,
)
from streamwatch.tui.alerts import AlertsPanel
from streamwatch.tui.app import StreamwatchApp
from streamwatch.tui.chat_feed import ChatFeed, render_message
from streamwatch.tui.concern_queue import PIN_MARK, format_age
from streamwatch.tui.help import HelpScreen
from streamwatch.tui.messages import ActionSubmitted, StatsUpdated

from .tui_support import NOW, chat, classification, clock, concern, publish

SIZE = (120, 36)


def _app() -> StreamwatchApp:
    return StreamwatchApp(title="streamwatch", subtitle="test", clock=clock, refresh_interval=60)


def _feed_text(feed: ChatFeed) -> str:
    return "\n".join(strip.text for strip in feed.rendered_lines())


def _cell(app: StreamwatchApp, row: int, column: str) -> str:
    value = app.queue.get_cell(app.queue.shown_ids[row], column)
    assert isinstance(value, Text)
    return value.plain


async def test_queue_orders_pinned_first_then_priority() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await publish(
            app,
            pilot,
            [
                concern("c1", "how much?", priority=5.0),
                concern("c2", "is it real?", priority=9.0, distrust=2),
                concern("c3", "ship to canada?", priority=1.0, pinned=True),
            ],
        )
        assert app.queue.shown_ids == ["c3", "c2", "c1"]
        assert _cell(app, 0, "pin") == PIN_MARK
        assert _cell(app, 1, "pin") == ""
        assert _cell(app, 1, "distrust") == "2"
        assert _cell(app, 0, "age") == format_age(120.0) == "2m00s"
        assert app.queue.selected() is not None
        assert app.queue.selected().concern_id == "c3"  # type: ignore[union-attr]


async def test_an_update_replaces_the_row_in_place() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await publish(app, pilot, [concern("c1", "how much?", priority=2.0, viewers=1)])
        await publish(
            app,
            pilot,
            [concern("c1", "how much?", priority=6.0, viewers=3, languages=("en", "zh", "ru"))],
        )
        assert app.queue.shown_ids == ["c1"]
        assert _cell(app, 0, "viewers") == "3"
        assert _cell(app, 0, "langs") == "en,zh,+1"


async def test_closed_concerns_leave_the_open_view_and_v_shows_all() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await publish(
            app,
            pilot,
            [
                concern("c1", "open one", priority=1.0),
                concern("c2", "answered one", priority=9.0, status=ConcernStatus.ANSWERED),
                concern("c3", "dismissed one", priority=8.0, status=ConcernStatus.DISMISSED),
            ],
        )
        assert app.queue.shown_ids == ["c1"]
        assert "open (1)" in str(app.queue.border_title)
        await pilot.press("v")
        assert app.queue.shown_ids == ["c1", "c2", "c3"]  # open first, then closed by priority
        assert _cell(app, 1, "status") == "answered"
        assert "all (3)" in str(app.queue.border_title)
        await pilot.press("v")
        assert app.queue.shown_ids == ["c1"]


async def test_cursor_stays_on_its_concern_when_a_more_urgent_one_arrives() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await publish(
            app,
            pilot,
            [concern("c1", "first", priority=5.0), concern("c2", "second", priority=3.0)],
        )
        await pilot.press("down")
        assert app.queue.selected().concern_id == "c2"  # type: ignore[union-attr]
        await publish(app, pilot, [concern("c9", "urgent", priority=50.0)])
        assert app.queue.shown_ids == ["c9", "c1", "c2"]
        assert app.queue.selected().concern_id == "c2"  # type: ignore[union-attr]


async def test_markup_and_escapes_in_chat_render_literally() -> None:
    app = _app()
    hostile = [
        "[bold]FREE[/bold] giveaway",
        "[link=https://evil.example]click me[/link]",
        "<s>struck</s> <script>x</script>",
        "\x1b[31mred\x1b[0m text",
        "\x1b]0;pwned title\x07 after",
        "\u202eevil reversed",
        "X" * 1_000_000,
        "bad surrogate \ud800 here",
    ]
    async with app.run_test(size=SIZE) as pilot:
        events: list[OutputEvent] = [
            chat(i, text, name="[i]mallory[/i]", cls=classification())
            for i, text in enumerate(hostile)
        ]
        events.append(concern("c1", "[red]label[/red] \x1b[2J", priority=1.0))
        await publish(app, pilot, events)
        screen_text = _feed_text(app.chat)
        assert "[bold]FREE[/bold] giveaway" in screen_text
        assert "[link=https://evil.example]click me[/link]" in screen_text
        assert "<s>struck</s> <script>x</script>" in screen_text
        assert "␛[31mred␛[0m text" in screen_text
        assert "␛]0;pwned title␇ after" in screen_text
        assert "\ufffdevil reversed" in screen_text
        assert "bad surrogate \ufffd here" in screen_text
        assert "[i]mallory[/i]" in screen_text
        for strip in app.chat.rendered_lines():
            for segment in strip:
                assert "\x1b" not in segment.text and "\x07" not in segment.text
                assert "\u202e" not in segment.text
                assert segment.style is None or not segment.style.link
        # the 1 MB message became a few hundred characters
        assert screen_text.count("X") <= 301
        assert "X…" in screen_text.replace("\n", "")
        assert _cell(app, 0, "label") == "[red]label[/red] ␛[2J"


async def test_feed_marks_questions_distrust_and_host() -> None:
    question = render_message(chat(1, "price?", cls=classification()))
    distrust = render_message(
        chat(2, "this is fake", cls=classification(question=False, distrust=True))
    )
    host = render_message(
        chat(3, "we ship tomorrow", name="shop", role=Role.HOST, cls=classification(question=False))
    )
    host_asking = render_message(  # the host's own lines raise no concern, so carry no marks
        chat(6, "who wants it?", name="shop", role=Role.HOST, cls=classification(distrust=True))
    )
    unclassified = render_message(chat(4, "hello", cls=None))
    paid = render_message(
        chat(
            5, "love it", cls=classification(question=False), kind=MessageKind.PAID, amount="$5.00"
        )
    )

    def styles_of(text: Text, part: str) -> set[str]:
        start = text.plain.index(part)
        return {
            str(span.style)
            for span in text.spans
            if span.start <= start and span.end >= start + len(part)
        }

    assert "bold cyan" in styles_of(question, "?")
    assert "cyan" in styles_of(question, "price?")
    assert "[price/promo en]" in question.plain
    assert "bold red" in styles_of(distrust, "!")
    assert "red" in styles_of(distrust, "this is fake")
    assert "bold black on yellow" in styles_of(host, " HOST ")
    assert "on grey23" in styles_of(host, "we ship tomorrow")
    marks = slice(9, 11)  # after "HH:MM:SS "
    assert (question.plain[marks], distrust.plain[marks]) == ("? ", " !")
    assert host_asking.plain[marks] == "  "
    assert "dim" in styles_of(unclassified, "·")
    assert "$5.00" in paid.plain


async def test_status_bar_shows_failed_source_gaps_and_loss_counters() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await publish(
            app,
            pilot,
            [
                SourceStatus(
                    "twitch:shop",
                    SourceState.LIVE,
                    NOW - 1,
                    heartbeat_age=2.0,
                    gap_seconds=12.0,
                    missed_estimate=40,
                ),
                SourceStatus(
                    "youtube:abc", SourceState.FAILED, NOW - 1, detail="quota [b]exhausted[/b]"
                ),
                SourceStatus(
                    "bilibili:7", SourceState.RECONNECTING, NOW - 1, detail="timeout", attempt=3
                ),
                PipelineStats(
                    NOW,
                    received=1000,
                    classified=900,
                    dropped_overload=7,
                    skipped_invalid=2,
                    unclassified=93,
                    queue_depth=5,
                    queue_capacity=100,
                    latency_p50_ms=8,
                    latency_p99_ms=40,
                    rate_per_s=312.5,
                ),
            ],
        )
        text = str(app.status_bar.render())
        assert "youtube:abc FAILED: quota [b]exhausted[/b]" in text
        assert "twitch:shop live hb 3s 1 gap 12s ~40 missed" in text
        assert "bilibili:7 reconnecting #3 timeout" in text
        assert "dropped 7" in text
        assert "skipped 2" in text
        assert "unclassified 93" in text
        assert "312.5 msg/s" in text and "queue 5/100" in text and "p50 8 p99 40 ms" in text
        assert "received 1000  classified 900" in text


async def test_loss_counters_are_drawn_even_at_zero() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await publish(app, pilot, [PipelineStats(NOW, received=3, classified=3)])
        text = str(app.status_bar.render())
        assert "dropped 0" in text and "skipped 0" in text and "unclassified 0" in text


async def test_input_skipped_is_counted_and_named() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await publish(app, pilot, [InputSkipped("file:chat.jsonl", "line 17", "invalid JSON", NOW)])
        text = str(app.status_bar.render())
        assert "skipped 1" in text
        assert "last skipped: file:chat.jsonl line 17: invalid JSON" in text


async def test_queued_stats_merge_into_the_newest() -> None:
    handled: list[StatsUpdated] = []

    def hook(message: Message) -> None:
        if isinstance(message, StatsUpdated):
            handled.append(message)

    app = _app()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        for i in range(50):  # posted back to back: the app cannot handle any in between
            app.post_message(StatsUpdated(PipelineStats(NOW, received=i)))
        await pilot.pause()
        assert 1 <= len(handled) < 50
        assert handled[-1].stats.received == 49
        assert app.status_bar.stats is not None and app.status_bar.stats.received == 49


async def test_alerts_panel_shows_newest_first() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await publish(
            app,
            pilot,
            [
                AlertEvent(
                    "a1", "distrust_surge", "twitch:shop", NOW - 600, "old surge", 0.2, 0.05
                ),
                AlertEvent(
                    "a2",
                    "distrust_surge",
                    "twitch:shop",
                    NOW - 15,
                    "distrust 4.0x the stream's baseline [b]x[/b]",
                    0.4,
                    0.1,
                ),
            ],
        )
        panel = app.query_one(AlertsPanel)
        rendered = str(panel.render())
        assert rendered.index("15s ago") < rendered.index("10m00s ago")
        assert "DISTRUST SURGE" in rendered
        assert "baseline [b]x[/b]" in rendered
        assert panel.has_class("-fresh")
        assert [a.alert_id for a in panel.alerts] == ["a2", "a1"]


async def test_deleted_messages_are_blanked() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await publish(app, pilot, [chat(1, "buy followers at spam.example"), chat(2, "hello")])
        assert "spam.example" in _feed_text(app.chat)
        await publish(app, pilot, [MessageDeleted("twitch", "shop", NOW, message_id="m1")])
        text = _feed_text(app.chat)
        assert "spam.example" not in text
        assert "(deleted by a moderator)" in text
        assert "hello" in text


async def test_freeze_holds_new_lines_until_unfrozen() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await publish(app, pilot, [chat(1, "before freeze")])
        await pilot.press("f")
        assert app.chat.frozen
        await publish(app, pilot, [chat(2, "during freeze")])
        assert "during freeze" not in _feed_text(app.chat)
        assert "+1 new" in str(app.chat.border_title)
        await pilot.press("f")
        assert not app.chat.frozen
        text = _feed_text(app.chat)
        assert text.index("before freeze") < text.index("during freeze")


async def test_scrollback_is_bounded() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await publish(app, pilot, [chat(i, f"message {i}") for i in range(700)])
        entries = app.chat.entries
        assert len(entries) == app.chat.max_entries == 500
        assert entries[0].message.message_id == "m200"
        assert "message 699" in _feed_text(app.chat)


async def test_keys_without_a_running_pipeline_record_nothing() -> None:
    submitted: list[ActionSubmitted] = []
    app = _app()
    async with app.run_test(
        size=SIZE,
        message_hook=lambda m: submitted.append(m) if isinstance(m, ActionSubmitted) else None,
    ) as pilot:
        await publish(app, pilot, [concern("c1", "how much?", priority=1.0)])
        await pilot.press("a")
        await pilot.pause()
        assert submitted == []
        assert app.queue.shown_ids == ["c1"]
        assert _cell(app, 0, "status") == "open"


async def test_sink_close_without_own_pipeline_shows_stream_ended() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        assert "no pipeline attached" in str(app.status_bar.render())
        await app.sink.close()
        await pilot.pause()
        assert "stream ended" in str(app.status_bar.render())


async def test_help_opens_and_closes_and_blocks_queue_keys() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await publish(app, pilot, [concern("c1", "how much?", priority=1.0)])
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("v", "f")  # covered by the help screen: no effect
        assert not app.queue.show_all and not app.chat.frozen
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("v")
        assert app.queue.show_all


async def test_quit_without_pipeline_exits() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_other_topics_show_short_names() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await publish(
            app, pilot, [concern("c1", "x", priority=1.0, topic=Topic.PAYMENT_SECURITY_PRIVACY)]
        )
        assert _cell(app, 0, "topic") == "payment"


async def test_feed_follows_new_messages_unless_scrolled_up() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await publish(app, pilot, [chat(i, f"message {i}") for i in range(100)])
        assert app.chat.max_scroll_y > 0
        assert app.chat.scroll_y == app.chat.max_scroll_y  # following the newest
        await publish(app, pilot, [chat(i, f"message {i}") for i in range(100, 110)])
        assert app.chat.scroll_y == app.chat.max_scroll_y

        app.chat.scroll_to(y=5, animate=False, immediate=True)  # the user scrolls up
        await pilot.pause()
        await publish(app, pilot, [chat(i, f"message {i}") for i in range(110, 120)])
        assert app.chat.scroll_y == 5  # the view stays put
        assert app.chat.max_scroll_y > 5

        app.chat.scroll_end(animate=False, immediate=True)  # back at the bottom: follows again
        await pilot.pause()
        await publish(app, pilot, [chat(i, f"message {i}") for i in range(120, 130)])
        assert app.chat.scroll_y == app.chat.max_scroll_y


async def test_scrolled_up_view_stays_on_its_messages_when_old_ones_fall_off() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await publish(app, pilot, [chat(i, f"message {i}") for i in range(500)])
        app.chat.scroll_to(y=100, animate=False, immediate=True)
        await pilot.pause()
        first_seen = app.chat.entries[100].message.message_id
        await publish(app, pilot, [chat(i, f"message {i}") for i in range(500, 520)])
        assert len(app.chat.entries) == 500
        assert app.chat.scroll_y == 80  # 20 one-line messages fell off the top
        assert app.chat.entries[80].message.message_id == first_seen


async def test_long_messages_wrap_instead_of_being_cut() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        long_text = " ".join(f"word{i}" for i in range(40))  # about 270 characters
        await publish(app, pilot, [chat(1, long_text), chat(2, "short")])
        lines = [strip.text.rstrip() for strip in app.chat.rendered_lines()]
        assert len(lines) >= 4
        assert "word39" in "".join(lines)
        assert lines[-1].endswith("viewer2: short")
