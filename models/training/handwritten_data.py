"""Typed loader for the hand-written, labelled live-commerce chat set.

The data lives next to this module in ``handwritten/<lang>.jsonl``, one JSON object a line::

    {"text": "链接呢", "is_question": true, "sentiment": "neu", "distrust": false,
     "topic": "stock", "lang": "zh", "split": "train"}

``split`` is fixed in the files (see ``handwritten/GUIDE.md``). The ``test`` rows are the held-out
commerce-chat evaluation: training code must ask for ``split="train"`` and never train on them.

This is curated data, so validation is strict: any malformed row (bad JSON, missing or unknown
key, wrong type, unknown label, a ``lang`` that does not match the file name) raises
:class:`~streamwatch.errors.InputFormatError` naming the file and line, instead of being skipped.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from streamwatch.errors import ConfigError, InputFormatError
from streamwatch.events import Sentiment, Topic

DATA_DIR: Final[Path] = Path(__file__).resolve().with_name("handwritten")
"""Folder holding ``<lang>.jsonl`` files."""

HOLDOUT_DIR: Final[Path] = Path(__file__).resolve().with_name("holdout")
"""Folder holding the second held-out set: ``<lang>.jsonl`` files of ``test`` rows only, in the
same format, written later and blind (see ``holdout/README.md``). No training code reads it."""

PROBES_DIR: Final[Path] = Path(__file__).resolve().with_name("probes")
"""Small probe sets for one known weakness each (evaluation only; see ``probes/README.md``)."""

LANGS: Final[tuple[str, ...]] = (
    "zh", "en", "ru", "et", "es", "pt", "de", "ja", "ko", "id", "vi", "th",
)  # fmt: skip
"""Languages the set covers (ISO 639-1), in the order the guide lists them."""

SPLITS: Final[tuple[str, ...]] = ("train", "test")

MAX_TEXT_CHARS: Final[int] = 500
"""Longest text a row may hold; real chat lines are far shorter."""

_FIELDS: Final[frozenset[str]] = frozenset(
    {"text", "is_question", "sentiment", "distrust", "topic", "lang", "split"}
)
_SENTIMENTS: Final[frozenset[str]] = frozenset(s.value for s in Sentiment)
_TOPICS: Final[frozenset[str]] = frozenset(t.value for t in Topic)


@dataclass(frozen=True, slots=True)
class LabelledText:
    """One hand-labelled chat message."""

    text: str
    is_question: bool
    """The viewer asks or requests something, with or without a question mark."""
    sentiment: Sentiment
    distrust: bool
    """Doubt about the honesty or safety of seller, host, product claims, price or payment."""
    topic: Topic
    lang: str
    """ISO 639-1 code of the chat the message was written in (equals the file name)."""
    split: str
    """``"train"`` or ``"test"`` (held out, never for training)."""

    @property
    def is_language_neutral(self) -> bool:
        """True when the text has no letters at all (``666``, ``+1``, emoji only).

        Such rows carry the language of the chat they were written in; a language-identification
        head should treat them as undetermined rather than learn them as that language.
        """
        return not any(ch.isalpha() for ch in self.text)


def normalise_text(text: str) -> str:
    """The form used to detect duplicates: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def load_handwritten(
    split: str | None = None,
    langs: Iterable[str] | None = None,
    *,
    data_dir: Path | None = None,
) -> list[LabelledText]:
    """Load and validate the hand-written rows.

    ``split`` keeps only ``"train"`` or ``"test"`` rows (None: both). ``langs`` keeps only those
    languages (None: every ``*.jsonl`` file in the folder). Rows come back in file order, files in
    the order of ``langs`` (or sorted by name). Raises :class:`ConfigError` for an unknown split or
    a language without a file, :class:`InputFormatError` for a file or row that is not valid.
    """
    if split is not None and split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    folder = DATA_DIR if data_dir is None else data_dir
    if langs is None:
        paths = sorted(folder.glob("*.jsonl"))
        if not paths:
            raise InputFormatError(f"{folder}: no hand-written *.jsonl files")
    else:
        paths = []
        for lang in langs:
            path = folder / f"{lang}.jsonl"
            if not path.is_file():
                raise ConfigError(f"no hand-written data for language {lang!r} (missing {path})")
            paths.append(path)
    rows: list[LabelledText] = []
    for path in paths:
        rows.extend(r for r in _read_file(path) if split is None or r.split == split)
    return rows


def _read_file(path: Path) -> list[LabelledText]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFormatError(f"{path}: cannot read: {exc}") from exc
    rows: list[LabelledText] = []
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputFormatError(f"{where}: not valid UTF-8") from exc
        try:
            obj: object = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputFormatError(f"{where}: not valid JSON: {exc.msg}") from exc
        rows.append(_parse_row(obj, where, expected_lang=path.stem))
    return rows


def _parse_row(obj: object, where: str, *, expected_lang: str) -> LabelledText:
    if not isinstance(obj, dict):
        raise InputFormatError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    keys = set(obj)
    if keys != _FIELDS:
        problems = []
        if missing := sorted(_FIELDS - keys):
            problems.append(f"missing {', '.join(missing)}")
        if unknown := sorted(_short(k) for k in keys - _FIELDS):
            problems.append(f"unknown {', '.join(unknown)}")
        raise InputFormatError(f"{where}: bad keys: {'; '.join(problems)}")
    text = _require_str(obj, "text", where)
    if not text.strip():
        raise InputFormatError(f"{where}: text is blank")
    if len(text) > MAX_TEXT_CHARS:
        raise InputFormatError(f"{where}: text longer than {MAX_TEXT_CHARS} characters")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InputFormatError(f"{where}: text contains control characters")
    sentiment = _require_str(obj, "sentiment", where)
    if sentiment not in _SENTIMENTS:
        raise InputFormatError(f"{where}: unknown sentiment {_short(sentiment)}")
    topic = _require_str(obj, "topic", where)
    if topic not in _TOPICS:
        raise InputFormatError(f"{where}: unknown topic {_short(topic)}")
    lang = _require_str(obj, "lang", where)
    if lang != expected_lang:
        raise InputFormatError(
            f"{where}: lang {_short(lang)} does not match file {expected_lang!r}"
        )
    split = _require_str(obj, "split", where)
    if split not in SPLITS:
        raise InputFormatError(f"{where}: unknown split {_short(split)}")
    return LabelledText(
        text=text,
        is_question=_require_bool(obj, "is_question", where),
        sentiment=Sentiment(sentiment),
        distrust=_require_bool(obj, "distrust", where),
        topic=Topic(topic),
        lang=lang,
        split=split,
    )


def _require_str(obj: dict[str, object], key: str, where: str) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise InputFormatError(f"{where}: {key} must be a string, got {type(value).__name__}")
    return value


def _require_bool(obj: dict[str, object], key: str, where: str) -> bool:
    value = obj[key]
    if not isinstance(value, bool):
        raise InputFormatError(f"{where}: {key} must be true or false, got {_short(value)}")
    return value


def _short(value: object) -> str:
    """``repr`` cut to a length fit for an error message (escapes control characters)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
