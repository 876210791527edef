"""Pipeline benchmark: replay the real YouTube live chat through the whole pipeline, headless.

    python bench/pipeline.py [--csv PATH] [--models baseline,default] [--paced-speed 30]

For each model it runs, in one process and one after the other:

* ``max``: every message of the file at maximum speed (source -> queue -> classify -> engine ->
  journal on disk), printing messages/s and the p50/p99 latency from a message's arrival to the
  moment its concern-queue update was published. At max speed the queue is full by design, so this
  latency is mostly queueing.
* ``paced``: the first minutes of the same chat replayed at ``--paced-speed`` times real time, a
  load the pipeline keeps up with, so the latency is what a host sees live.

``cores`` is the process's CPU time over the run's wall time: how many cores it kept busy. On two
cores the default model keeps about 1.85-1.9 busy at max speed; much less means its threads wait
on each other (see ``models/model_thread.py``).

Needs ``../shared/data/eval/youtube_live_chat/irl_hong_kong.csv`` (28,013 messages) or ``--csv``.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

from streamwatch.connectors.base import SourceSpec
from streamwatch.connectors.files import FileSource
from streamwatch.engine import ConcernEngine
from streamwatch.events import PipelineStats
from streamwatch.journal import Journal, JournalSink
from streamwatch.models.base import Classifier
from streamwatch.models.loader import load_classifier
from streamwatch.pipeline import Pipeline, PipelineConfig

DEFAULT_CSV = (
    Path(__file__).resolve().parents[2] / "shared/data/eval/youtube_live_chat/irl_hong_kong.csv"
)
MAPPING = "ts=published_at,text=message,id=row,stream=video_id"


async def _run(
    csv: Path, classifier: Classifier, speed: str, duration: float | None, data_dir: Path
) -> tuple[PipelineStats, float, float]:
    spec = SourceSpec("file", str(csv), f"file:{csv}", {"speed": speed, "map": MAPPING})
    journal = Journal.in_dir(data_dir)
    session = journal.start_session("bench", [str(csv)], classifier.name)
    pipeline = Pipeline(
        [FileSource(spec)],
        classifier,
        ConcernEngine(),
        [JournalSink(journal, session)],
        PipelineConfig(duration=duration),
    )
    started = time.perf_counter()
    cpu_started = time.process_time()
    stats = await pipeline.run()
    elapsed = time.perf_counter() - started
    cores_busy = (time.process_time() - cpu_started) / max(elapsed, 1e-9)
    journal.close()
    return stats, elapsed, cores_busy


def _clear_cache(classifier: Classifier) -> None:
    clear = getattr(classifier, "clear_cache", None)
    if callable(clear):
        clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--models", default="baseline,default")
    parser.add_argument("--paced-speed", default="30")
    parser.add_argument("--paced-seconds", type=float, default=30.0)
    args = parser.parse_args()
    if not args.csv.is_file():
        print(f"skipped: {args.csv} not found (the shared data set is not here)")
        return 0
    rows = []
    for name in args.models.split(","):
        t0 = time.perf_counter()
        classifier = load_classifier(name)
        classifier.predict(["warm up", "预热"])  # load lazily built parts before timing
        load_s = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            _clear_cache(classifier)
            stats, elapsed, busy = asyncio.run(_run(args.csv, classifier, "max", None, Path(tmp)))
            rows.append((name, "max", stats, elapsed, busy, load_s))
            _clear_cache(classifier)  # the paced run must not reuse the max run's results
            stats, elapsed, busy = asyncio.run(
                _run(args.csv, classifier, args.paced_speed, args.paced_seconds, Path(tmp))
            )
            rows.append((name, f"x{args.paced_speed}", stats, elapsed, busy, load_s))
    print(f"pipeline benchmark on {args.csv.name}; journal on disk; {sys.platform}")
    header = f"{'model':<10} {'speed':<6} {'messages':>8} {'seconds':>8} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'lost':>5} {'cores':>5} {'load s':>7}"
    print(header)
    print("-" * len(header))
    for name, speed, stats, elapsed, busy, load_s in rows:
        lost = stats.received - stats.classified - stats.unclassified
        print(
            f"{name:<10} {speed:<6} {stats.received:>8} {elapsed:>8.1f} {stats.received / elapsed:>8.0f}"
            f" {stats.latency_p50_ms:>8.1f} {stats.latency_p99_ms:>8.1f} {lost:>5} {busy:>5.2f}"
            f" {load_s:>7.1f}"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the benchmark process: {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
