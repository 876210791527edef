"""Build the classifier's training set from the real public datasets.

    python -m streamwatch.models.training.build_dataset --out DIR [--data-root PATH]

Writes ``train.jsonl``, ``dev.jsonl``, ``test.jsonl`` (one :class:`LabelledText` per line),
``stats.json`` (counts per source, language, label and split) and ``spotcheck.md`` (random
weak-labelled rows per weak label kind, for a person to verify). The output is deterministic:
splits come from the datasets or from a salted hash, sampling uses a fixed seed, rows are
sorted by a content hash.

Steps: read every dataset (a missing one is skipped with a message), add weak labels from
:mod:`~streamwatch.models.training.lexicons` (:func:`add_weak_labels`), add the hand-written
set when it exists, merge duplicate texts and make the splits disjoint (a text in test is
dropped from dev and train, a text in dev from train), then cap each source and language per
split so that no single big set dominates.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import random
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from streamwatch.errors import InputFormatError, StreamwatchError, error_line
from streamwatch.events import Topic
from streamwatch.models.training.lexicons import WEAK_TOPICS, Cue, signals
from streamwatch.models.training.sources import (
    LABEL_FIELDS,
    SPLITS,
    Domain,
    LabelledText,
    SkipCounter,
    SourceMissing,
    SourceSpec,
    Split,
    clean_text,
    iter_sources,
    read_source,
    resolve_data_root,
)

SEED = 20240611
TRAIN_CAP = 8000
EVAL_CAP = 2000
SPOTCHECK_N = 30
QUESTION_MAX_CHARS = 120
"""A weak ``is_question=True`` needs a short text that ends with a question mark."""
TOPIC_MAX_CHARS = 100
"""A weak topic from cues only on short reviews: long ones touch many topics at once."""
HANDWRITTEN_MODULE = "streamwatch.models.training.handwritten_data"
HANDWRITTEN_SOURCE = "handwritten"
HANDWRITTEN_DIR = Path(__file__).resolve().with_name("handwritten")
STREAM_CHAT_SOURCE = "stream_chat"
STREAM_CHAT_DIR = Path(__file__).resolve().with_name("stream_chat")
"""Hand-written general live-stream chat (gaming, IRL), all rows train; see its README.md."""
HANDWRITTEN_SETS: tuple[tuple[str, Path], ...] = (
    (HANDWRITTEN_SOURCE, HANDWRITTEN_DIR),
    (STREAM_CHAT_SOURCE, STREAM_CHAT_DIR),
)

TRAIN_FILE = "train.jsonl"
DEV_FILE = "dev.jsonl"
TEST_FILE = "test.jsonl"
STATS_FILE = "stats.json"
SPOTCHECK_FILE = "spotcheck.md"
SPLIT_FILES: Mapping[Split, str] = {"train": TRAIN_FILE, "dev": DEV_FILE, "test": TEST_FILE}


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """Validated options of one build."""

    out: Path
    data_root: Path
    train_cap: int = TRAIN_CAP
    eval_cap: int = EVAL_CAP
    seed: int = SEED
    spotcheck_n: int = SPOTCHECK_N
    sources: tuple[str, ...] | None = None
    handwritten: bool = True

    def __post_init__(self) -> None:
        if self.train_cap < 1 or self.eval_cap < 1:
            raise ValueError("caps must be positive")
        if self.spotcheck_n < 0:
            raise ValueError("spotcheck_n must not be negative")


@dataclass(slots=True)
class BuildReport:
    """What a build did: rows per split plus everything stats.json records."""

    rows: dict[Split, list[LabelledText]]
    stats: dict[str, Any]


# --------------------------------------------------------------------------- weak labels


def add_weak_labels(record: LabelledText, domain: Domain, weak_topics: bool = True) -> LabelledText:
    """Add lexicon labels where the dataset gave none. Rules (precision over recall):

    * distrust — commerce: an unnegated cue gives True (and the cue's topic, if any) unless
      the row's sentiment is positive (every distrust message is negative); no cue at all
      gives False; a negated / hedged cue gives nothing. Social posts and
      questions: no cue gives False, any cue gives nothing (a "scam" tweet is not about a
      seller).
    * topic — commerce: exactly one topic cue (among :data:`WEAK_TOPICS`) in a text of at
      most :data:`TOPIC_MAX_CHARS` characters without a negated distrust cue gives that topic.
      Social posts and questions: no topic or distrust cue at all gives ``other``.
    * is_question — no question mark, interrogative or request word gives False; on social
      posts a short text ending in a question mark gives True.
    """
    sig = signals(record.text, record.lang)
    labels: dict[str, Any] = {}
    commerce = domain == "commerce"
    if record.distrust is None:
        if sig.distrust.cue is Cue.NONE:
            labels["distrust"] = False
        elif sig.distrust.cue is Cue.FOUND and commerce and record.sentiment != "pos":
            labels["distrust"] = True
            if sig.distrust.topic is not None and record.topic is None and weak_topics:
                labels["topic"] = sig.distrust.topic.value
    if record.topic is None and "topic" not in labels and weak_topics:
        if commerce:
            if (
                sig.distrust.cue is not Cue.AMBIGUOUS
                and len(sig.topics) == 1
                and next(iter(sig.topics)) in WEAK_TOPICS
                and len(record.text) <= TOPIC_MAX_CHARS
            ):
                labels["topic"] = next(iter(sig.topics)).value
        elif not sig.topics and sig.distrust.cue is Cue.NONE:
            labels["topic"] = Topic.OTHER.value
    if record.is_question is None:
        if not sig.question_cue:
            labels["is_question"] = False
        elif (
            domain == "social"
            and sig.ends_with_question_mark
            and len(record.text) <= QUESTION_MAX_CHARS
        ):
            labels["is_question"] = True
    return record.with_weak(**labels)


# --------------------------------------------------------------------------- hand-written


def load_handwritten(
    skips: SkipCounter, folder: Path = HANDWRITTEN_DIR, source: str = HANDWRITTEN_SOURCE
) -> list[LabelledText] | None:
    """A hand-written set, or None when it does not exist (yet): no loader module or no
    ``*.jsonl`` file in ``folder``. A malformed file raises its loader's error."""
    if not any(folder.glob("*.jsonl")):
        return None
    try:
        module = importlib.import_module(HANDWRITTEN_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name is not None and HANDWRITTEN_MODULE.startswith(exc.name):
            return None
        raise
    loader = getattr(module, "load_handwritten", None)
    if loader is None:
        raise InputFormatError(f"{HANDWRITTEN_MODULE} has no load_handwritten()")
    rows: list[LabelledText] = []
    for item in loader(data_dir=folder):
        record = _coerce_handwritten(item, skips, source)
        if record is not None:
            rows.append(record)
    return rows


def _coerce_handwritten(
    item: object, skips: SkipCounter, source: str = HANDWRITTEN_SOURCE
) -> LabelledText | None:
    """Accept a LabelledText, a mapping or any object with our field names."""
    if isinstance(item, LabelledText):
        record = item
    else:
        get = item.get if isinstance(item, Mapping) else lambda k, d=None: getattr(item, k, d)
        try:
            data = {k: get(k) for k in ("text", "lang", "split", *LABEL_FIELDS)}
            data["weak_fields"] = list(get("weak_fields") or ())
            data["weak"] = bool(get("weak") or False)
            data["source"] = get("source") or source
            data["lang"] = data["lang"] or "und"
            data["split"] = data["split"] or "train"
            record = LabelledText.from_json(data)
        except (KeyError, TypeError, ValueError):
            skips[f"{source}: malformed row"] += 1
            return None
    text = clean_text(record.text)
    if not text:
        skips[f"{source}: empty text"] += 1
        return None
    return replace(record, text=text)


# --------------------------------------------------------------------------- merge, split, cap


def text_key(text: str) -> str:
    """Duplicate key: NFKC, case-folded, whitespace collapsed (as the hand-written set's
    ``normalise_text``, so its held-out test texts are dropped from every other split)."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def row_id(record: LabelledText) -> str:
    return hashlib.sha1(f"{record.source}\x00{record.text}".encode()).hexdigest()[:16]


def merge_duplicates(rows: Sequence[LabelledText]) -> LabelledText:
    """Merge rows with the same text in one split: gold labels beat weak ones, labels that
    disagree at the same strength are dropped. The first row (sorted) gives source and lang."""
    ordered = sorted(rows, key=lambda r: (r.source, r.lang, r.text))
    first = ordered[0]
    merged: dict[str, Any] = {}
    weak_fields: list[str] = []
    for name in LABEL_FIELDS:
        values = [(getattr(r, name), name in r.weak_fields) for r in ordered]
        gold = {v for v, is_weak in values if v is not None and not is_weak}
        weak = {v for v, is_weak in values if v is not None and is_weak}
        chosen = gold if gold else weak
        value = next(iter(chosen)) if len(chosen) == 1 else None
        merged[name] = value
        if value is not None and not gold:
            weak_fields.append(name)
    return replace(first, weak=bool(weak_fields), weak_fields=tuple(weak_fields), **merged)


def dedupe_and_separate(
    rows: Iterable[LabelledText], removed: Counter[str]
) -> dict[Split, list[LabelledText]]:
    """One row per text per split, and no text in two splits (test > dev > train)."""
    groups: dict[tuple[Split, str], list[LabelledText]] = defaultdict(list)
    for record in rows:
        groups[(record.split, text_key(record.text))].append(record)
    seen: set[str] = set()
    out: dict[Split, list[LabelledText]] = {s: [] for s in SPLITS}
    for split in ("test", "dev", "train"):
        keys = sorted(k for s, k in groups if s == split)
        for key in keys:
            group = groups[(split, key)]
            if key in seen:
                removed[f"{split}: text already in a held-out split"] += len(group)
                continue
            seen.add(key)
            if len(group) > 1:
                removed[f"{split}: duplicate text merged"] += len(group) - 1
            merged = merge_duplicates(group) if len(group) > 1 else group[0]
            if merged.has_label():
                out[split].append(merged)
            else:
                removed[f"{split}: no label left after merging"] += 1
    return out


def _is_rare(record: LabelledText) -> bool:
    """Rows kept first when a source is capped: the few positives of rare labels."""
    return record.distrust is True or (
        record.is_question is True and record.source != "xquad_questions"
    )


def cap_rows(
    rows: Sequence[LabelledText], cap: int, seed: int, dropped: Counter[str], split: Split
) -> list[LabelledText]:
    """At most ``cap`` rows per (source, lang): rare-label rows first (up to half the cap),
    then the rest in seeded random order. The hand-written set is never capped."""
    by_group: dict[tuple[str, str], list[LabelledText]] = defaultdict(list)
    for record in rows:
        by_group[(record.source, record.lang)].append(record)
    kept: list[LabelledText] = []
    for (source, lang), group in sorted(by_group.items()):
        if source in (HANDWRITTEN_SOURCE, STREAM_CHAT_SOURCE) or len(group) <= cap:
            kept.extend(group)
            continue
        rng = random.Random(f"{seed}:{split}:{source}:{lang}")
        ordered = sorted(group, key=row_id)
        rng.shuffle(ordered)
        rare = [r for r in ordered if _is_rare(r)][: cap // 2]
        rare_ids = {id(r) for r in rare}
        rest = [r for r in ordered if id(r) not in rare_ids][: cap - len(rare)]
        kept.extend(rare + rest)
        dropped[f"{split}: {source}/{lang} capped at {cap}"] += len(group) - cap
    return kept


# --------------------------------------------------------------------------- stats, spotcheck


def _label_name(value: object) -> str:
    return "none" if value is None else str(value).lower()


def compute_stats(rows: Mapping[Split, Sequence[LabelledText]]) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for split, records in rows.items():
        by_source: Counter[str] = Counter(r.source for r in records)
        by_lang: Counter[str] = Counter(r.lang for r in records)
        labels: dict[str, dict[str, int]] = {}
        per_lang: dict[str, dict[str, dict[str, int]]] = {}
        for name in LABEL_FIELDS:
            gold: Counter[str] = Counter()
            weak: Counter[str] = Counter()
            for r in records:
                value = getattr(r, name)
                if value is None:
                    continue
                (weak if name in r.weak_fields else gold)[_label_name(value)] += 1
                lang_counts = per_lang.setdefault(r.lang, {}).setdefault(name, {})
                key = _label_name(value)
                lang_counts[key] = lang_counts.get(key, 0) + 1
            labels[name] = {
                **{f"{k}": v for k, v in sorted((gold + weak).items())},
                **{f"{k} (weak)": v for k, v in sorted(weak.items())},
            }
        stats[split] = {
            "rows": len(records),
            "weak_rows": sum(r.weak for r in records),
            "by_source": dict(sorted(by_source.items())),
            "by_lang": dict(sorted(by_lang.items())),
            "labels": labels,
            "labels_by_lang": {k: per_lang[k] for k in sorted(per_lang)},
        }
    return stats


SPOTCHECK_KINDS: tuple[tuple[str, str, Any], ...] = (
    ("distrust = true", "distrust", True),
    ("distrust = false", "distrust", False),
    ("distrust = false on a negative review", "distrust", "false-neg-review"),
    ("topic (not other)", "topic", "not-other"),
    ("topic = other", "topic", Topic.OTHER.value),
    ("is_question = true", "is_question", True),
    ("is_question = false", "is_question", False),
)


def _spot_match(record: LabelledText, name: str, value: Any) -> bool:
    if name not in record.weak_fields:
        return False
    actual = getattr(record, name)
    if value == "not-other":
        return actual is not None and actual != Topic.OTHER.value
    if value == "false-neg-review":
        return actual is False and record.sentiment == "neg" and record.source in _REVIEW_SOURCES
    return bool(actual == value)


_REVIEW_SOURCES = frozenset({"zh_online_shopping", "zh_waimai", "zh_jd", "vi_uit_visfd"})


def render_spotcheck(rows: Mapping[Split, Sequence[LabelledText]], n: int, seed: int) -> str:
    """Markdown with ``n`` random weak-labelled rows per kind (all splits pooled)."""
    pool = sorted((r for records in rows.values() for r in records), key=row_id)
    lines = [
        "# Spot-check of weak labels",
        "",
        f"{n} random rows per weak label kind (seed {seed}, all splits). Mark each row",
        "`ok` or `wrong`; the counts go into DATA.md.",
        "",
    ]
    for title, name, value in SPOTCHECK_KINDS:
        candidates = [r for r in pool if _spot_match(r, name, value)]
        sample = random.Random(f"{seed}:{title}").sample(candidates, min(n, len(candidates)))
        lines += [f"## {title} ({len(candidates)} rows carry it)", ""]
        for i, r in enumerate(sample, 1):
            label = getattr(r, name)
            text = r.text if len(r.text) <= 300 else r.text[:300] + "…"
            text = text.replace("`", "'")
            lines.append(f"{i}. [ ] `{name}={label}` {r.source}/{r.lang} ({r.split}): {text}")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- build


def collect(options: BuildOptions, skips: SkipCounter, log: list[str]) -> list[LabelledText]:
    """Read every dataset and the hand-written set, with weak labels added."""
    rows: list[LabelledText] = []
    for spec in iter_sources(options.sources):
        try:
            records = read_source(spec, options.data_root, skips)
        except SourceMissing as exc:
            log.append(f"skipping {spec.name}: {exc}")
            continue
        rows.extend(_weaken(records, spec))
        log.append(f"read {spec.name}: {len(records)} rows")
    if options.handwritten:
        for source, folder in HANDWRITTEN_SETS:
            handwritten = load_handwritten(skips, folder, source)
            if handwritten is None:
                log.append(f"skipping hand-written set {source}: no data in {folder}")
            else:
                rows.extend(handwritten)
                log.append(f"read hand-written set {source}: {len(handwritten)} rows")
    return rows


def _weaken(records: Iterable[LabelledText], spec: SourceSpec) -> Iterable[LabelledText]:
    for record in records:
        yield add_weak_labels(record, spec.domain, spec.weak_topics)


def build(options: BuildOptions) -> BuildReport:
    """Build the dataset in memory (no files written)."""
    skips: SkipCounter = Counter()
    removed: Counter[str] = Counter()
    log: list[str] = []
    rows = collect(options, skips, log)
    separated = dedupe_and_separate(rows, removed)
    final: dict[Split, list[LabelledText]] = {}
    for split in SPLITS:
        cap = options.train_cap if split == "train" else options.eval_cap
        final[split] = sorted(
            cap_rows(separated[split], cap, options.seed, removed, split), key=row_id
        )
    stats = compute_stats(final)
    stats["build"] = {
        "seed": options.seed,
        "train_cap_per_source_lang": options.train_cap,
        "eval_cap_per_source_lang": options.eval_cap,
        "log": log,
        "skipped_rows": dict(sorted(skips.items())),
        "removed_rows": dict(sorted(removed.items())),
    }
    return BuildReport(final, stats)


def write(report: BuildReport, options: BuildOptions) -> None:
    options.out.mkdir(parents=True, exist_ok=True)
    for split, name in SPLIT_FILES.items():
        with (options.out / name).open("w", encoding="utf-8", newline="\n") as fh:
            for record in report.rows[split]:
                fh.write(json.dumps(record.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
    (options.out / STATS_FILE).write_text(
        json.dumps(report.stats, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    (options.out / SPOTCHECK_FILE).write_text(
        render_spotcheck(report.rows, options.spotcheck_n, options.seed), encoding="utf-8"
    )


def read_jsonl(path: Path) -> list[LabelledText]:
    """Read a split file written by :func:`write`."""
    rows: list[LabelledText] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            try:
                rows.append(LabelledText.from_json(json.loads(line)))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise InputFormatError(f"{path}:{number}: not a training row: {exc}") from exc
    return rows


def parse_args(argv: Sequence[str] | None) -> BuildOptions:
    parser = argparse.ArgumentParser(
        prog="python -m streamwatch.models.training.build_dataset",
        description="Build train/dev/test JSONL for the classifier from the public datasets.",
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument(
        "--data-root",
        default=None,
        help="folder holding train/ (default: $STREAMWATCH_DATA_ROOT or ../shared/data)",
    )
    parser.add_argument("--train-cap", type=int, default=TRAIN_CAP)
    parser.add_argument("--eval-cap", type=int, default=EVAL_CAP)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--spotcheck-n", type=int, default=SPOTCHECK_N)
    parser.add_argument("--sources", default=None, help="comma-separated source names")
    parser.add_argument("--no-handwritten", action="store_true")
    args = parser.parse_args(argv)
    try:
        return BuildOptions(
            out=args.out,
            data_root=resolve_data_root(args.data_root),
            train_cap=args.train_cap,
            eval_cap=args.eval_cap,
            seed=args.seed,
            spotcheck_n=args.spotcheck_n,
            sources=tuple(args.sources.split(",")) if args.sources else None,
            handwritten=not args.no_handwritten,
        )
    except ValueError as exc:
        parser.error(str(exc))
        raise  # unreachable: parser.error exits


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        report = build(options)
        write(report, options)
    except StreamwatchError as exc:
        print(error_line(exc), file=sys.stderr)
        return exc.exit_code
    for line in report.stats["build"]["log"]:
        print(line, file=sys.stderr)
    counts = ", ".join(f"{s} {len(report.rows[s])}" for s in SPLITS)
    print(f"wrote {counts} rows to {options.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
