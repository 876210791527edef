"""The second held-out commerce set: format, composition, and no overlap with training rows."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from streamwatch.events import Sentiment, Topic
from streamwatch.models import evaluate
from streamwatch.models.training.build_dataset import HANDWRITTEN_SETS
from streamwatch.models.training.handwritten_data import (
    DATA_DIR,
    HOLDOUT_DIR,
    LANGS,
    load_handwritten,
    normalise_text,
)

HOLDOUT = load_handwritten(data_dir=HOLDOUT_DIR)
COMMERCE = load_handwritten()
STREAM_CHAT = load_handwritten(data_dir=DATA_DIR.with_name("stream_chat"))


def _strip(text: str) -> str:
    return " ".join("".join(ch for ch in normalise_text(text) if ch.isalnum() or ch == " ").split())


def test_every_language_has_about_150_test_rows() -> None:
    by_lang = Counter(r.lang for r in HOLDOUT)
    assert set(by_lang) == set(LANGS)
    assert all(140 <= n <= 150 for n in by_lang.values()), by_lang
    assert {r.split for r in HOLDOUT} == {"test"}


@pytest.mark.parametrize("lang", LANGS)
def test_each_language_covers_every_label(lang: str) -> None:
    rows = [r for r in HOLDOUT if r.lang == lang]
    assert {r.topic for r in rows} == set(Topic)
    assert {r.sentiment for r in rows} == set(Sentiment)
    assert 10 <= sum(r.distrust for r in rows) <= 30
    assert 0.35 <= sum(r.is_question for r in rows) / len(rows) <= 0.60


def test_every_distrust_row_is_negative() -> None:
    assert [r.text for r in HOLDOUT if r.distrust and r.sentiment is not Sentiment.NEG] == []


def test_no_duplicates_inside_the_set() -> None:
    keys = Counter((r.lang, normalise_text(r.text)) for r in HOLDOUT)
    assert [k for k, n in keys.items() if n > 1] == []


def test_no_row_of_any_other_hand_written_set_matches_a_holdout_row() -> None:
    # equal up to punctuation, emoji, case and spacing: a future training round that adds such a
    # row would leak the held-out set into training
    held = {(r.lang, _strip(r.text)) for r in HOLDOUT if _strip(r.text)}
    leaks = [r.text for r in COMMERCE + STREAM_CHAT if (r.lang, _strip(r.text)) in held]
    assert leaks == []


def test_training_data_is_never_built_from_the_holdout_folder() -> None:
    assert HOLDOUT_DIR not in {folder for _, folder in HANDWRITTEN_SETS}


def test_evaluation_sets_hold_the_holdout_and_both_together() -> None:
    holdout = evaluate.commerce_set("holdout")
    test = evaluate.commerce_set("test")
    both = evaluate.commerce_set("both")
    assert holdout is not None and test is not None and both is not None
    assert holdout.texts == [r.text for r in HOLDOUT]
    assert both.texts == test.texts + holdout.texts
    assert both.langs == test.langs + holdout.langs
    assert (
        evaluate.TARGETS[("commerce_both", "distrust")]
        == evaluate.TARGETS[("commerce", "distrust")]
        == 0.85
    )


def test_without_the_holdout_folder_its_sets_are_skipped_not_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from streamwatch.models.training import handwritten_data

    monkeypatch.setattr(handwritten_data, "HOLDOUT_DIR", tmp_path / "absent")
    assert evaluate.commerce_set("holdout") is None
    assert evaluate.commerce_set("both") is None
    rc = evaluate.main(["--model", "baseline", "--sets", "commerce_holdout,commerce_both"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "skipping commerce_holdout" in err and "skipping commerce_both" in err
