"""Low-rank adapters (LoRA) for the encoder's linear layers: train on a GPU, merge for inference.

Training wraps chosen ``nn.Linear`` layers of a BERT encoder in :class:`LoRALinear`
(``y = W x + b + (alpha / r) * B A x``, ``B`` starting at zero). The adapter weights are saved as a
small safetensors file; at inference :func:`merge_adapter` adds ``(alpha / r) * B @ A`` into the
base weights, so the merged model runs exactly as fast as the original.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from torch import nn

from streamwatch.errors import ModelError

TARGET_PATTERN = re.compile(
    r"(?:^|\.)encoder\.layer\.\d+\.(?:attention\.self\.(?:query|key|value)|attention\.output\.dense"
    r"|intermediate\.dense|output\.dense)$"
)
"""Module names of a ``BertModel`` that get adapters (attention and feed-forward projections)."""


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update."""

    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0) -> None:
        super().__init__()
        if r < 1:
            raise ValueError("LoRA rank must be >= 1")
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.r = r
        self.scale = alpha / r
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.lora_A, a=5**0.5)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = self.dropout(x) @ self.lora_A.t().to(x.dtype) @ self.lora_B.t().to(x.dtype)
        out: torch.Tensor = self.base(x) + update * self.scale
        return out


def _targets(model: nn.Module) -> list[str]:
    return [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and TARGET_PATTERN.search(name)
    ]


SMALL_TRAINABLE = ("LayerNorm", "position_embeddings", "token_type_embeddings")
"""Besides the low-rank factors, these (small) parameters train and ship whole."""


def add_adapters(
    model: nn.Module, r: int, alpha: float, dropout: float = 0.0, train_small: bool = True
) -> list[str]:
    """Wrap every target linear layer of ``model`` in place; returns the wrapped names.

    Everything else is frozen, except (with ``train_small``) the layer norms and the position and
    token-type embeddings, which are small enough to ship whole; the word embeddings never train.
    """
    names = _targets(model)
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        base = getattr(parent, child)
        setattr(parent, child, LoRALinear(base, r, alpha, dropout))
    for pname, param in model.named_parameters():
        trainable = ".lora_" in pname or (train_small and any(s in pname for s in SMALL_TRAINABLE))
        param.requires_grad_(trainable)
    return names


FULL_PREFIX = "full."
"""Adapter keys with this prefix are whole small tensors (layer norms, position embeddings)
trained alongside the low-rank updates; merging copies them over the base weights."""


def adapter_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The adapter of a wrapped model: ``<layer>.lora_A`` / ``<layer>.lora_B`` for every
    :class:`LoRALinear`, plus ``full.<name>`` for any other trainable parameter."""
    state: dict[str, torch.Tensor] = {}
    for name, module in model.named_modules():
        if isinstance(module, LoRALinear):
            state[f"{name}.lora_A"] = module.lora_A.detach().cpu().clone().contiguous()
            state[f"{name}.lora_B"] = module.lora_B.detach().cpu().clone().contiguous()
    for name, param in model.named_parameters():
        if param.requires_grad and ".lora_" not in name and not name.startswith("lora_"):
            state[FULL_PREFIX + name] = param.detach().cpu().clone().contiguous()
    return state


def save_adapter(path: Path, state: dict[str, torch.Tensor], r: int, alpha: float) -> None:
    """Write adapter weights (low-rank factors fp16, ``full.`` tensors fp32) with their rank and
    alpha in the safetensors metadata."""
    from safetensors.torch import save_file

    half = {
        k: (v.float() if k.startswith(FULL_PREFIX) else v.to(torch.float16)).contiguous()
        for k, v in state.items()
    }
    save_file(
        half, str(path), metadata={"format": "pt", "lora": json.dumps({"r": r, "alpha": alpha})}
    )


def load_adapter(path: Path) -> tuple[dict[str, torch.Tensor], int, float]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get("lora", "{}"))
            state = {k: f.get_tensor(k).float() for k in f.keys()}  # noqa: SIM118 - safe_open API
    except (OSError, SafetensorError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read LoRA adapter {path}: {exc}") from exc
    try:
        return state, int(meta["r"]), float(meta["alpha"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"LoRA adapter {path} lacks its rank/alpha metadata") from exc


def merge_adapter(model: nn.Module, state: dict[str, torch.Tensor], r: int, alpha: float) -> int:
    """Add ``(alpha / r) * B @ A`` into the matching linear layers of a plain model and copy the
    ``full.`` tensors over theirs; returns how many tensors changed.

    Module names may carry a prefix the loaded model lacks (or the reverse), so layers are matched
    by the ``encoder.layer...`` suffix of their name.
    """
    scale = alpha / r
    by_suffix: dict[str, nn.Linear] = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            match = re.search(r"encoder\.layer\.\d+\..*$", name)
            if match:
                by_suffix[match.group(0)] = module
    merged = 0
    params = dict(model.named_parameters())
    for key, value in state.items():
        if not key.startswith(FULL_PREFIX):
            continue
        name = key[len(FULL_PREFIX) :]
        matches = [
            p
            for n, p in params.items()
            if n == name or n.endswith("." + name) or name.endswith("." + n)
        ]
        if len(matches) != 1 or matches[0].shape != value.shape:
            raise ModelError(f"adapter tensor {name!r} does not match the encoder")
        with torch.no_grad():
            matches[0].copy_(value.to(matches[0].dtype))
        merged += 1
    for key in state:
        if not key.endswith(".lora_A"):
            continue
        layer = key[: -len(".lora_A")]
        match = re.search(r"encoder\.layer\.\d+\..*$", layer)
        target = by_suffix.get(match.group(0)) if match else None
        b_key = f"{layer}.lora_B"
        if target is None or b_key not in state:
            raise ModelError(f"LoRA adapter layer {layer!r} does not match the encoder")
        delta = (state[b_key].float() @ state[key].float()) * scale
        if delta.shape != target.weight.shape:
            raise ModelError(f"LoRA adapter layer {layer!r} has the wrong shape")
        with torch.no_grad():
            target.weight += delta.to(target.weight.dtype).to(target.weight.device)
        merged += 1
    return merged
