"""Why the classifier has a thread of its own: three ways of calling it, side by side in one run.

    python bench/model_thread.py [--limit 4000] [--rounds 2] [--csv PATH]

Each variant runs in a fresh process (so OpenMP teams cannot leak from one variant into the
next), loads the default classifier and classifies the first ``--limit`` messages of the real
YouTube live-chat replay in calls of 256, fresh cache; the variants alternate for ``--rounds``
rounds so that drift in the machine's speed falls on all of them:

* ``main``: loaded and run on the main thread (the ``classify`` command and ``evaluate``);
* ``split``: loaded on the main thread and run from a worker thread, both straight on the
  encoder, bypassing the model thread: what the pipeline did before
  ``models/model_thread.py``;
* ``shipped``: loaded on the main thread and run from a worker thread through the public API,
  as the pipeline does now: both on the model thread.

Prints ms per message, the cores kept busy (CPU time over wall time) and each variant's speed
relative to ``main`` in the same round. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from classifier import find_csv, read_messages, run_phase

VARIANTS = ("main", "split", "shipped")
BATCH = 256


def _in_worker_thread(work: Callable[[], None]) -> None:
    worker = threading.Thread(target=work, name="caller")
    worker.start()
    worker.join()


def phase(variant: str, messages: list[str], out: Any) -> None:
    """One variant in this (spawned) process; puts its timings on ``out``."""
    from streamwatch.models.transformer_classifier import TransformerClassifier

    if variant == "split":  # the undecorated build and predict: no model thread involved
        clf = TransformerClassifier.load.__wrapped__(TransformerClassifier, None)
        predict = functools.partial(TransformerClassifier.predict.__wrapped__, clf)
    else:
        clf = TransformerClassifier.load(None)
        predict = clf.predict
    predict(["warm up", "预热"])
    clf.clear_cache()

    def work() -> None:
        for i in range(0, len(messages), BATCH):
            predict(messages[i : i + BATCH])

    cpu = time.process_time()
    started = time.perf_counter()
    if variant == "main":
        work()
    else:
        _in_worker_thread(work)
    wall = time.perf_counter() - started
    out.put({"wall": wall, "cores": (time.process_time() - cpu) / wall, "n": len(messages)})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--csv", default=None)
    p.add_argument("--limit", type=int, default=4000)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args(argv)
    path = find_csv(args.csv)
    if path is None or not path.is_file():
        print("skipped: the YouTube live-chat replay is not available; pass --csv", file=sys.stderr)
        return 0
    messages = read_messages(path, args.limit)
    print(f"{len(messages)} real messages from {path.name}, calls of {BATCH}, fresh cache")
    print(f"{'round':>5} {'variant':<8} {'ms/msg':>7} {'msg/s':>7} {'cores':>6} {'vs main':>8}")
    ratios: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for r in range(1, args.rounds + 1):
        results = {v: run_phase(phase, v, messages) for v in VARIANTS}
        for v in VARIANTS:
            res = results[v]
            ratio = results["main"]["wall"] / res["wall"]
            ratios[v].append(ratio)
            print(
                f"{r:>5} {v:<8} {1000 * res['wall'] / res['n']:>7.2f} {res['n'] / res['wall']:>7.0f}"
                f" {res['cores']:>6.2f} {ratio:>7.2f}x"
            )
    for v in VARIANTS[1:]:
        print(f"{v}: median speed {statistics.median(ratios[v]):.2f}x main's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
