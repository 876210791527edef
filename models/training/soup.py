"""Average fine-tuned runs that share a starting point into one model (a uniform model soup).

    python -m streamwatch.models.training.soup --out DIR RUN RUN [RUN ...] [--data DATA] [--install]

Runs continued from one model with different seeds (``finetune --init M --seed S``) end near
each other; their average keeps what they learned in common and evens out what one seed's noise
added (Wortsman et al. 2022, "Model soups"). One seed to the next moves a single (language,
head) score by several points; ``models/HISTORY.md`` has what a soup of two seeds measured.

The average is exact for the adapters: the mean of ``n`` low-rank updates ``B_i A_i`` is the
update ``[B_1 ... B_n] / n @ [A_1; ...; A_n]`` of rank ``n * r``, so the soup is one adapter of
rank ``n * r`` with alpha ``n * alpha`` (the same ``alpha / r`` scale). Merged into the weights
at load, it runs exactly as fast as each run. Layer norms, position embeddings and the heads are
averaged element-wise, and the question and distrust thresholds are the mean of the runs'. An
average of weights is not an average of outputs, so ``--data`` (a ``build_dataset`` folder)
tunes the two thresholds for the soup instead, on the same gold dev rows and row weights as
``finetune --seed SEED`` tunes a run's, and records that dev score in ``heads.json``. Nothing
else is tuned. ``--lowercase-shouted`` makes the soup read shouted text lower-cased (see
:attr:`~streamwatch.models.heads.HeadsConfig.lowercase_shouted`), as the shipped model does.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import torch

from streamwatch.errors import ModelError, run_command
from streamwatch.models.heads import MultiHead, load_heads, save_heads
from streamwatch.models.lora import load_adapter, save_adapter
from streamwatch.models.training.finetune import (
    ADAPTER_FILE,
    FinetuneArgs,
    dev_rows,
    install_shipped,
    load_adapter_into,
    load_trainable_encoder,
    resolve_init,
    score_on_dev,
)
from streamwatch.models.training.train_heads import read_dataset, row_weights, training_sources

Adapter = tuple[dict[str, torch.Tensor], int, float]
"""Adapter tensors, rank and alpha, as :func:`~streamwatch.models.lora.load_adapter` reads them."""

SAME_CONFIG = (
    "dim", "encoder", "hidden", "labels", "max_length", "prefix", "encoder_layers",
    "lowercase_shouted",
)  # fmt: skip
"""Heads settings every run of a soup must share."""


def average_adapters(adapters: Sequence[Adapter]) -> Adapter:
    """One adapter whose merged update is the mean of the runs' merged updates."""
    if len(adapters) < 2:
        raise ModelError("a soup needs at least two runs")
    first, r, alpha = adapters[0]
    for state, r_i, alpha_i in adapters[1:]:
        if (r_i, alpha_i) != (r, alpha):
            raise ModelError(f"adapters differ in rank or alpha: {r_i}/{alpha_i} vs {r}/{alpha}")
        if state.keys() != first.keys() or any(state[k].shape != first[k].shape for k in first):
            raise ModelError("adapters were not trained on the same layers")
    n = len(adapters)
    soup: dict[str, torch.Tensor] = {}
    for key in first:
        tensors = [state[key].float() for state, _, _ in adapters]
        if key.endswith(".lora_A"):
            soup[key] = torch.cat(tensors, dim=0)
        elif key.endswith(".lora_B"):
            soup[key] = torch.cat(tensors, dim=1) / n
        else:
            soup[key] = torch.stack(tensors).mean(dim=0)
    return soup, n * r, n * alpha


def average_heads(heads: Sequence[MultiHead], names: Sequence[str]) -> MultiHead:
    """Heads with the mean weights and thresholds of ``heads``; each run's name, training record
    and dev metrics are kept, in order, in the soup's ``heads.json``."""
    config = heads[0].config
    for other in heads[1:]:
        differ = [k for k in SAME_CONFIG if getattr(other.config, k) != getattr(config, k)]
        if differ:
            raise ModelError(f"runs differ in {', '.join(differ)}: they cannot be averaged")
    thresholds = {
        head: round(sum(h.config.thresholds[head] for h in heads) / len(heads), 4)
        for head in config.thresholds
    }
    soup_config = replace(
        config,
        thresholds=thresholds,
        training={
            "soup": [
                {"run": name, "training": h.config.training, "metrics": h.config.metrics}
                for name, h in zip(names, heads, strict=True)
            ]
        },
        metrics={},
    )
    soup_config.validate()
    states = [h.state_dict() for h in heads]
    model = MultiHead(soup_config)
    model.load_state_dict(
        {k: torch.stack([s[k].float() for s in states]).mean(0) for k in states[0]}
    )
    return model


def tune_on_dev(
    model_dir: Path,
    data: Path,
    seed: int = 13,
    threads: int | None = None,
    log: Callable[[str], None] = print,
) -> None:
    """Tune the binary thresholds of ``model_dir`` on the gold dev rows of ``data`` (the rows and
    row weights ``finetune --seed SEED`` scores on) and record that dev score in its heads.json."""
    import numpy as np

    args, heads, adapter = resolve_init(
        FinetuneArgs(data=data, out=model_dir, init=model_dir, seed=seed, threads=threads)
    )
    assert heads is not None and adapter is not None  # resolve_init refuses a model without
    skips: Counter[str] = Counter()
    # train rows too: finetune's dev sample is drawn from the row order of both splits
    labels = read_dataset(data, ("train", "dev"), skips)
    if skips:
        log(f"skipped {sum(skips.values())} bad rows: {dict(skips.most_common(5))}")
    labels = labels.from_sources(training_sources(args.train_sources, labels.sources))
    encoder, model, device = load_trainable_encoder(args)
    load_adapter_into(model, adapter)
    dev_idx = dev_rows(labels, args.dev_rows, args.seed)
    if len(dev_idx) == 0:
        raise ModelError(f"no dev rows in {data} to tune the thresholds on")
    texts = [labels.texts[int(i)] for i in dev_idx]
    dev_seqs = [np.asarray(ids, dtype=np.int64) for ids in encoder.tokenize(texts)]
    weights = row_weights(labels, args)
    entry, thresholds = score_on_dev(
        model, heads, labels, dev_idx, dev_seqs, encoder.pad_id, device, weights
    )
    heads.config.thresholds = {k: round(float(v), 4) for k, v in thresholds.items()}
    heads.config.metrics = {"dev_score": entry["dev"], "dev": entry["parts"], "dev_seed": seed}
    save_heads(heads, model_dir)


def soup(runs: Sequence[Path], out: Path, *, lowercase_shouted: bool = False) -> None:
    """Write the soup of the model directories ``runs`` into ``out`` (a model spec directory);
    with ``lowercase_shouted`` it reads shouted text lower-cased, whatever the runs did."""
    heads = [load_heads(run) for run in runs]
    missing = [str(run) for run, h in zip(runs, heads, strict=True) if h.config.adapter is None]
    if missing:
        raise ModelError(f"no LoRA adapter to average in {', '.join(missing)}")
    adapters = [
        load_adapter(run / str(h.config.adapter)) for run, h in zip(runs, heads, strict=True)
    ]
    state, r, alpha = average_adapters(adapters)
    model = average_heads(heads, [run.name for run in runs])
    model.config.adapter = ADAPTER_FILE
    model.config.lowercase_shouted = model.config.lowercase_shouted or lowercase_shouted
    out.mkdir(parents=True, exist_ok=True)
    save_adapter(out / ADAPTER_FILE, state, r, alpha)
    save_heads(model, out)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m streamwatch.models.training.soup",
        description="Average fine-tuned runs from one starting point into one model.",
    )
    p.add_argument("runs", nargs="+", type=Path, help="model directories written by finetune")
    p.add_argument("--out", type=Path, required=True, help="directory to write the soup into")
    p.add_argument(
        "--data", type=Path, help="build_dataset folder: tune the thresholds on its dev rows"
    )
    p.add_argument(
        "--lowercase-shouted",
        action="store_true",
        help="the soup reads shouted text lower-cased (set before --data tunes its thresholds)",
    )
    p.add_argument("--seed", type=int, default=13, help="seed of the dev sample (as finetune's)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument(
        "--install", action="store_true", help="copy the soup into the package's models/"
    )
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def body() -> int:
        if args.data is not None and not (args.data / "dev.jsonl").is_file():
            raise ModelError(f"{args.data} holds no dev.jsonl: name a build_dataset folder")
        soup(args.runs, args.out, lowercase_shouted=args.lowercase_shouted)
        print(f"wrote the soup of {len(args.runs)} runs to {args.out}")
        if args.data is not None:
            tune_on_dev(args.out, args.data, args.seed, args.threads)
            thresholds = load_heads(args.out).config.thresholds
            print(f"thresholds tuned on the dev rows of {args.data}: {thresholds}")
        if args.install:
            install_shipped(args.out)
        return 0

    return run_command(body)


if __name__ == "__main__":
    raise SystemExit(main())
