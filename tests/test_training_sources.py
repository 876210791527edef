"""Readers, lexicon rules and the dataset builder of streamwatch.models.training.

Reader tests write tiny files with the exact column layouts of the real datasets (headers copied
from ``shared/data/train``) into ``tmp_path``. The last test builds the real dataset when
``../shared/data`` exists and is skipped otherwise.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from streamwatch.errors import InputFormatError
from streamwatch.events import Topic
from streamwatch.models.training import build_dataset as bd
from streamwatch.models.training.lexicons import (
    DISTRUST,
    TOPIC_CUES,
    Cue,
    distrust_signal,
    has_question_cue,
    looks_hindi,
    signals,
    topic_cues,
)
from streamwatch.models.training.sources import (
    SOURCES,
    LabelledText,
    SourceMissing,
    clean_tweet,
    hash_split,
    parse_vi_aspects,
    read_et_valence,
    read_ru_rusentiment,
    read_source,
    read_th_wisesight,
    read_vi_uit_visfd,
    read_xlmt_tweets,
    read_xquad_questions,
    read_zh_jd,
    read_zh_online_shopping,
    read_zh_waimai,
    resolve_data_root,
)

REQUIRED_LANGS = ("zh", "en", "ru", "et", "es", "pt", "de", "ja", "ko", "id", "vi", "th")


def _wisesight(*rows: tuple[str, str]) -> str:
    """Wisesight JSONL lines of (category, text)."""
    return "".join(json.dumps({"category": c, "texts": t}) + "\n" for c, t in rows)


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


# --------------------------------------------------------------------------- fixtures

ZH_SHOPPING = (
    "cat,label,review\n"
    "书籍,1,\ufeff做父母一定要有刘墉这样的心态，不断地学习\n"
    "洗发水,0,假货，洗了头皮发痒\n"
    "衣服,0,\n"
    "平板,7,标签不对的一行\n"
)
WAIMAI = "label,review\n1,很快，好吃，味道足，量大\n0,送餐太慢了\n"
JD_HEADER = "_id,user,content,creationTime,referenceName,tag\n"
RU_HEADER = "label,text\n"
VI_HEADER = "index,comment,n_star,date_time,label\n"


def _jd_row(i: int, content: str, tag: str) -> str:
    oid = f'"ObjectId(""5e64ab00b3c41f2661763f{i:02d}"")"'
    return f"{oid},是***见,{content},2019/6/3 17:01,耐克(NIKE) 运动包,{tag}\n"


def make_root(tmp_path: Path) -> Path:
    """A data root with every dataset in its real layout, a few rows each."""
    train = tmp_path / "data" / "train"
    _write(train / "zh_shopping_reviews" / "online_shopping_10_cats.csv", ZH_SHOPPING)
    _write(train / "zh_shopping_reviews" / "waimai_10k.csv", WAIMAI)
    jd = train / "zh_jd_comments"
    _write(
        jd / "jdComment_TrainSet.csv",
        JD_HEADER
        + _jd_row(1, "鞋子很舒服！不知是不是正品。", "3")
        + _jd_row(2, "假货。鞋底超硬。一定别买呀。", "1")
        + _jd_row(3, "挺好的", "3"),
    )
    _write(jd / "jdComment_ValidSet.csv", JD_HEADER + _jd_row(4, "还行吧，有点胶味", "2"))
    _write(
        jd / "jdComment_TestSet.csv",
        JD_HEADER + _jd_row(5, "挺好的", "3") + _jd_row(6, "垃圾", "9"),
    )
    ru = train / "ru_rusentiment"
    _write(
        ru / "rusentiment_random_posts.csv",
        RU_HEADER + 'negative,"А попа подозревала давно"\n'
        "speech,З прошедшим Днем Ангела))))))))\nskip,Два дня до отлёта с острова!!!!!!!\n",
    )
    _write(
        ru / "rusentiment_preselected_posts.csv", RU_HEADER + "neutral,Прорвём блокаду изнутри.\n"
    )
    _write(
        ru / "rusentiment_test.csv", RU_HEADER + 'positive,"Скоро ты вернешься домой,\nлюбимый ❤"\n'
    )
    tweets = train / "multi_tweets_xlmt"
    for stem, text, labels in (
        (
            "train",
            '"Frank Gaffrey\\u002c Cliff May: Brilliant. I\\u2019ve had \\""fun\\"" &amp; more" \n'
            "Ya no es tan divertido\n",
            "2\n0\n",
        ),
        ("val", "just ok\n", "1\n"),
        ("test", "love it\n", "2\n"),
    ):
        _write(tweets / "english" / f"{stem}_text.txt", text)
        _write(tweets / "english" / f"{stem}_labels.txt", labels)
    for stem in ("train", "val", "test"):
        _write(tweets / "hindi" / f"{stem}_text.txt", "kya hua yaar\ngreat match today\n")
        _write(tweets / "hindi" / f"{stem}_labels.txt", "0\n2\n")
    th = train / "th_wisesight"
    _write(
        th / "train.jsonl",
        _wisesight(("q", "เท่าไหร่"), ("neg", "ของปลอมแน่ๆ ไม่ซื้ออีกแล้ว")) + "{not json\n",
    )
    _write(th / "valid.jsonl", _wisesight(("pos", "ชอบมากค่ะ")))
    _write(th / "test.jsonl", _wisesight(("neu", "ครับ #phithanbkk"), ("xx", "ไม่รู้")))
    vi = train / "vi_uit_visfd"
    _write(
        vi / "Train.csv",
        VI_HEADER
        + '0,"Giá rẻ quá, đáng tiền",5,9/7/2020,{PRICE#Positive};{GENERAL#Positive};\n'
        + '1,"Pin kém còn lại miễn chê",5,14/09/2019,'
        + "{BATTERY#Negative};{GENERAL#Positive};{OTHERS};\n"
        + '2,"Giao hàng nhanh, đóng gói kỹ",5,2 tuần trước,{SER&ACC#Positive};\n'
        + '3,"Máy đẹp\nchụp ảnh tốt",4,1/1/2020,{CAMERA#Positive};{DESIGN#Positive};\n'
        + '4,"Màn hình xấu, pin tốt",3,1/1/2020,{SCREEN#Negative};{CAMERA#Positive};\n'
        + "5,không rõ,3,1/1/2020,{FOO#Positive};\n",
    )
    _write(vi / "Dev.csv", VI_HEADER + '0,"Nhân viên nhiệt tình",5,1/1/2020,{SER&ACC#Positive};\n')
    _write(vi / "Test.csv", VI_HEADER + '0,"Hàng giả, lừa đảo",1,1/1/2020,{GENERAL#Negative};\n')
    _write(
        train / "et_valence" / "korpus.csv",
        'neutraalne,"Tänasest juhib keskust Tarmo Leppoja."\n'
        "positiivne,Väga hea uudis!\nnegatiivne,See on täielik pettus ja kelmus\n",
    )
    _write(
        train / "questions_xquad" / "derived_questions.tsv",
        "lang\tqid\tquestion\n"
        "en\t56beb4343aeaaa14008c925b\tHow many points did the defense allow?\n"
        "de\t56beb4343aeaaa14008c925b\tWie viele Punkte ließ die Verteidigung zu?\n"
        "zh\t56beb4343aeaaa14008c925c\t卢克·库切利记录了多少次擒抱？\n"
        "xx1\tbad\tbad language code\n",
    )
    return tmp_path / "data"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_root(tmp_path)


# --------------------------------------------------------------------------- readers


def test_zh_online_shopping_maps_label_and_skips_bad_rows(root: Path) -> None:
    skips: Counter[str] = Counter()
    rows = list(read_zh_online_shopping(root, skips))
    assert [(r.text, r.sentiment, r.lang) for r in rows] == [
        ("做父母一定要有刘墉这样的心态，不断地学习", "pos", "zh"),
        ("假货，洗了头皮发痒", "neg", "zh"),
    ]
    assert all(r.split == hash_split(r.text) and not r.weak and r.topic is None for r in rows)
    assert skips["zh_online_shopping: empty text"] == 1
    assert skips["zh_online_shopping: unknown label"] == 1


def test_zh_waimai(root: Path) -> None:
    rows = list(read_zh_waimai(root, Counter()))
    assert [(r.sentiment, r.source) for r in rows] == [("pos", "zh_waimai"), ("neg", "zh_waimai")]


def test_zh_jd_uses_its_own_splits_and_tags(root: Path) -> None:
    skips: Counter[str] = Counter()
    rows = list(read_zh_jd(root, skips))
    assert [(r.split, r.sentiment) for r in rows] == [
        ("train", "pos"),
        ("train", "neg"),
        ("train", "pos"),
        ("dev", "neu"),
        ("test", "pos"),
    ]
    assert rows[1].text == "假货。鞋底超硬。一定别买呀。"
    assert skips["zh_jd: unknown label"] == 1


def test_rusentiment_drops_speech_and_skip_and_keeps_test_file(root: Path) -> None:
    skips: Counter[str] = Counter()
    rows = list(read_ru_rusentiment(root, skips))
    assert sorted((r.sentiment, r.split == "test") for r in rows) == [
        ("neg", False),
        ("neu", False),
        ("pos", True),
    ]
    test_row = next(r for r in rows if r.split == "test")
    assert test_row.text == "Скоро ты вернешься домой, любимый ❤"  # newline collapsed
    assert all(r.split in ("train", "dev") for r in rows if r is not test_row)
    assert skips["ru_rusentiment: dropped class speech"] == 1
    assert skips["ru_rusentiment: dropped class skip"] == 1


def test_xlmt_tweets_unescapes_and_fixes_english_rows_of_hindi_set(root: Path) -> None:
    skips: Counter[str] = Counter()
    rows = list(read_xlmt_tweets(root, skips))
    first = rows[0]
    assert first.text == 'Frank Gaffrey, Cliff May: Brilliant. I’ve had "fun" & more'
    assert (first.sentiment, first.split, first.lang) == ("pos", "train", "en")
    assert {(r.split, r.sentiment) for r in rows if r.text == "just ok"} == {("dev", "neu")}
    hindi = [r for r in rows if r.text == "kya hua yaar"]
    english = [r for r in rows if r.text == "great match today"]
    assert {r.lang for r in hindi} == {"hi"} and {r.lang for r in english} == {"en"}
    assert skips["xlmt_tweets: language folder arabic missing"] == 1


def test_xlmt_label_and_text_files_must_align(root: Path) -> None:
    folder = root / "train" / "multi_tweets_xlmt" / "english"
    (folder / "val_labels.txt").write_text("1\n2\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"val_text\.txt has 1 lines"):
        list(read_xlmt_tweets(root, Counter()))


def test_clean_tweet_handles_plain_text() -> None:
    assert clean_tweet("no escapes here ") == "no escapes here"


def test_wisesight_question_class(root: Path) -> None:
    skips: Counter[str] = Counter()
    rows = list(read_th_wisesight(root, skips))
    by_text = {r.text: r for r in rows}
    assert (by_text["เท่าไหร่"].is_question, by_text["เท่าไหร่"].sentiment) == (True, None)
    neg = by_text["ของปลอมแน่ๆ ไม่ซื้ออีกแล้ว"]
    assert (neg.is_question, neg.sentiment, neg.split) == (False, "neg", "train")
    assert by_text["ชอบมากค่ะ"].split == "dev" and by_text["ครับ #phithanbkk"].split == "test"
    assert skips["th_wisesight: malformed JSON line"] == 1
    assert skips["th_wisesight: unknown label"] == 1


def test_vi_aspects_give_sentiment_and_topic(root: Path) -> None:
    skips: Counter[str] = Counter()
    rows = {r.text: r for r in read_vi_uit_visfd(root, skips)}
    price = rows["Giá rẻ quá, đáng tiền"]
    assert (price.sentiment, price.topic, price.weak) == ("pos", "price_promo", False)
    battery = rows["Pin kém còn lại miễn chê"]
    assert (battery.sentiment, battery.topic) == ("pos", None)  # GENERAL wins; BATTERY ambiguous
    shipping = rows["Giao hàng nhanh, đóng gói kỹ"]
    assert (shipping.topic, shipping.weak_fields) == ("shipping", ("topic",))
    assert rows["Máy đẹp chụp ảnh tốt"].topic == "authenticity_quality"
    mixed = rows["Màn hình xấu, pin tốt"]
    assert (mixed.sentiment, mixed.topic) == (None, "authenticity_quality")
    staff = rows["Nhân viên nhiệt tình"]
    assert (staff.topic, staff.split) == (None, "dev")
    assert rows["Hàng giả, lừa đảo"].split == "test"
    assert skips["vi_uit_visfd: unknown label"] == 1


def test_parse_vi_aspects_rejects_garbage() -> None:
    assert parse_vi_aspects("nothing here") is None
    parsed = parse_vi_aspects("{OTHERS};{PRICE#Neutral};")
    assert parsed is not None and parsed.sentiment == "neu" and parsed.gold_topic() == "price_promo"


def test_et_valence_has_no_header(root: Path) -> None:
    rows = list(read_et_valence(root, Counter()))
    assert [r.sentiment for r in rows] == ["neu", "pos", "neg"]
    assert rows[0].text == "Tänasest juhib keskust Tarmo Leppoja."


def test_xquad_questions_split_by_question_id(root: Path) -> None:
    skips: Counter[str] = Counter()
    rows = list(read_xquad_questions(root, skips))
    assert [(r.lang, r.is_question) for r in rows] == [("en", True), ("de", True), ("zh", True)]
    assert rows[0].split == rows[1].split == hash_split("56beb4343aeaaa14008c925b")
    assert skips["xquad_questions: bad language code"] == 1


def test_missing_dataset_and_bad_header(tmp_path: Path) -> None:
    with pytest.raises(SourceMissing):
        read_source(SOURCES[0], tmp_path, Counter())
    _write(tmp_path / "train" / "et_valence" / "korpus.csv", "")
    _write(tmp_path / "train" / "zh_shopping_reviews" / "waimai_10k.csv", "score,text\n1,好\n")
    with pytest.raises(InputFormatError, match="expected header"):
        list(read_zh_waimai(tmp_path, Counter()))


def test_invalid_utf8_row_is_skipped_and_counted(tmp_path: Path) -> None:
    _write(
        tmp_path / "train" / "zh_shopping_reviews" / "waimai_10k.csv",
        "label,review\n1,好吃\n0,".encode() + b"\xff\xfe bad\n" + "1,很快\n".encode(),
    )
    skips: Counter[str] = Counter()
    rows = list(read_zh_waimai(tmp_path, skips))
    assert [r.text for r in rows] == ["好吃", "很快"]
    assert skips["zh_waimai: undecodable bytes"] == 1


def test_overlong_text_and_markup_are_handled(tmp_path: Path) -> None:
    _write(
        tmp_path / "train" / "zh_shopping_reviews" / "waimai_10k.csv",
        "label,review\n1," + "好" * 1_000_000 + "\n0,[bold]<s>\x1b[31m红</s>\n",
    )
    skips: Counter[str] = Counter()
    rows = list(read_zh_waimai(tmp_path, skips))
    assert [r.text for r in rows] == ["[bold]<s>红</s>"]  # markup kept, colour codes dropped
    assert skips["zh_waimai: text over 4000 chars"] == 1


def test_data_root_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert resolve_data_root(tmp_path) == tmp_path
    monkeypatch.setenv("STREAMWATCH_DATA_ROOT", str(tmp_path / "env"))
    assert resolve_data_root() == tmp_path / "env"
    monkeypatch.delenv("STREAMWATCH_DATA_ROOT")
    assert resolve_data_root().parts[-2:] == ("shared", "data")


def test_labelled_text_round_trip_and_validation() -> None:
    row = LabelledText("hi", "en", "x", "train", sentiment="neu").with_weak(topic="other")
    assert LabelledText.from_json(row.to_json()) == row
    assert row.weak and row.weak_fields == ("topic",)
    with pytest.raises(ValueError):
        LabelledText("hi", "en", "x", "train", topic="weather")
    with pytest.raises(ValueError):
        LabelledText("hi", "en", "x", "holdout")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- lexicons


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("假货，洗了头皮发痒", "zh", Cue.FOUND),
        ("不是假货，放心买", "zh", Cue.AMBIGUOUS),
        ("质量不好，不是正品", "zh", Cue.FOUND),
        ("是不是正品啊", "zh", Cue.AMBIGUOUS),
        ("是正品吗", "zh", Cue.NONE),  # a plain authenticity question
        ("怀疑是不是正品", "zh", Cue.FOUND),
        ("怕买到假货，收到后放心了", "zh", Cue.AMBIGUOUS),
        ("刚才还便宜一百", "zh", Cue.FOUND),
        ("看书的时候仿佛回到童年", "zh", Cue.NONE),
        ("放假的时候买的", "zh", Cue.NONE),
        ("this is a total scam", "en", Cue.FOUND),
        ("not a scam, legit seller", "en", Cue.AMBIGUOUS),
        ("is it genuine leather?", "en", Cue.NONE),
        ("это подделка", "ru", Cue.FOUND),
        ("это не подделка", "ru", Cue.AMBIGUOUS),
        ("müüja on petis", "et", Cue.FOUND),
        ("es una estafa", "es", Cue.FOUND),
        ("isso é golpe", "pt", Cue.FOUND),
        ("reiner Betrug", "de", Cue.FOUND),
        ("これ偽物でしょ", "ja", Cue.FOUND),
        ("偽物じゃないよ", "ja", Cue.AMBIGUOUS),
        ("완전 가짜네요", "ko", Cue.FOUND),
        ("가짜 아니에요 정품이에요", "ko", Cue.AMBIGUOUS),
        ("barang palsu", "id", Cue.FOUND),
        ("bukan palsu kok", "id", Cue.AMBIGUOUS),
        ("shop lừa đảo", "vi", Cue.FOUND),
        ("không phải hàng giả đâu", "vi", Cue.AMBIGUOUS),
        ("ของปลอมแน่นอน", "th", Cue.FOUND),
        ("ไม่ใช่ของปลอมนะ", "th", Cue.AMBIGUOUS),
    ],
)
def test_distrust_rules(text: str, lang: str, expected: Cue) -> None:
    assert distrust_signal(text, lang).cue is expected


def test_distrust_cue_names_its_topic() -> None:
    assert distrust_signal("假货", "zh").topic is Topic.AUTHENTICITY_QUALITY
    assert distrust_signal("刚才还便宜", "zh").topic is Topic.PRICE_PROMO
    assert distrust_signal("被骗了", "zh").topic is None


def test_every_required_language_has_cues_for_every_topic() -> None:
    for lang in REQUIRED_LANGS:
        assert DISTRUST[lang], lang
        for topic, by_lang in TOPIC_CUES.items():
            assert by_lang.get(lang), (lang, topic)
    assert Topic.OTHER not in TOPIC_CUES


@pytest.mark.parametrize(
    ("text", "lang", "topics"),
    [
        ("快递很快", "zh", {Topic.SHIPPING}),
        ("物流很快，质量很好", "zh", {Topic.SHIPPING, Topic.AUTHENTICITY_QUALITY}),
        ("what size is it", "en", {Topic.SIZE_SPECS}),
        ("Máy tốt, đánh giá 5 sao", "vi", set()),
        ("giá bao nhiêu", "vi", {Topic.PRICE_PROMO}),
        ("доставка долгая", "ru", {Topic.SHIPPING}),
        ("送料無料ですか", "ja", {Topic.SHIPPING}),
    ],
)
def test_topic_cues(text: str, lang: str, topics: set[Topic]) -> None:
    assert topic_cues(text, lang) == topics


@pytest.mark.parametrize(
    ("text", "lang", "cue"),
    [
        ("鞋子很舒服", "zh", False),
        ("这个多少钱", "zh", True),
        ("有货吗", "zh", True),
        ("I love this", "en", False),
        ("link pls", "en", True),
        ("How do I order", "en", True),
        ("Я знаю, что это правда", "ru", False),
        ("Где ты золушка", "ru", True),
        ("Kas saadate Eestisse", "et", True),
        ("mua được không", "vi", True),
    ],
)
def test_question_cues(text: str, lang: str, cue: bool) -> None:
    assert has_question_cue(text, lang) is cue


def test_looks_hindi() -> None:
    assert looks_hindi("kya hua yaar")
    assert looks_hindi("क्या हुआ")
    assert not looks_hindi("great match today")


# --------------------------------------------------------------------------- weak labels


def test_weak_labels_on_a_review() -> None:
    fake = bd.add_weak_labels(
        LabelledText("假货，退钱", "zh", "s", "train", sentiment="neg"), "commerce"
    )
    assert (fake.distrust, fake.topic, set(fake.weak_fields)) == (
        True,
        "authenticity_quality",
        {"distrust", "topic", "is_question"},
    )
    assert fake.is_question is False
    praised = bd.add_weak_labels(
        LabelledText("比起和奸商斗争放心多了", "zh", "s", "train", sentiment="pos"), "commerce"
    )
    assert praised.distrust is None  # a positive review is not distrust
    fast = bd.add_weak_labels(LabelledText("快递很快", "zh", "s", "train"), "commerce")
    assert (fast.distrust, fast.topic) == (False, "shipping")
    mixed = bd.add_weak_labels(LabelledText("物流很快，质量很好", "zh", "s", "train"), "commerce")
    assert mixed.topic is None
    hedged = bd.add_weak_labels(
        LabelledText("不敢说是假货，物流很快", "zh", "s", "train"), "commerce"
    )
    assert (hedged.distrust, hedged.topic) == (None, None)


def test_weak_labels_on_social_posts() -> None:
    plain = bd.add_weak_labels(
        LabelledText("я люблю их", "ru", "s", "train", sentiment="pos"), "social"
    )
    assert (plain.distrust, plain.topic, plain.is_question) == (False, "other", False)
    assert plain.sentiment == "pos" and "sentiment" not in plain.weak_fields
    scam = bd.add_weak_labels(LabelledText("this is a scam", "en", "s", "train"), "social")
    assert (scam.distrust, scam.topic) == (None, None)
    asked = bd.add_weak_labels(LabelledText("Где ты золушка?", "ru", "s", "train"), "social")
    assert asked.is_question is True
    price = bd.add_weak_labels(LabelledText("какая цена", "ru", "s", "train"), "social")
    assert price.topic is None


def test_signals_combine_own_language_and_english() -> None:
    sig = signals("hàng fake, ship chậm", "vi")
    assert sig.distrust.cue is Cue.FOUND
    assert Topic.SHIPPING in sig.topics


# --------------------------------------------------------------------------- builder


def _options(root: Path, out: Path, **kw: object) -> bd.BuildOptions:
    return bd.BuildOptions(out=out, data_root=root, handwritten=False, **kw)  # type: ignore[arg-type]


def test_build_is_deterministic_and_disjoint(root: Path, tmp_path: Path) -> None:
    out1, out2 = tmp_path / "a", tmp_path / "b"
    assert bd.main(["--out", str(out1), "--data-root", str(root), "--no-handwritten"]) == 0
    assert bd.main(["--out", str(out2), "--data-root", str(root), "--no-handwritten"]) == 0
    for name in (bd.TRAIN_FILE, bd.DEV_FILE, bd.TEST_FILE, bd.STATS_FILE, bd.SPOTCHECK_FILE):
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes(), name
    splits = {s: bd.read_jsonl(out1 / f) for s, f in bd.SPLIT_FILES.items()}
    keys = {s: {bd.text_key(r.text) for r in rows} for s, rows in splits.items()}
    assert not keys["train"] & keys["test"] and not keys["dev"] & keys["test"]
    assert not keys["train"] & keys["dev"]
    # "挺好的" is in JD train and JD test: only the test copy stays
    assert bd.text_key("挺好的") in keys["test"] and bd.text_key("挺好的") not in keys["train"]
    for split, rows in splits.items():
        assert all(r.split == split for r in rows)
        assert [bd.row_id(r) for r in rows] == sorted(bd.row_id(r) for r in rows)
    stats = json.loads((out1 / bd.STATS_FILE).read_text(encoding="utf-8"))
    assert stats["train"]["rows"] == len(splits["train"])
    assert sum(stats["test"]["by_source"].values()) == len(splits["test"])
    assert stats["build"]["removed_rows"]["train: text already in a held-out split"] >= 1
    assert "## distrust = true" in (out1 / bd.SPOTCHECK_FILE).read_text(encoding="utf-8")


def test_build_caps_each_source_but_keeps_rare_rows(root: Path, tmp_path: Path) -> None:
    report = bd.build(_options(root, tmp_path / "o", train_cap=2, eval_cap=1))
    per_group = Counter((r.source, r.lang) for r in report.rows["train"])
    assert max(per_group.values()) <= 2
    jd = [r for r in report.rows["train"] if r.source == "zh_jd"]
    assert any(r.distrust is True for r in jd)  # the fake-goods complaint survived the cap
    assert all(n <= 1 for n in Counter((r.source, r.lang) for r in report.rows["test"]).values())


def test_build_skips_missing_sets_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_root(tmp_path)
    for folder in ("zh_jd_comments", "th_wisesight"):
        for path in sorted((root / "train" / folder).iterdir()):
            path.unlink()
        (root / "train" / folder).rmdir()
    args = ["--out", str(tmp_path / "o"), "--data-root", str(root), "--no-handwritten"]
    assert bd.main(args) == 0
    err = capsys.readouterr().err
    assert "skipping zh_jd:" in err and "skipping th_wisesight:" in err
    rows = bd.read_jsonl(tmp_path / "o" / bd.TRAIN_FILE)
    assert rows and not {"zh_jd", "th_wisesight"} & {r.source for r in rows}


def test_build_reports_malformed_input(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    waimai = root / "train" / "zh_shopping_reviews" / "waimai_10k.csv"
    waimai.write_text("x,y\n", encoding="utf-8")
    code = bd.main(["--out", str(tmp_path / "o"), "--data-root", str(root), "--no-handwritten"])
    assert code == InputFormatError.exit_code
    assert "error: input:" in capsys.readouterr().err


def test_read_jsonl_rejects_truncated_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.jsonl", '{"text": "ok", "lang": "en", "source": "s", "spl')
    with pytest.raises(InputFormatError, match=r"train\.jsonl:1"):
        bd.read_jsonl(path)


def test_merge_prefers_gold_and_drops_conflicts() -> None:
    gold = LabelledText("同一句", "zh", "a", "train", sentiment="pos")
    weak = LabelledText("同一句", "zh", "b", "train").with_weak(sentiment="neg", topic="shipping")
    other = LabelledText("同一句", "zh", "c", "train", topic="stock")
    merged = bd.merge_duplicates([weak, other, gold])
    assert (merged.source, merged.sentiment, merged.topic) == ("a", "pos", "stock")
    assert merged.weak_fields == () and not merged.weak
    clash = bd.merge_duplicates([gold, LabelledText("同一句", "zh", "d", "train", sentiment="neg")])
    assert clash.sentiment is None


def test_handwritten_rows_keep_their_split(root: Path, tmp_path: Path) -> None:
    if not any(bd.HANDWRITTEN_DIR.glob("*.jsonl")):
        pytest.skip("no hand-written set in models/training/handwritten/")
    skips: Counter[str] = Counter()
    handwritten = bd.load_handwritten(skips)
    assert handwritten is not None and not skips
    report = bd.build(bd.BuildOptions(out=tmp_path / "o", data_root=root, sources=("et_valence",)))
    test_keys = {bd.text_key(r.text) for r in handwritten if r.split == "test"}
    built_test = {bd.text_key(r.text) for r in report.rows["test"] if r.source == "handwritten"}
    assert test_keys == built_test
    train_keys = {bd.text_key(r.text) for r in report.rows["train"]}
    assert not test_keys & train_keys


# --------------------------------------------------------------------------- real data

REAL_ROOT = resolve_data_root()


@pytest.mark.slow
@pytest.mark.skipif(not (REAL_ROOT / "train").is_dir(), reason=f"no real data at {REAL_ROOT}")
def test_real_dataset_build_has_disjoint_splits(tmp_path: Path) -> None:
    options = bd.BuildOptions(out=tmp_path / "real", data_root=REAL_ROOT, spotcheck_n=5)
    report = bd.build(options)
    bd.write(report, options)
    keys = {s: {bd.text_key(r.text) for r in rows} for s, rows in report.rows.items()}
    assert not keys["train"] & keys["test"]
    assert not keys["dev"] & keys["test"]
    assert not keys["train"] & keys["dev"]
    per_group = Counter(
        (r.source, r.lang) for r in report.rows["train"] if r.source != "handwritten"
    )
    assert max(per_group.values()) <= bd.TRAIN_CAP
    sources = {r.source for rows in report.rows.values() for r in rows}
    assert {spec.name for spec in SOURCES} <= sources
    assert any(r.distrust is True for r in report.rows["train"])
    assert any(r.is_question is True and r.lang == "th" for r in report.rows["train"])
    assert sum(1 for line in (tmp_path / "real" / bd.TEST_FILE).open(encoding="utf-8")) == len(
        report.rows["test"]
    )
