"""The CPU number format for ``dtype="auto"``: measured once per machine, remembered, robust to a
bad cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from streamwatch.models.cpu_dtype import (
    CACHE_FILE,
    cache_key,
    choose_cpu_dtype,
    cpu_identity,
    probe_seconds,
)
from streamwatch.models.encoder import Encoder, EncoderOptions, cpu_has_native_bf16
from tests.models_support import write_local_bert


@pytest.fixture
def local_bert_dir(tmp_path: Path) -> Path:
    return write_local_bert(tmp_path)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from transformers import BertModel

    folder = write_local_bert(tmp_path_factory.mktemp("bert"))
    return BertModel.from_pretrained(folder, add_pooling_layer=False).eval()


class Timings:
    """A probe with given (fp32, bf16) seconds that counts its calls."""

    def __init__(self, fp32: float, bf16: float) -> None:
        self.result = (fp32, bf16)
        self.calls = 0

    def __call__(self, model: Any) -> tuple[float, float]:
        self.calls += 1
        return self.result


def test_bf16_is_chosen_only_when_clearly_faster(tiny_model: Any, tmp_path: Path) -> None:
    assert choose_cpu_dtype(tiny_model, tmp_path / "a", 2, Timings(1.0, 0.5)) == torch.bfloat16
    assert choose_cpu_dtype(tiny_model, tmp_path / "b", 2, Timings(1.0, 0.99)) == torch.float32
    assert choose_cpu_dtype(tiny_model, tmp_path / "c", 2, Timings(0.6, 0.9)) == torch.float32


def test_the_choice_is_measured_once_and_remembered(tiny_model: Any, tmp_path: Path) -> None:
    probe = Timings(1.0, 0.4)
    assert choose_cpu_dtype(tiny_model, tmp_path, 2, probe) == torch.bfloat16
    # a later start reads the stored choice even if bf16 would now measure slower
    later = Timings(0.4, 1.0)
    assert choose_cpu_dtype(tiny_model, tmp_path, 2, later) == torch.bfloat16
    assert (probe.calls, later.calls) == (1, 0)
    entry = json.loads((tmp_path / CACHE_FILE).read_text())[cache_key(tiny_model, 2)]
    assert entry["dtype"] == "bfloat16"
    assert (entry["fp32_ms"], entry["bf16_ms"], entry["threads"]) == (1000.0, 400.0, 2)


def test_another_thread_count_is_measured_separately(tiny_model: Any, tmp_path: Path) -> None:
    assert choose_cpu_dtype(tiny_model, tmp_path, 2, Timings(1.0, 0.4)) == torch.bfloat16
    assert choose_cpu_dtype(tiny_model, tmp_path, 1, Timings(0.4, 1.0)) == torch.float32
    assert len(json.loads((tmp_path / CACHE_FILE).read_text())) == 2


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"\xff\xfe\x00", b"[1, 2]", b'{"%KEY%": {"dtype": "int3"}}', b""],
)
def test_a_corrupt_cache_means_measuring_again(
    tiny_model: Any, tmp_path: Path, content: bytes
) -> None:
    key = cache_key(tiny_model, 2)
    (tmp_path / CACHE_FILE).write_bytes(content.replace(b"%KEY%", key.encode()))
    probe = Timings(1.0, 0.5)
    assert choose_cpu_dtype(tiny_model, tmp_path, 2, probe) == torch.bfloat16
    assert probe.calls == 1
    assert json.loads((tmp_path / CACHE_FILE).read_text())[key]["dtype"] == "bfloat16"


def test_an_unwritable_cache_is_not_an_error(tiny_model: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    probe = Timings(1.0, 0.5)
    assert choose_cpu_dtype(tiny_model, blocker / "cache", 2, probe) == torch.bfloat16
    assert choose_cpu_dtype(tiny_model, blocker / "cache", 2, probe) == torch.bfloat16
    assert probe.calls == 2  # nothing could be remembered, so it measured again


def test_an_encoder_the_probe_cannot_run_keeps_bf16_and_stores_nothing(
    tiny_model: Any, tmp_path: Path
) -> None:
    def broken(model: Any) -> tuple[float, float]:
        raise RuntimeError("this architecture takes other inputs")

    assert choose_cpu_dtype(tiny_model, tmp_path, 2, broken) == torch.bfloat16
    assert not (tmp_path / CACHE_FILE).exists()


def test_the_real_probe_times_both_formats_and_leaves_the_model_fp32(tiny_model: Any) -> None:
    fp32, bf16 = probe_seconds(tiny_model)
    assert fp32 > 0 and bf16 > 0
    assert {p.dtype for p in tiny_model.parameters()} == {torch.float32}


def test_cpu_identity_names_the_architecture() -> None:
    import platform

    assert cpu_identity().startswith(platform.machine() + "|")


def test_encoder_auto_uses_the_measured_format_on_this_cpu(local_bert_dir: Path) -> None:
    cache = local_bert_dir.parent / "cache"
    enc = Encoder.load(EncoderOptions(spec=str(local_bert_dir), cache_root=cache))
    stored = cache / CACHE_FILE
    if cpu_has_native_bf16():
        entry = json.loads(stored.read_text())[cache_key(enc.model, torch.get_num_threads())]
        assert str(enc.dtype) == f"torch.{entry['dtype']}"
    else:  # nothing to choose between: fp32, and no measurement
        assert enc.dtype == torch.float32
        assert not stored.exists()
    assert enc.embed(["is this real leather?"]).shape == (1, enc.dim)


def test_an_explicit_dtype_is_never_measured(local_bert_dir: Path) -> None:
    cache = local_bert_dir.parent / "explicit"
    enc = Encoder.load(EncoderOptions(spec=str(local_bert_dir), cache_root=cache, dtype="float32"))
    assert enc.dtype == torch.float32
    assert not (cache / CACHE_FILE).exists()
