"""Head training: partial-label datasets, the commerce dev split, the embedding cache, reproducibility."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import torch

from streamwatch.errors import ModelError
from streamwatch.models.heads import DISTRUST, IGNORE, QUESTION, SENTIMENT, TOPIC, TOPIC_LABELS
from streamwatch.models.training.train_heads import (
    EmbeddingCache,
    LabelSet,
    TrainArgs,
    class_weights,
    embed_with_cache,
    is_commerce_dev,
    read_dataset,
    row_weights,
    text_key,
    train_heads,
)


def _row(text: str, **labels: object) -> dict[str, object]:
    base: dict[str, object] = {
        "text": text,
        "lang": "en",
        "is_question": None,
        "sentiment": None,
        "distrust": None,
        "topic": None,
        "source": "s",
        "weak": False,
        "weak_fields": [],
    }
    base.update(labels)
    return base


def _write(path: Path, rows: list[object]) -> None:
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8"
    )


def test_read_dataset_keeps_partial_labels_and_counts_bad_rows(tmp_path: Path) -> None:
    _write(
        tmp_path / "train.jsonl",
        [
            _row("price?", is_question=True, topic="price_promo", source="handwritten"),
            _row(
                "great phone", sentiment="pos", distrust=False, weak_fields=["distrust"], weak=True
            ),
            "{not json",
            _row("", sentiment="pos"),
            _row("x", sentiment="amazing"),
        ],
    )
    _write(tmp_path / "dev.jsonl", [_row("meh", sentiment="neu")])
    skips: Counter[str] = Counter()
    data = read_dataset(tmp_path, ("train", "dev"), skips)
    assert sum(skips.values()) == 3
    assert len(data) == 3
    i = data.texts.index("great phone")
    assert data.labels[SENTIMENT][i] == 2 and data.labels[QUESTION][i] == IGNORE
    assert data.labels[DISTRUST][i] == 0 and data.weak[DISTRUST][i] and not data.weak[SENTIMENT][i]
    j = data.texts.index("price?")
    assert data.labels[TOPIC][j] == TOPIC_LABELS.index("price_promo")


def test_commerce_dev_split_is_stable_and_about_a_fifth() -> None:
    texts = [f"message {i}" for i in range(2000)]
    share = sum(is_commerce_dev(t) for t in texts) / len(texts)
    assert 0.16 < share < 0.24
    assert [is_commerce_dev(t) for t in texts[:50]] == [is_commerce_dev(t) for t in texts[:50]]


def test_weights_favour_commerce_and_gold(tmp_path: Path) -> None:
    _write(
        tmp_path / "train.jsonl",
        [
            _row("a", sentiment="pos", source="handwritten"),
            _row("b", sentiment="pos", topic="other", weak=True, weak_fields=["topic"]),
        ],
    )
    data = read_dataset(tmp_path, ("train",))
    args = TrainArgs(data=tmp_path, out=tmp_path, commerce_weight=8.0, weak_topic_weight=0.1)
    w = row_weights(data, args)
    assert w[SENTIMENT].tolist() == [8.0, 1.0]
    assert w[TOPIC][1] == pytest.approx(0.1)
    cw = class_weights(data, np.arange(2), w)
    assert cw[SENTIMENT].shape == (3,)


def test_embedding_cache_round_trip_including_nul_ending_keys(tmp_path: Path) -> None:
    texts = [f"text {i}" for i in range(3000)]
    assert any(text_key(t).endswith(b"\x00") for t in texts)  # the case numpy byte strings break
    cache = EmbeddingCache(tmp_path, "fp")
    vectors = np.random.default_rng(0).standard_normal((3000, 4)).astype(np.float32)
    cache.add(texts, vectors)
    cache.save()
    again = EmbeddingCache(tmp_path, "fp")
    assert len(again) == 3000 and again.missing(texts) == []
    np.testing.assert_allclose(again.get(texts[::7]), vectors[::7], atol=1e-2)


def test_embed_with_cache_only_computes_missing(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def embed(batch: Sequence[str]) -> npt.NDArray[np.float32]:
        calls.append(list(batch))
        return np.ones((len(batch), 3), dtype=np.float32) * len(batch)

    cache = EmbeddingCache(tmp_path, "fp")
    embed_with_cache(["a", "b"], cache, embed)
    out = embed_with_cache(["a", "b", "c", "c"], cache, embed)
    assert calls == [["a", "b"], ["c"]]
    assert out.shape == (4, 3)


def _synthetic(tmp_path: Path) -> tuple[npt.NDArray[np.float32], LabelSet]:
    """Separable embeddings: each head's label is encoded in its own direction."""
    rng = np.random.default_rng(0)
    rows, xs = [], []
    for i in range(600):
        q, d, s, t = i % 2, (i // 2) % 2, i % 3, i % 10
        x = 0.05 * rng.standard_normal(32)
        x[0] += 1.0 if q else -1.0
        x[1] += 1.0 if d else -1.0
        x[2 + s] += 1.0
        x[5 + t] += 1.0
        xs.append(x / np.linalg.norm(x))
        split = "dev" if i % 7 == 0 else "train"
        labels = {
            "is_question": bool(q),
            "distrust": bool(d),
            "sentiment": ["neg", "neu", "pos"][s],
            "topic": TOPIC_LABELS[t],
        }
        if i % 3 == 1 and split == "train":
            labels["topic"] = None  # partial labels
        rows.append((split, _row(f"t{i}", source="handwritten", **labels)))
    for split in ("train", "dev"):
        _write(tmp_path / f"{split}.jsonl", [r for sp, r in rows if sp == split])
    data = read_dataset(tmp_path, ("train", "dev"))
    order = {f"t{i}": i for i in range(600)}
    emb: npt.NDArray[np.float32] = np.stack([xs[order[t]] for t in data.texts]).astype(np.float32)
    return emb, data


def test_training_learns_and_is_reproducible(tmp_path: Path) -> None:
    x, data = _synthetic(tmp_path)
    args = TrainArgs(
        data=tmp_path,
        out=tmp_path / "out",
        epochs=20,
        patience=20,
        hidden=16,
        lr=1e-2,
        batch_size=32,
        dropout=0.0,
        seed=3,
    )
    model_a, summary = train_heads(x, data, args, "test-encoder", log=lambda _: None)
    assert summary["dev_score"] > 0.9
    model_b, _ = train_heads(x, data, args, "test-encoder", log=lambda _: None)
    for (ka, va), (kb, vb) in zip(
        model_a.state_dict().items(), model_b.state_dict().items(), strict=True
    ):
        assert ka == kb and torch.equal(va, vb)
    assert 0 < model_a.config.thresholds[QUESTION] < 1


def test_train_args_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        TrainArgs(data=tmp_path, out=tmp_path, lr=5.0)
    with pytest.raises(ModelError):
        TrainArgs(data=tmp_path, out=tmp_path, epochs=0)
