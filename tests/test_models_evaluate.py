"""The evaluation command: its scores on known predictions, its sets, its option errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from streamwatch.events import Classification, Sentiment, Topic
from streamwatch.models import evaluate
from streamwatch.models.heads import DISTRUST, QUESTION, SENTIMENT, TOPIC
from streamwatch.models.metrics import report
from streamwatch.models.training.handwritten_data import load_handwritten


def _pred(question: bool, sentiment: str, distrust: bool, topic: str, lang: str) -> Classification:
    return Classification(
        is_question=question,
        question_score=float(question),
        sentiment=Sentiment(sentiment),
        sentiment_scores=(0.0, 1.0, 0.0),
        distrust=distrust,
        distrust_score=float(distrust),
        topic=Topic(topic),
        topic_score=1.0,
        lang=lang,
        model="test",
    )


def test_score_set_scores_each_head_overall_and_per_language() -> None:
    evalset = evaluate.EvalSet(
        "commerce",
        ["a", "b", "c", "d"],
        ["en", "en", "et", "et"],
        {
            QUESTION: np.array([1, 0, 1, 1]),
            SENTIMENT: np.array([0, 1, 2, 1]),
            DISTRUST: np.array([1, 0, 0, 0]),
            TOPIC: np.array([0, 1, 0, 1]),
        },
        lang_neutral=np.array([False, False, False, True]),
    )
    preds = [
        _pred(True, "neg", True, "price_promo", "en"),
        _pred(False, "neu", False, "shipping", "en"),
        _pred(True, "pos", True, "price_promo", "et"),
        _pred(False, "neu", False, "price_promo", "und"),
    ]
    res = evaluate.score_set(evalset, preds)
    heads = res["heads"]
    # question: tp 2, fp 0, fn 1 -> P 1, R 2/3, F1 0.8; en perfect; et tp 1, fn 1 -> F1 2/3
    assert heads[QUESTION]["score"] == pytest.approx(0.8)
    assert heads[QUESTION]["per_lang"]["en"]["score"] == pytest.approx(1.0)
    assert heads[QUESTION]["per_lang"]["et"]["score"] == pytest.approx(2 / 3)
    assert heads[QUESTION]["per_lang"]["et"]["recall"] == pytest.approx(0.5)
    # distrust: tp 1, fp 1 -> F1 2/3
    assert heads[DISTRUST]["score"] == pytest.approx(2 / 3)
    assert heads[SENTIMENT]["score"] == pytest.approx(1.0)
    assert heads[SENTIMENT]["confusion"] == [[1, 0, 0], [0, 2, 0], [0, 0, 1]]
    # topic: price_promo P 2/3 R 1 F1 0.8; shipping P 1 R 1/2 F1 2/3; no other gold or predicted
    # class counts in the macro average
    assert heads[TOPIC]["score"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert res["lang_id"]["accuracy"] == pytest.approx(1.0)
    assert res["lang_id"]["neutral_rows_und"] == pytest.approx(1.0)


def test_commerce_dev_scores_the_held_out_train_rows(tmp_path: Path) -> None:
    out = tmp_path / "dev.json"
    rc = evaluate.main(["--model", "baseline", "--sets", "commerce_dev", "--json", str(out)])
    assert rc == 0
    result = json.loads(out.read_text(encoding="utf-8"))["sets"]
    assert list(result) == ["commerce_dev"]
    train = load_handwritten(split="train")
    test_texts = {r.text for r in load_handwritten(split="test")}
    n = result["commerce_dev"]["n"]
    assert 0.15 * len(train) < n < 0.25 * len(train)  # the hash holds out 20 %
    assert set(result["commerce_dev"]["heads"][QUESTION]["per_lang"]) == {r.lang for r in train}
    dev = evaluate.commerce_set("dev")
    assert dev is not None and len(dev.texts) == n
    assert not set(dev.texts) & test_texts


def test_shouted_sets_upper_case_the_rows_that_have_case_and_keep_their_labels(
    tmp_path: Path,
) -> None:
    both = evaluate.commerce_set("both")
    assert both is not None
    loud = evaluate.shouted_set(both)
    assert loud is not None and loud.name == "commerce_both_shouted"
    cased = [i for i, t in enumerate(both.texts) if t.upper() != t]
    assert loud.texts == [both.texts[i].upper() for i in cased]
    assert all(any(c.isupper() for c in t) for t in loud.texts) and "en" in loud.langs
    assert len(loud.texts) < len(both.texts)  # rows in scripts without case are left out
    for head, y in loud.labels.items():
        assert list(y) == [both.labels[head][i] for i in cased]
    out = tmp_path / "loud.json"
    sets = "commerce_dev,commerce_dev_shouted"
    assert evaluate.main(["--model", "baseline", "--sets", sets, "--json", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))["sets"]
    assert list(result) == ["commerce_dev", "commerce_dev_shouted"]
    assert 0 < result["commerce_dev_shouted"]["n"] < result["commerce_dev"]["n"]
    caseless = evaluate.EvalSet("x", ["尺码偏大吗", "666"], ["zh", "und"], {})
    assert evaluate.shouted_set(caseless) is None


def test_unknown_set_is_a_configuration_error_before_any_model_loads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc = evaluate.main(["--model", "no/such-model", "--sets", "commerce,twich"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "unknown evaluation set twich" in err
    assert "commerce_dev" in err


def test_language_gaps_list_cells_more_than_ten_points_below_english() -> None:
    n = evaluate.MIN_LANG_ROWS
    langs = ["en"] * n + ["et"] * n + ["de"] * n
    gold = np.array([1, 0] * (3 * n // 2))
    evalset = evaluate.EvalSet(
        "commerce_both",
        [f"m{i}" for i in range(3 * n)],
        langs,
        {
            QUESTION: gold,
            SENTIMENT: np.ones(3 * n, dtype=np.int64),
            DISTRUST: np.zeros(3 * n, dtype=np.int64),
            TOPIC: np.full(3 * n, 9, dtype=np.int64),
        },
    )
    # every other head perfect everywhere; question: en and de perfect; et misses every question -> F1 0, 100 points below English
    preds = [
        _pred(bool(g) and lang != "et", "neu", False, "other", lang)
        for g, lang in zip(gold, langs, strict=True)
    ]
    res = evaluate.score_set(evalset, preds)
    assert evaluate.language_gaps(res) == [(QUESTION, "et", -100.0)]
    summary = evaluate.summary_table({"commerce_both": res})
    assert "commerce_both per language: 1 cell more than 10 points below en" in summary
    assert "question et -100.0" in summary


def test_default_sets_include_both_held_out_commerce_sets() -> None:
    sets = evaluate.parse_args([]).sets.split(",")
    assert sets[:3] == ["commerce", "commerce_holdout", "commerce_both"]
    assert "commerce_dev" not in sets


def test_a_gap_just_over_the_limit_is_not_printed_as_the_limit() -> None:
    assert evaluate._points(-10.04) == "-10.04"
    assert evaluate._points(-13.21) == "-13.2"
    assert evaluate._points(3.0) == "+3.0"


def test_a_gap_of_exactly_ten_points_is_not_a_cell() -> None:
    # de: 27 of 28 questions found, 5 false alarms: F1 54/60 = 0.9, computed as
    # 0.8999999999999999, against English's 1.0
    rep = report(np.array([1] * 28 + [0] * 5), np.array([1] * 27 + [0] + [1] * 5), ["no", "yes"])
    de = evaluate.head_score(QUESTION, rep)
    assert 100 * (de - 1.0) < -evaluate.LANG_GAP_POINTS  # the float noise the gap must ignore
    per = {"en": {"n": 30, "score": 1.0}, "de": {"n": 30, "score": de}}
    per_just_over = {"en": {"n": 30, "score": 1.0}, "de": {"n": 30, "score": 0.8999}}
    assert evaluate.language_gaps({"heads": {QUESTION: {"per_lang": per}}}) == []
    [(_, lang, d)] = evaluate.language_gaps({"heads": {QUESTION: {"per_lang": per_just_over}}})
    assert lang == "de" and d == pytest.approx(-10.01)


def test_gaps_are_rounded_once_for_printing() -> None:
    # -17.049 points: rounding to two decimals first would print -17.1
    per = {"en": {"n": 30, "score": 0.97}, "et": {"n": 30, "score": 0.79951}}
    res = {"heads": {SENTIMENT: {"per_lang": per}}}
    [(head, lang, d)] = evaluate.language_gaps(res)
    assert (head, lang) == (SENTIMENT, "et") and d == pytest.approx(-17.049)
    assert evaluate._points(d) == "-17.0"
