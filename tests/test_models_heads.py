"""Heads: partial-label loss masking, save/load without pickles, config validation, metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from streamwatch.errors import ModelError
from streamwatch.models.heads import (
    DISTRUST,
    HEAD_NAMES,
    HEADS_CONFIG_FILE,
    HEADS_WEIGHTS_FILE,
    IGNORE,
    QUESTION,
    SENTIMENT,
    TOPIC,
    HeadsConfig,
    MultiHead,
    load_heads,
    masked_losses,
    predict_probabilities,
    save_heads,
)
from streamwatch.models.metrics import best_threshold, report


def _model(dim: int = 8, seed: int = 0) -> MultiHead:
    torch.manual_seed(seed)
    return MultiHead(HeadsConfig(dim=dim, encoder="test", hidden=4, dropout=0.0))


def test_loss_ignores_rows_without_that_label() -> None:
    model = _model()
    x = torch.randn(4, 8, requires_grad=True)
    labels = {
        QUESTION: torch.tensor([1, IGNORE, 0, IGNORE]),
        SENTIMENT: torch.tensor([IGNORE, 2, IGNORE, IGNORE]),
        DISTRUST: torch.tensor([IGNORE] * 4),
        TOPIC: torch.tensor([3, 3, 3, 3]),
    }
    losses = masked_losses(model(x), labels)
    # a head with no label in the batch adds nothing but keeps the graph
    assert losses[DISTRUST].item() == 0.0
    sum(losses.values(), torch.zeros(())).backward()  # type: ignore[no-untyped-call]
    assert x.grad is not None
    # rows 1 and 3 carry no question label: the question loss does not depend on them
    x2 = x.detach().clone().requires_grad_(True)
    masked_losses(model(x2), labels)[QUESTION].backward()  # type: ignore[no-untyped-call]
    assert x2.grad is not None
    assert torch.all(x2.grad[[1, 3]] == 0) and torch.any(x2.grad[[0, 2]] != 0)
    # and it equals plain BCE over the labelled rows
    logits = model(x.detach())[QUESTION].squeeze(-1)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        logits[[0, 2]], torch.tensor([1.0, 0.0])
    )
    torch.testing.assert_close(masked_losses(model(x.detach()), labels)[QUESTION], expected)


def test_row_and_class_weights_scale_the_loss() -> None:
    model = _model()
    x = torch.randn(3, 8)
    labels = {h: torch.tensor([IGNORE] * 3) for h in HEAD_NAMES}
    labels[SENTIMENT] = torch.tensor([0, 1, 2])
    plain = masked_losses(model(x), labels)[SENTIMENT]
    only_first = {SENTIMENT: torch.tensor([1.0, 0.0, 0.0])}
    first = masked_losses(model(x), labels, only_first)[SENTIMENT]
    expected = torch.nn.functional.cross_entropy(model(x)[SENTIMENT][:1], torch.tensor([0]))
    torch.testing.assert_close(first, expected)
    assert not torch.isclose(first, plain)


def test_save_and_load_round_trip_without_pickles(tmp_path: Path) -> None:
    model = _model()
    model.config.thresholds = {QUESTION: 0.4, DISTRUST: 0.7}
    save_heads(model, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [HEADS_CONFIG_FILE, HEADS_WEIGHTS_FILE]
    assert not (tmp_path / HEADS_WEIGHTS_FILE).read_bytes().startswith(b"\x80")  # not a pickle
    loaded = load_heads(tmp_path)
    assert loaded.config.thresholds == {QUESTION: 0.4, DISTRUST: 0.7}
    x = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32)
    a = predict_probabilities(model.eval(), x)
    b = predict_probabilities(loaded, x)
    for h in HEAD_NAMES:
        np.testing.assert_allclose(a[h], b[h], rtol=1e-6)
    assert a[QUESTION].shape == (5,) and a[TOPIC].shape == (5, 10)
    np.testing.assert_allclose(a[SENTIMENT].sum(axis=1), 1.0, rtol=1e-5)


def test_a_config_written_before_shouted_text_was_lower_cased_still_loads(tmp_path: Path) -> None:
    save_heads(_model(), tmp_path)
    data = json.loads((tmp_path / HEADS_CONFIG_FILE).read_text())
    del data["lowercase_shouted"]
    (tmp_path / HEADS_CONFIG_FILE).write_text(json.dumps(data))
    assert load_heads(tmp_path).config.lowercase_shouted is False


@pytest.mark.parametrize(
    "change",
    [
        {"thresholds": {QUESTION: 1.5, DISTRUST: 0.5}},
        {"labels": {QUESTION: ["no", "yes"]}},
        {"unknown_key": 1},
        {"version": 99},
        {"lowercase_shouted": "yes"},
    ],
)
def test_bad_heads_config_is_a_model_error(tmp_path: Path, change: dict[str, object]) -> None:
    save_heads(_model(), tmp_path)
    data = json.loads((tmp_path / HEADS_CONFIG_FILE).read_text())
    data.update(change)
    (tmp_path / HEADS_CONFIG_FILE).write_text(json.dumps(data))
    with pytest.raises(ModelError):
        load_heads(tmp_path)


def test_weights_that_do_not_match_the_config_are_refused(tmp_path: Path) -> None:
    save_heads(_model(dim=8), tmp_path)
    data = json.loads((tmp_path / HEADS_CONFIG_FILE).read_text())
    data["dim"] = 16
    (tmp_path / HEADS_CONFIG_FILE).write_text(json.dumps(data))
    with pytest.raises(ModelError):
        load_heads(tmp_path)


def test_report_scores_and_confusion() -> None:
    rep = report([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], ["a", "b", "c"])
    assert rep.confusion.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    a, b, c = rep.per_class
    assert (a.precision, a.recall) == (0.5, 0.5)
    assert b.precision == pytest.approx(2 / 3) and b.recall == 1.0
    assert c.f1 == 0.0 and c.support == 1
    assert rep.macro_f1 == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert rep.accuracy == pytest.approx(0.6)


def test_best_threshold_finds_the_separating_cut() -> None:
    gold = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.55, 0.6, 0.9], dtype=np.float32)
    t, f1 = best_threshold(gold, scores)
    assert 0.55 < t <= 0.6 and f1 == 1.0
