"""The encoder: hub-id/local-path loading, pooling, batching, special tokens, compact loading, LoRA."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from streamwatch.errors import ModelError
from streamwatch.models.encoder import (
    Encoder,
    EncoderOptions,
    harden_tokenizer,
    prepare_text,
    special_guard_regex,
)
from streamwatch.models.lora import (
    adapter_state,
    add_adapters,
    load_adapter,
    merge_adapter,
    save_adapter,
)
from streamwatch.text import is_shouted, unshout
from tests.models_support import HIDDEN, tiny_converted, write_local_bert


@pytest.fixture(scope="module")
def local_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_local_bert(tmp_path_factory.mktemp("bert"))


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_converted(tmp_path_factory.mktemp("conv"))


def test_local_path_encoder_embeds_normalised_vectors(local_bert: Path) -> None:
    enc = Encoder.load(EncoderOptions(spec=str(local_bert)))
    x = enc.embed(["hello world", "price pls", "fake scam"])
    assert x.shape == (3, 32) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(x[0], x[1])


def test_embeddings_do_not_depend_on_batch_company(local_bert: Path) -> None:
    enc = Encoder.load(EncoderOptions(spec=str(local_bert), batch_size=2))
    texts = ["hello", "hello world price pls is this real leather", "ok", "love it great"]
    together = enc.embed(texts)
    alone = np.stack([enc.embed([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_batches_are_sorted_by_length_and_capped() -> None:
    class Fake(Encoder):
        def __init__(self) -> None:
            self.options = EncoderOptions(batch_size=3, batch_tokens=64)
            self.batch_size, self.batch_tokens, self.pass_overhead = 3, 64, 32

    lengths = [5, 60, 2, 7, 3, 50, 4]
    groups = Fake().batches(lengths)
    assert sorted(i for g in groups for i in g) == list(range(7))
    for g in groups:
        assert len(g) <= 3 and (len(g) == 1 or max(lengths[i] for i in g) * len(g) <= 64)
    assert sorted(groups[0]) == [2, 4, 6]  # the three shortest together


def test_pass_overhead_defaults_by_device_and_is_checked(local_bert: Path) -> None:
    assert Encoder.load(EncoderOptions(spec=str(local_bert))).pass_overhead == 32
    assert Encoder.load(EncoderOptions(spec=str(local_bert), pass_overhead=0)).pass_overhead == 0
    with pytest.raises(ModelError, match="pass_overhead"):
        EncoderOptions(pass_overhead=-1)


def test_prefix_and_truncation(local_bert: Path) -> None:
    enc = Encoder.load(EncoderOptions(spec=str(local_bert), max_length=8))
    ids = enc.tokenize(["hello " * 50])[0]
    assert len(ids) == 8
    assert enc.tokenizer.convert_ids_to_tokens(ids[:3]) == ["<s>", "▁query", ":"]
    assert ids[-1] == enc.tokenizer.eos_token_id


def test_prepare_text_collapses_space_and_caps_huge_messages() -> None:
    assert prepare_text("  hello \n\t world  ", 100) == "hello world"
    huge = "a" * 1_000_000
    assert len(prepare_text(huge, 1024)) == 1024


@pytest.mark.parametrize(
    ("raw", "seen"),
    [
        ("\x1b[31mscam\x1b[0m", "scam"),  # colour codes
        ("\x9b1mfake\x9b0m", "fake"),  # 8-bit CSI
        ("\x1b]0;title\x07link pls", "link pls"),  # OSC window title
        ("\x1b]8;;https://x.example\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink
        ("price\x07\x00pls\u200b\ufeff", "price pls"),  # other controls become spaces
        ("\x1b]0;scam is what this is", "0;scam is what this is"),  # unterminated OSC hides nothing
        ("\x1b", ""),
    ],
)
def test_prepare_text_drops_terminal_escapes_and_blanks_controls(raw: str, seen: str) -> None:
    assert prepare_text(raw, 100) == seen


@pytest.mark.parametrize("literal", ["<s>", "</s>", "<pad>", "<mask>"])
def test_encoder_never_reads_typed_specials(converted: Path, literal: str) -> None:
    enc = Encoder.load(EncoderOptions(spec=str(converted)))
    ids = enc.tokenize([f"{literal}hello {literal} world {literal}"])[0]
    specials = {
        enc.tokenizer.bos_token_id,
        enc.tokenizer.eos_token_id,
        enc.tokenizer.pad_token_id,
        enc.tokenizer.mask_token_id,
    }
    assert ids[0] == enc.tokenizer.bos_token_id and ids[-1] == enc.tokenizer.eos_token_id
    assert not specials & set(ids[1:-1])


def test_hardening_a_plain_unigram_tokenizer() -> None:
    """A hub-style XLM-R tokenizer whose vocabulary matches '<s>' as a piece gets guarded."""
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = [
        ("<s>", 0.0),
        ("<pad>", 0.0),
        ("</s>", 0.0),
        ("<unk>", 0.0),
        ("▁", -2.0),
        ("<", -3.0),
        ("s", -3.0),
        (">", -3.0),
        ("▁hi", -2.0),
    ]
    raw = Tokenizer(models.Unigram(vocab, unk_id=3))
    raw.pre_tokenizer = pre_tokenizers.Metaspace()
    raw.add_special_tokens([AddedToken(t, special=True) for t in ("<s>", "<pad>", "</s>", "<unk>")])
    tok = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=raw,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    before = tok("hi <s>", add_special_tokens=False)["input_ids"]
    assert 0 in before  # unguarded: the typed literal becomes the control token
    harden_tokenizer(tok)
    after = tok("hi <s>", add_special_tokens=False)["input_ids"]
    assert 0 not in after and tok.convert_ids_to_tokens(after)[-3:] == ["<", "s", ">"]


def test_special_guard_regex() -> None:
    import re

    pattern = special_guard_regex(["<s>", "</s>", "[CLS]", "x"])
    assert pattern is not None
    assert [m.start() for m in re.finditer(pattern, "a<s>b</s>[CLS] <t>")] == [1, 5, 9]
    assert special_guard_regex(["x"]) is None


@pytest.mark.parametrize(
    ("text", "shouted"),
    [
        ("IS THIS REAL LEATHER?? 😡", True),
        ("РАЗВОД", True),
        ("SCAM", True),
        ("真的吗 FAKE", True),
        ("OK", False),  # too few letters to be shouting
        ("GG!!", False),
        ("真的吗 AAA", False),
        ("iPhone PRO MAX", False),
        ("scam", False),
        ("尺码偏大吗", False),
        ("", False),
    ],
)
def test_shouted_text_is_capitals_only_with_at_least_four_letters(text: str, shouted: bool) -> None:
    assert is_shouted(text) is shouted
    assert unshout(text) == (text.lower() if shouted else text)


def test_shouted_text_is_read_lower_cased_only_when_asked(converted: Path) -> None:
    plain = Encoder.load(EncoderOptions(spec=str(converted)))
    folding = Encoder.load(EncoderOptions(spec=str(converted), lowercase_shouted=True))
    shout, typed = "IS THIS REAL LEATHER", "is this real leather"
    assert plain.tokenize([shout]) != plain.tokenize([typed])
    assert folding.tokenize([shout, "Is this REAL"]) == plain.tokenize([typed, "Is this REAL"])
    assert folding.tokenize([shout], lowercase_shouted=False) == plain.tokenize([shout])
    assert np.array_equal(folding.embed([shout]), plain.embed([typed]))
    assert folding.fingerprint != plain.fingerprint  # on-disk embedding caches stay apart


def test_compact_loading_is_exact(converted: Path) -> None:
    texts = ["hello world", "price pls?", "中文 ok", "<s>"]
    # one number format for both: on a bf16 CPU ``auto`` measures each load's own choice
    full = Encoder.load(EncoderOptions(spec=str(converted), compact=False, dtype="float32"))
    compact = Encoder.load(EncoderOptions(spec=str(converted), dtype="float32"))
    assert type(compact.model.embeddings.word_embeddings).__name__ == "_Q4Embedding"
    np.testing.assert_array_equal(full.embed(texts), compact.embed(texts))


def test_layer_truncation(converted: Path) -> None:
    one = Encoder.load(EncoderOptions(spec=str(converted), layers=1))
    assert len(one.model.encoder.layer) == 1
    full = Encoder.load(EncoderOptions(spec=str(converted)))
    assert not np.allclose(one.embed(["hello"]), full.embed(["hello"]))
    assert one.fingerprint != full.fingerprint
    with pytest.raises(ModelError):
        Encoder.load(EncoderOptions(spec=str(converted), layers=5))


def test_lora_adapter_merge_reproduces_the_trained_model(converted: Path, tmp_path: Path) -> None:
    from transformers import AutoModel

    base = AutoModel.from_pretrained(str(converted), add_pooling_layer=False).eval()
    wrapped = copy.deepcopy(base)
    add_adapters(wrapped, r=4, alpha=8.0)
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in wrapped.named_parameters():
            if p.requires_grad and "word_embeddings" not in name:
                p.add_(0.05 * torch.randn_like(p))
    wrapped.eval()
    ids = torch.tensor([[0, 20, 21, 2]])
    expected = wrapped(input_ids=ids).last_hidden_state
    save_adapter(tmp_path / "a.safetensors", adapter_state(wrapped), 4, 8.0)
    state, r, alpha = load_adapter(tmp_path / "a.safetensors")
    assert merge_adapter(base, state, r, alpha) > 0
    torch.testing.assert_close(base(input_ids=ids).last_hidden_state, expected, atol=5e-3, rtol=0)
    enc = Encoder.load(EncoderOptions(spec=str(converted), adapter=tmp_path / "a.safetensors"))
    plain = Encoder.load(EncoderOptions(spec=str(converted)))
    assert enc.fingerprint != plain.fingerprint


def test_adapter_for_another_model_is_refused(converted: Path, tmp_path: Path) -> None:
    bad = {
        "encoder.layer.0.attention.self.query.lora_A": torch.zeros(2, HIDDEN + 1),
        "encoder.layer.0.attention.self.query.lora_B": torch.zeros(HIDDEN, 2),
    }
    save_adapter(tmp_path / "bad.safetensors", bad, 2, 4.0)
    with pytest.raises(ModelError):
        Encoder.load(EncoderOptions(spec=str(converted), adapter=tmp_path / "bad.safetensors"))


def test_missing_encoder_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        Encoder.load(EncoderOptions(spec=str(tmp_path / "nowhere")))


def test_options_are_validated() -> None:
    with pytest.raises(ModelError):
        EncoderOptions(max_length=2)
    with pytest.raises(ModelError):
        EncoderOptions(threads=0)
    with pytest.raises(ModelError):
        EncoderOptions(dtype="int3")
