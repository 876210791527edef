"""Model soups: the averaged adapter's merged update is exactly the mean of the runs' updates,
heads and thresholds are averaged, and runs that cannot be averaged are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from streamwatch.errors import ModelError
from streamwatch.models.heads import HeadsConfig, MultiHead
from streamwatch.models.training.soup import Adapter, average_adapters, average_heads, main

LAYER = "encoder.layer.0.attention.self.query"
NORM = "full.encoder.layer.0.output.LayerNorm.weight"


def _adapter(seed: int, r: int = 4, alpha: float = 8.0) -> Adapter:
    g = torch.Generator().manual_seed(seed)
    state = {
        f"{LAYER}.lora_A": torch.randn(r, 12, generator=g),
        f"{LAYER}.lora_B": torch.randn(10, r, generator=g),
        NORM: torch.randn(10, generator=g),
    }
    return state, r, alpha


def _update(adapter: Adapter) -> torch.Tensor:
    state, r, alpha = adapter
    return (alpha / r) * state[f"{LAYER}.lora_B"] @ state[f"{LAYER}.lora_A"]


@pytest.mark.parametrize("n", [2, 3])
def test_the_soup_adapter_applies_the_mean_of_the_runs_updates(n: int) -> None:
    runs = [_adapter(seed) for seed in range(n)]
    soup = average_adapters(runs)
    assert soup[1:] == (4 * n, 8.0 * n)
    assert soup[0][f"{LAYER}.lora_A"].shape == (4 * n, 12)
    mean_update = torch.stack([_update(a) for a in runs]).mean(0)
    torch.testing.assert_close(_update(soup), mean_update)
    torch.testing.assert_close(soup[0][NORM], torch.stack([a[0][NORM] for a in runs]).mean(0))


def test_adapters_that_differ_cannot_be_averaged() -> None:
    with pytest.raises(ModelError, match="at least two runs"):
        average_adapters([_adapter(0)])
    with pytest.raises(ModelError, match="rank or alpha"):
        average_adapters([_adapter(0), _adapter(1, r=8, alpha=16.0)])
    other_layers = ({k.replace("layer.0", "layer.1"): v for k, v in _adapter(1)[0].items()}, 4, 8.0)
    with pytest.raises(ModelError, match="same layers"):
        average_adapters([_adapter(0), other_layers])


def _heads(seed: int, question: float, distrust: float, hidden: int = 16) -> MultiHead:
    torch.manual_seed(seed)
    config = HeadsConfig(
        dim=8, encoder="e", hidden=hidden, thresholds={"question": question, "distrust": distrust}
    )
    config.training = {"finetune": {"seed": seed}}
    config.metrics = {"dev_score": 0.5 + seed / 10}
    return MultiHead(config)


def test_heads_and_thresholds_are_averaged_and_each_runs_record_kept() -> None:
    a, b = _heads(1, 0.4, 0.6), _heads(2, 0.5, 0.7)
    soup = average_heads([a, b], ["s1", "s2"])
    assert [r["run"] for r in average_heads([a, b], ["run", "run"]).config.training["soup"]] == [
        "run",
        "run",
    ]  # two runs in folders of the same name both keep their record
    assert soup.config.thresholds == {"question": 0.45, "distrust": 0.65}
    for key, value in soup.state_dict().items():
        torch.testing.assert_close(value, (a.state_dict()[key] + b.state_dict()[key]) / 2)
    assert soup.config.training["soup"][1] == {
        "run": "s2",
        "training": {"finetune": {"seed": 2}},
        "metrics": {"dev_score": 0.7},
    }
    assert soup.config.metrics == {}


def test_heads_of_another_shape_cannot_be_averaged() -> None:
    with pytest.raises(ModelError, match="differ in hidden"):
        average_heads([_heads(1, 0.4, 0.6), _heads(2, 0.5, 0.7, hidden=32)], ["a", "b"])


def test_runs_that_read_shouted_text_differently_cannot_be_averaged() -> None:
    folding = _heads(2, 0.5, 0.7)
    folding.config.lowercase_shouted = True
    with pytest.raises(ModelError, match="differ in lowercase_shouted"):
        average_heads([_heads(1, 0.4, 0.6), folding], ["a", "b"])
    folding_too = _heads(3, 0.5, 0.7)
    folding_too.config.lowercase_shouted = True
    assert average_heads([folding, folding_too], ["b", "c"]).config.lowercase_shouted


def test_the_command_says_what_is_wrong_with_a_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main([str(tmp_path / "nope"), str(tmp_path / "nope2"), "--out", str(tmp_path / "out")])
    assert rc != 0
    assert "cannot read classifier heads" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_folder_without_dev_rows_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    rc = main(["a", "b", "--out", str(out), "--data", str(tmp_path)])
    assert rc != 0
    assert "holds no dev.jsonl" in capsys.readouterr().err
    assert not out.exists()
