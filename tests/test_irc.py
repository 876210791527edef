"""The sans-I/O IRC parser and Twitch protocol core, fed raw lines as Twitch sends them."""

from __future__ import annotations

import os
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamwatch.connectors.irc import (
    MAX_LINE_BYTES,
    IrcMessage,
    JoinedEvent,
    NoticeEvent,
    ReconnectRequestedEvent,
    TwitchEvent,
    TwitchIrcProtocol,
    escape_tag_value,
    format_line,
    parse_line,
    redact_line,
    unescape_tag_value,
)
from streamwatch.errors import ConfigError, ProtocolError
from streamwatch.events import ChatMessage, InputSkipped, MessageDeleted, MessageKind, Role

# The CC0 irc-parser-tests vectors live beside the repository (../shared/...), not in it.
VECTORS = Path(
    os.environ.get("STREAMWATCH_IRC_VECTORS")
    or Path(__file__).resolve().parents[2] / "shared/data/protocol/irc-parser-tests"
)

# Lines written exactly as Twitch sends them (tag sets of 2024 web chat).
PLAIN = (
    "@badge-info=;badges=;client-nonce=5d2b2f3a8f6e4b0a9c1d2e3f4a5b6c7d;color=#1E90FF;"
    "display-name=LunaBuys;emotes=;first-msg=0;flags=;id=885196de-cb67-427a-baa8-82f9b0fcd05f;"
    "mod=0;returning-chatter=0;room-id=713936733;subscriber=0;tmi-sent-ts=1717171717171;"
    "turbo=0;user-id=58355428;user-type= :lunabuys!lunabuys@lunabuys.tmi.twitch.tv "
    "PRIVMSG #sellershop :does the blue one come in size M?"
)
BROADCASTER = (
    "@badge-info=subscriber/22;badges=broadcaster/1,subscriber/3012;color=#FF4500;"
    "display-name=SellerShop;emotes=;first-msg=0;flags=;id=0d6a8b5e-7f7c-4a77-9b1f-3a2c1d0e9f8a;"
    "mod=0;returning-chatter=0;room-id=713936733;subscriber=1;tmi-sent-ts=1717171720000;"
    "turbo=0;user-id=713936733;user-type= :sellershop!sellershop@sellershop.tmi.twitch.tv "
    "PRIVMSG #sellershop :Yes, M is back in stock!"
)
MODERATOR = (
    "@badge-info=;badges=moderator/1,partner/1;color=#008000;display-name=ModKat;emotes=;"
    "first-msg=0;flags=;id=c1e8f0d2-3b4a-4c5d-8e6f-7a8b9c0d1e2f;mod=1;returning-chatter=0;"
    "room-id=713936733;subscriber=0;tmi-sent-ts=1717171721000;turbo=0;user-id=44322889;"
    "user-type=mod :modkat!modkat@modkat.tmi.twitch.tv PRIVMSG #sellershop :links are in the panel"
)
BITS = (
    "@badge-info=;badges=bits/1000;bits=100;color=;display-name=ronni;emotes=;first-msg=0;"
    "flags=;id=b34ccfc7-4977-403a-8a94-33c6bac34fb8;mod=0;returning-chatter=0;room-id=713936733;"
    "subscriber=0;tmi-sent-ts=1717171722000;turbo=0;user-id=12345678;user-type= "
    ":ronni!ronni@ronni.tmi.twitch.tv PRIVMSG #sellershop :Cheer100 is this legit or a scam?"
)
REPLY = (
    "@badge-info=;badges=;client-nonce=a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5;color=;"
    "display-name=viewer_one;emotes=;first-msg=1;flags=;id=6b2f3a1c-9d8e-4f7a-b6c5-d4e3f2a1b0c9;"
    "mod=0;reply-parent-display-name=SellerShop;reply-parent-msg-body=Yes,\\sM\\sis\\sback\\sin\\sstock!;"
    "reply-parent-msg-id=0d6a8b5e-7f7c-4a77-9b1f-3a2c1d0e9f8a;reply-parent-user-id=713936733;"
    "reply-parent-user-login=sellershop;reply-thread-parent-display-name=SellerShop;"
    "reply-thread-parent-msg-id=0d6a8b5e-7f7c-4a77-9b1f-3a2c1d0e9f8a;"
    "reply-thread-parent-user-id=713936733;reply-thread-parent-user-login=sellershop;"
    "returning-chatter=0;room-id=713936733;subscriber=0;tmi-sent-ts=1717171723000;turbo=0;"
    "user-id=99887766;user-type= :viewer_one!viewer_one@viewer_one.tmi.twitch.tv "
    "PRIVMSG #sellershop :@SellerShop does it ship to Canada?"
)
ACTION = (
    "@badge-info=;badges=;color=;display-name=;emotes=;first-msg=0;flags=;"
    "id=9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a;mod=0;returning-chatter=0;room-id=713936733;"
    "subscriber=0;tmi-sent-ts=1717171724000;turbo=0;user-id=11223344;user-type= "
    ":quietone!quietone@quietone.tmi.twitch.tv PRIVMSG #sellershop :\x01ACTION waves\x01"
)
RESUB = (
    "@badge-info=subscriber/6;badges=subscriber/6,premium/1;color=#008000;display-name=ronni;"
    "emotes=;flags=;id=db25007f-7a18-43eb-9379-80131e44d633;login=ronni;mod=0;msg-id=resub;"
    "msg-param-cumulative-months=6;msg-param-months=0;msg-param-should-share-streak=1;"
    "msg-param-streak-months=2;msg-param-sub-plan-name=Prime;msg-param-sub-plan=Prime;"
    "room-id=713936733;subscriber=1;system-msg=ronni\\ssubscribed\\swith\\sPrime.\\sThey've"
    "\\ssubscribed\\sfor\\s6\\smonths!;tmi-sent-ts=1717171725000;user-id=12345678;user-type= "
    ":tmi.twitch.tv USERNOTICE #sellershop :Great stream -- keep it up!"
)
SUBGIFT = (
    "@badge-info=;badges=staff/1,premium/1;color=#0000FF;display-name=TWW2;emotes=;flags=;"
    "id=e9176cd8-5e22-4684-ad40-ce53c2561c5e;login=tww2;mod=0;msg-id=subgift;"
    "msg-param-months=1;msg-param-recipient-display-name=Mr_Woodchuck;"
    "msg-param-recipient-id=55554444;msg-param-recipient-user-name=mr_woodchuck;"
    "msg-param-sub-plan-name=House\\sof\\sNyoro~n;msg-param-sub-plan=1000;room-id=713936733;"
    "subscriber=0;system-msg=TWW2\\sgifted\\sa\\sTier\\s1\\ssub\\sto\\sMr_Woodchuck!;"
    "tmi-sent-ts=1717171726000;user-id=87654321;user-type=staff "
    ":tmi.twitch.tv USERNOTICE #sellershop"
)
CLEARMSG = (
    "@login=ronni;room-id=;target-msg-id=b34ccfc7-4977-403a-8a94-33c6bac34fb8;"
    "tmi-sent-ts=1717171730000 :tmi.twitch.tv CLEARMSG #sellershop "
    ":Cheer100 is this legit or a scam?"
)
CLEARCHAT_USER = (
    "@ban-duration=350;room-id=713936733;target-user-id=12345678;tmi-sent-ts=1717171731000 "
    ":tmi.twitch.tv CLEARCHAT #sellershop :ronni"
)
CLEARCHAT_BAN = (
    "@room-id=713936733;target-user-id=11223344;tmi-sent-ts=1717171732000 "
    ":tmi.twitch.tv CLEARCHAT #sellershop :quietone"
)
CLEARCHAT_ALL = "@room-id=713936733;tmi-sent-ts=1717171733000 :tmi.twitch.tv CLEARCHAT #sellershop"
WELCOME = [
    ":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands",
    ":tmi.twitch.tv 001 justinfan12345 :Welcome, GLHF!",
    ":tmi.twitch.tv 002 justinfan12345 :Your host is tmi.twitch.tv",
    ":tmi.twitch.tv 003 justinfan12345 :This server is rather new",
    ":tmi.twitch.tv 004 justinfan12345 :-",
    ":tmi.twitch.tv 375 justinfan12345 :-",
    ":tmi.twitch.tv 372 justinfan12345 :You are in a maze of twisty passages, all alike.",
    ":tmi.twitch.tv 376 justinfan12345 :>",
]
JOINED = [
    ":justinfan12345!justinfan12345@justinfan12345.tmi.twitch.tv JOIN #sellershop",
    ":justinfan12345.tmi.twitch.tv 353 justinfan12345 = #sellershop :justinfan12345",
    ":justinfan12345.tmi.twitch.tv 366 justinfan12345 #sellershop :End of /NAMES list",
    "@emote-only=0;followers-only=-1;r9k=0;room-id=713936733;slow=0;subs-only=0 "
    ":tmi.twitch.tv ROOMSTATE #sellershop",
]


def wire(*lines: str) -> bytes:
    return "".join(line + "\r\n" for line in lines).encode()


def proto(**kwargs: Any) -> TwitchIrcProtocol:
    kwargs.setdefault("nick", "justinfan12345")
    kwargs.setdefault("clock", lambda: 1717171800.0)
    return TwitchIrcProtocol("#SellerShop", **kwargs)


def feed(p: TwitchIrcProtocol, *lines: str) -> list[TwitchEvent]:
    p.receive_data(wire(*lines))
    return p.events_received()


def only_chat(events: list[TwitchEvent]) -> ChatMessage:
    [event] = events
    assert isinstance(event, ChatMessage)
    return event


# -- the shared IRC parser test vectors (CC0) --------------------------------------------------


def _vectors(name: str) -> list[dict[str, Any]]:
    path = VECTORS / name
    if not path.exists():
        return []
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    tests: list[dict[str, Any]] = data["tests"]
    return tests


SPLIT = _vectors("msg-split.yaml")
JOIN = _vectors("msg-join.yaml")


@pytest.mark.skipif(not SPLIT, reason="IRC parser test vectors not available")
@pytest.mark.parametrize("case", SPLIT, ids=[c["input"][:40] for c in SPLIT])
def test_msg_split_vectors(case: dict[str, Any]) -> None:
    msg = parse_line(case["input"])
    atoms = case["atoms"]
    assert dict(msg.tags) == (atoms.get("tags") or {})
    assert msg.source == atoms.get("source")
    assert msg.command == atoms["verb"]
    assert list(msg.params) == list(atoms.get("params") or [])


@pytest.mark.skipif(not JOIN, reason="IRC parser test vectors not available")
@pytest.mark.parametrize("case", JOIN, ids=[c.get("desc", "")[:40] for c in JOIN])
def test_msg_join_vectors_round_trip(case: dict[str, Any]) -> None:
    atoms = case["atoms"]
    line = format_line(
        atoms["verb"], atoms.get("params") or [], tags=atoms.get("tags"), source=atoms.get("source")
    )
    back = parse_line(line)
    assert back.command == atoms["verb"]
    assert list(back.params) == list(atoms.get("params") or [])
    assert back.source == atoms.get("source")
    assert dict(back.tags) == {k: v or "" for k, v in (atoms.get("tags") or {}).items()}


# -- parser, own cases -------------------------------------------------------------------------


def test_tag_unescaping_each_sequence() -> None:
    assert unescape_tag_value(r"a\:b\sc\\d\re\nf") == "a;b c\\d\re\nf"
    assert unescape_tag_value("trailing\\") == "trailing"
    assert unescape_tag_value(r"\x") == "x"
    assert escape_tag_value("a;b c\\d\re\nf") == r"a\:b\sc\\d\re\nf"


def test_parse_twitch_privmsg_atoms() -> None:
    msg = parse_line(PLAIN + "\r\n")
    assert msg.verb == "PRIVMSG"
    assert msg.nick == "lunabuys"
    assert msg.params == ("#sellershop", "does the blue one come in size M?")
    assert msg.tags["display-name"] == "LunaBuys"
    assert msg.tags["user-type"] == ""


@pytest.mark.parametrize(
    "line", ["", "   ", "@a=b", "@a=b   ", ":source", ":src  ", "@a :src", "\x00\x01 x", "PR!V x"]
)
def test_parse_rejects_lines_without_command(line: str) -> None:
    with pytest.raises(ProtocolError):
        parse_line(line)


@pytest.mark.parametrize(
    ("command", "params"),
    [("PRIVMSG", ("#a", "x\r\ny")), ("PRIVMSG", ("a b", "c")), ("BAD CMD", ())],
)
def test_format_refuses_unsendable_params(command: str, params: tuple[str, ...]) -> None:
    with pytest.raises(ProtocolError):
        format_line(command, params)


# -- Twitch normalization ----------------------------------------------------------------------


def test_plain_viewer_message() -> None:
    chat = only_chat(feed(proto(), PLAIN))
    assert chat.platform == "twitch"
    assert chat.stream_id == "sellershop"
    assert chat.source == "twitch:sellershop"
    assert chat.message_id == "885196de-cb67-427a-baa8-82f9b0fcd05f"
    assert chat.author_id == "58355428"
    assert chat.display_name == "LunaBuys"
    assert chat.role is Role.VIEWER
    assert chat.text == "does the blue one come in size M?"
    assert chat.sent_at == pytest.approx(1717171717.171)
    assert chat.received_at == 1717171800.0
    assert chat.kind is MessageKind.TEXT
    assert chat.raw == PLAIN


def test_badges_map_to_roles() -> None:
    p = proto()
    assert only_chat(feed(p, BROADCASTER)).role is Role.HOST
    assert only_chat(feed(p, MODERATOR)).role is Role.MODERATOR


def test_bits_make_a_paid_message() -> None:
    chat = only_chat(feed(proto(), BITS))
    assert chat.kind is MessageKind.PAID
    assert chat.amount == "100 bits"


def test_paid_pinned_chat_amount() -> None:
    line = PLAIN.replace(
        "mod=0;",
        "mod=0;pinned-chat-paid-amount=500;pinned-chat-paid-currency=USD;"
        "pinned-chat-paid-exponent=2;pinned-chat-paid-level=ONE;",
    )
    chat = only_chat(feed(proto(), line))
    assert (chat.kind, chat.amount) == (MessageKind.PAID, "5.00 USD")


def test_reply_and_first_message() -> None:
    p = proto()
    chat = only_chat(feed(p, REPLY))
    assert chat.reply_to == "0d6a8b5e-7f7c-4a77-9b1f-3a2c1d0e9f8a"
    assert chat.reply_to_author == "SellerShop"
    assert chat.mentions == ("SellerShop",)
    assert chat.text == "@SellerShop does it ship to Canada?"
    assert p.counters["first_messages"] == 1


def test_action_unwrapped_and_login_when_no_display_name() -> None:
    chat = only_chat(feed(proto(), ACTION))
    assert chat.text == "waves"
    assert chat.display_name == "quietone"


def test_usernotice_with_and_without_viewer_text() -> None:
    p = proto()
    resub = only_chat(feed(p, RESUB))
    assert resub.kind is MessageKind.NOTICE
    assert resub.text == "Great stream -- keep it up!"
    assert resub.display_name == "ronni"
    assert resub.role is Role.VIEWER
    gift = only_chat(feed(p, SUBGIFT))
    assert gift.kind is MessageKind.NOTICE
    assert gift.role is Role.SYSTEM
    assert gift.text == "TWW2 gifted a Tier 1 sub to Mr_Woodchuck!"


def test_clearmsg_and_clearchat_become_deletions() -> None:
    events = feed(proto(), CLEARMSG, CLEARCHAT_USER, CLEARCHAT_BAN, CLEARCHAT_ALL)
    assert all(isinstance(e, MessageDeleted) for e in events)
    one, timeout, ban, everything = (e for e in events if isinstance(e, MessageDeleted))
    assert one.message_id == "b34ccfc7-4977-403a-8a94-33c6bac34fb8"
    assert one.at == pytest.approx(1717171730.0)
    assert (timeout.message_id, timeout.author_id) == (None, "12345678")
    assert "350" in timeout.reason
    assert (ban.author_id, ban.reason) == ("11223344", "author banned")
    assert (everything.message_id, everything.author_id) == (None, None)


def test_login_sequence_anonymous() -> None:
    p = TwitchIrcProtocol("sellershop", rng=random.Random(7))
    assert p.anonymous
    assert p.nick.startswith("justinfan") and p.nick[9:].isdigit()
    p.initiate()
    sent = p.data_to_send()
    assert sent == [
        "CAP REQ :twitch.tv/tags twitch.tv/commands\r\n",
        "PASS SCHMOOPIIE\r\n",
        f"NICK {p.nick}\r\n",
    ]
    assert feed(p, *WELCOME) == []
    assert p.data_to_send() == ["JOIN #sellershop\r\n"]
    welcome_nick = WELCOME[1].split()[2]
    joined = [line.replace(welcome_nick, p.nick) for line in JOINED]
    assert feed(p, *joined) == [JoinedEvent("sellershop")]


def test_login_with_token_never_shows_it() -> None:
    p = TwitchIrcProtocol("sellershop", token="abcd1234secret", nick="SellerBot")
    p.initiate()
    sent = p.data_to_send()
    assert "PASS oauth:abcd1234secret\r\n" in sent
    assert "NICK sellerbot\r\n" in sent
    assert "abcd1234secret" not in repr(p)
    assert [redact_line(s) for s in sent if s.startswith("PASS")] == ["PASS ***\r\n"]


@pytest.mark.parametrize(
    ("channel", "token", "nick"),
    [
        ("bad channel", None, None),
        ("x" * 26, None, None),
        ("ok", "tok en", "me"),
        ("ok", "t", None),
    ],
)
def test_bad_configuration(channel: str, token: str | None, nick: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        TwitchIrcProtocol(channel, token=token, nick=nick)
    assert "tok en" not in str(info.value)


def test_ping_answered_and_reconnect_and_notices() -> None:
    p = proto()
    assert feed(p, "PING :tmi.twitch.tv") == []
    assert p.data_to_send() == ["PONG :tmi.twitch.tv\r\n"]
    assert feed(p, ":tmi.twitch.tv RECONNECT") == [ReconnectRequestedEvent()]
    [bad_login] = feed(p, ":tmi.twitch.tv NOTICE * :Login authentication failed")
    assert bad_login == NoticeEvent("", "Login authentication failed", fatal=True)
    [gone] = feed(
        p,
        "@msg-id=msg_channel_suspended :tmi.twitch.tv NOTICE #sellershop "
        ":This channel does not exist or has been suspended.",
    )
    assert isinstance(gone, NoticeEvent) and gone.fatal
    [slow] = feed(
        p, "@msg-id=slow_on :tmi.twitch.tv NOTICE #sellershop :This room is now in slow mode."
    )
    assert isinstance(slow, NoticeEvent) and not slow.fatal


def test_other_channels_and_unknown_commands_are_counted() -> None:
    p = proto()
    assert feed(p, PLAIN.replace("#sellershop", "#elsewhere"), ":tmi.twitch.tv FROBNICATE x") == []
    assert p.counters["other_channel"] == 1
    assert p.counters["unknown_command"] == 1


# -- bad input ---------------------------------------------------------------------------------


def test_line_split_across_reads_is_buffered() -> None:
    p = proto()
    data = wire(PLAIN, BITS)
    for i in range(0, len(data), 7):
        p.receive_data(data[i : i + 7])
    ids = [e.message_id for e in p.events_received() if isinstance(e, ChatMessage)]
    assert ids == ["885196de-cb67-427a-baa8-82f9b0fcd05f", "b34ccfc7-4977-403a-8a94-33c6bac34fb8"]


def test_invalid_utf8_is_replaced_and_counted() -> None:
    p = proto()
    raw = PLAIN.encode().replace(b"size M?", b"size \xff\xfe M?") + b"\r\n"
    p.receive_data(raw)
    chat = only_chat(p.events_received())
    assert chat.text == "does the blue one come in size \ufffd\ufffd M?"
    assert p.counters["invalid_utf8"] == 1


def test_oversized_line_is_skipped_and_stream_resyncs() -> None:
    p = proto()
    huge = "@id=x;" + "a=" + "b" * (MAX_LINE_BYTES + 10) + " :u PRIVMSG #sellershop :hi"
    data = wire(PLAIN, huge, BITS)
    # arrive in 4 KiB pieces, so the huge line is also seen while still incomplete
    for i in range(0, len(data), 4096):
        p.receive_data(data[i : i + 4096])
    events = p.events_received()
    assert [type(e) for e in events] == [ChatMessage, InputSkipped, ChatMessage]
    assert p.counters["oversized"] == 1


def test_one_mebibyte_message_is_skipped_whole() -> None:
    p = proto()
    p.receive_data(b"x" * ((1 << 20) + 1))
    [skip] = p.events_received()
    assert isinstance(skip, InputSkipped) and skip.where == "frame 1"
    assert p.counters["oversized"] == 1
    assert isinstance(only_chat(feed(p, PLAIN)), ChatMessage)


def test_garbage_lines_are_skipped_not_fatal() -> None:
    p = proto()
    events = feed(p, "@only-tags", ":only-source", PLAIN, "   ", "\x1b[31m[bold]<s>")
    kinds = Counter(type(e).__name__ for e in events)
    assert kinds == {"InputSkipped": 4, "ChatMessage": 1}
    assert p.counters["malformed"] == 4


def test_markup_and_escapes_in_text_are_kept_verbatim() -> None:
    text = "[bold]cheap[/bold] <s>scam</s> \x1b[2J"
    chat = only_chat(feed(proto(), PLAIN.replace("does the blue one come in size M?", text)))
    assert chat.text == text


# -- fuzz --------------------------------------------------------------------------------------

tag_keys = st.text(st.characters(blacklist_characters=" ;=\r\n\0", codec="utf-8"), min_size=1)
middle = st.text(st.characters(blacklist_characters=" \r\n\0", codec="utf-8"), min_size=1).filter(
    lambda s: not s.startswith(":")
)


@given(st.text())
def test_fuzz_parse_line_only_raises_protocol_error(line: str) -> None:
    try:
        msg = parse_line(line)
    except ProtocolError:
        return
    assert isinstance(msg, IrcMessage) and msg.command


@given(st.binary(max_size=4096), st.integers(min_value=1, max_value=64))
@settings(max_examples=300)
def test_fuzz_protocol_never_raises(data: bytes, chunk: int) -> None:
    p = proto()
    for i in range(0, len(data), chunk):
        p.receive_data(data[i : i + chunk])
    for event in p.events_received():
        assert (
            isinstance(
                event,
                ChatMessage | MessageDeleted | InputSkipped | JoinedEvent | NoticeEvent,
            )
            or event == ReconnectRequestedEvent()
        )
    for line in p.data_to_send():
        assert line.endswith("\r\n") and "\n" not in line[:-2] and "\r" not in line[:-2]


@given(
    st.dictionaries(tag_keys, st.text(st.characters(codec="utf-8")), max_size=5),
    st.lists(middle, max_size=4),
    st.text(st.characters(blacklist_characters="\r\n\0", codec="utf-8")),
)
def test_fuzz_format_then_parse_round_trips(
    tags: dict[str, str], params: list[str], trailing: str
) -> None:
    line = format_line("PRIVMSG", [*params, trailing], tags=tags, source="nick!u@host")
    msg = parse_line(line)
    assert dict(msg.tags) == tags
    assert msg.params == (*params, trailing)
    assert msg.source == "nick!u@host"


@given(st.text())
def test_fuzz_tag_escape_round_trip(value: str) -> None:
    assert unescape_tag_value(escape_tag_value(value)) == value
