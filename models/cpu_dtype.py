"""Which number format runs the encoder faster on this CPU: measured once, then remembered.

A CPU that announces native bf16 arithmetic is not always faster in bf16. On a 2-core AMD EPYC
with AVX512-BF16 and on an Intel Xeon with AMX, bf16 ran the classifier 1.6-2.1x faster than
fp32; on an Intel Xeon whose virtual machine exposes AVX512-BF16 but not AMX, it ran 0.65-0.78x
as fast (see the model card). The flags cannot tell these apart, so ``dtype="auto"`` on such a CPU
times one fixed batch through the encoder in both formats and keeps the faster (bf16 only when
it is clearly faster: fp32 is the reference the heads were validated in).

The choice is stored in ``cpu_dtype.json`` in the cache root, keyed by the CPU (model name and
flags), torch's version, the thread count and the encoder's shape, so a machine measures once
and every later start (and every process of a pipeline) agrees on the same format. A missing,
unreadable or corrupt file only means measuring again; a cache that cannot be written is not an
error; an encoder the probe cannot run keeps bf16, the choice the CPU's flags suggest.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

CACHE_FILE = "cpu_dtype.json"
BF16_MIN_SPEEDUP = 1.05
"""bf16 is chosen only when it runs the probe at least this much faster than fp32."""
PROBE_SHAPE = (32, 24)
"""Texts x tokens of the probe batch: a typical planned pass of chat lines on CPU."""
PROBE_REPEATS = 3

Probe = Callable[[Any], tuple[float, float]]
"""Seconds per pass of the probe batch in (fp32, bf16) for a model."""


def cpu_identity() -> str:
    """The CPU as this process sees it: model name and feature flags (a virtual machine may
    hide features of the same model), with the architecture."""
    name, flags = "", ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not name:
                    name = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = value.strip()
                if name and flags:
                    break
    except OSError:
        pass
    return f"{platform.machine()}|{name or platform.processor()}|{flags}"


def cache_key(model: Any, threads: int) -> str:
    import torch

    config = model.config
    layers = getattr(config, "num_hidden_layers", None)
    hidden = getattr(config, "hidden_size", None)
    shape = f"{layers}x{hidden}x{sum(p.numel() for p in model.parameters())}"
    raw = f"{cpu_identity()}\x00torch {torch.__version__}\x00threads {threads}\x00{shape}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def probe_seconds(model: Any) -> tuple[float, float]:
    """Best-of-``PROBE_REPEATS`` seconds for one pass of a fixed batch, fp32 then bf16 (on a
    bf16 copy, so ``model`` stays fp32)."""
    import copy

    import torch

    n, width = PROBE_SHAPE
    vocab = int(getattr(model.config, "vocab_size", None) or 1000)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(min(5, vocab - 1), vocab, (n, width), generator=gen)
    mask = torch.ones_like(ids)

    def best(m: Any) -> float:
        times = []
        with torch.inference_mode():
            m(input_ids=ids, attention_mask=mask)  # warm-up: oneDNN builds its kernels here
            for _ in range(PROBE_REPEATS):
                start = time.perf_counter()
                m(input_ids=ids, attention_mask=mask)
                times.append(time.perf_counter() - start)
        return min(times)

    fp32 = best(model.float().eval())
    bf16 = best(copy.deepcopy(model).to(torch.bfloat16).eval())
    return fp32, bf16


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs a probe on the next start


def choose_cpu_dtype(
    model: Any, cache_root: Path, threads: int, probe: Probe = probe_seconds
) -> torch.dtype:
    """bf16 or fp32 for ``model`` on this CPU: the remembered choice, else measured and stored."""
    import torch

    path = cache_root / CACHE_FILE
    key = cache_key(model, threads)
    entry = _read(path).get(key)
    if isinstance(entry, dict) and entry.get("dtype") in ("float32", "bfloat16"):
        return torch.bfloat16 if entry["dtype"] == "bfloat16" else torch.float32
    try:
        fp32, bf16 = probe(model)
    except (RuntimeError, TypeError, ValueError, AttributeError):
        return torch.bfloat16  # not measurable: keep what the CPU's flags suggest, store nothing
    chosen = "bfloat16" if bf16 * BF16_MIN_SPEEDUP <= fp32 else "float32"
    data = _read(path)
    data[key] = {
        "dtype": chosen,
        "fp32_ms": round(fp32 * 1000, 2),
        "bf16_ms": round(bf16 * 1000, 2),
        "cpu": cpu_identity().split("|")[1],
        "torch": torch.__version__,
        "threads": threads,
    }
    _write(path, data)
    return torch.bfloat16 if chosen == "bfloat16" else torch.float32
