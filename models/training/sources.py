"""Readers for the real public datasets in ``shared/data/train/``, mapped to our labels.

Each reader takes the data root (the folder that holds ``train/``) and a :class:`SkipCounter`,
and yields :class:`LabelledText` records with only the labels the dataset really carries
(gold labels, ``weak=False``). Weak labels from lexicons are added later by
:mod:`streamwatch.models.training.build_dataset`. Readers never look at ``eval/``.

Splits: a dataset's own train/dev/test files are used where it has them; otherwise
:func:`hash_split` assigns a deterministic split from a stable key (the text, or XQuAD's
question id so that the translations of one question share a split).

Errors: a missing dataset raises :class:`SourceMissing` (the builder skips it with a message);
a file that is present but cannot be read at all (wrong header, broken CSV, label and text
files of different lengths) raises :class:`~streamwatch.errors.InputFormatError`. Single bad
rows (empty text, unknown label, undecodable bytes, overlong text) are skipped and counted.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import html
import io
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

from streamwatch.errors import InputFormatError
from streamwatch.events import Sentiment, Topic
from streamwatch.models.training.lexicons import looks_hindi, topic_cues
from streamwatch.text import visible_line

Split = Literal["train", "dev", "test"]
Domain = Literal["commerce", "social", "questions"]
"""How weak labels may be applied: reviews of things people bought, social posts, or questions."""

SPLITS: tuple[Split, ...] = get_args(Split)
SENTIMENTS: frozenset[str] = frozenset(s.value for s in Sentiment)
TOPICS: frozenset[str] = frozenset(t.value for t in Topic)
LABEL_FIELDS: tuple[str, ...] = ("is_question", "sentiment", "distrust", "topic")

DATA_ROOT_ENV = "STREAMWATCH_DATA_ROOT"
MAX_TEXT_CHARS = 4000
"""Longer texts are skipped (counted): no chat message or review we want is that long."""
SPLIT_SALT = "streamwatch-split-v1"

SkipCounter = Counter[str]
"""Counts skipped rows by ``"source: reason"``."""


class SourceMissing(InputFormatError):
    """A dataset folder or file is absent; the builder skips the dataset with this message."""

    title = "data"


@dataclass(frozen=True, slots=True)
class LabelledText:
    """One training text with whichever labels are known (None = unknown, not negative)."""

    text: str
    lang: str
    source: str
    split: Split
    is_question: bool | None = None
    sentiment: str | None = None
    distrust: bool | None = None
    topic: str | None = None
    weak: bool = False
    """True when any label on the row comes from a lexicon rule rather than a human."""
    weak_fields: tuple[str, ...] = ()
    """Which of the label fields are weak (a row can have gold sentiment and a weak topic)."""

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"bad split {self.split!r}")
        if self.sentiment is not None and self.sentiment not in SENTIMENTS:
            raise ValueError(f"bad sentiment {self.sentiment!r}")
        if self.topic is not None and self.topic not in TOPICS:
            raise ValueError(f"bad topic {self.topic!r}")
        if any(f not in LABEL_FIELDS for f in self.weak_fields):
            raise ValueError(f"bad weak_fields {self.weak_fields!r}")
        if self.weak_fields and not self.weak:
            raise ValueError("weak must be True when weak_fields is not empty")

    def has_label(self) -> bool:
        return any(getattr(self, f) is not None for f in LABEL_FIELDS)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "lang": self.lang,
            "is_question": self.is_question,
            "sentiment": self.sentiment,
            "distrust": self.distrust,
            "topic": self.topic,
            "source": self.source,
            "split": self.split,
            "weak": self.weak,
            "weak_fields": list(self.weak_fields),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> LabelledText:
        weak_fields = tuple(str(f) for f in obj.get("weak_fields") or ())
        return cls(
            text=str(obj["text"]),
            lang=str(obj["lang"]),
            source=str(obj["source"]),
            split=obj["split"],
            is_question=_opt_bool(obj.get("is_question")),
            sentiment=_opt_str(obj.get("sentiment")),
            distrust=_opt_bool(obj.get("distrust")),
            topic=_opt_str(obj.get("topic")),
            weak=bool(obj.get("weak", False)) or bool(weak_fields),
            weak_fields=weak_fields,
        )

    def with_weak(self, **labels: Any) -> LabelledText:
        """Return a copy with ``labels`` set and recorded as weak (None values are ignored)."""
        given = {k: v for k, v in labels.items() if v is not None}
        if not given:
            return self
        wanted = set(self.weak_fields) | set(given)
        fields = tuple(f for f in LABEL_FIELDS if f in wanted)
        return replace(self, weak=True, weak_fields=fields, **given)


def _opt_bool(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValueError(f"expected true, false or null, got {value!r}")


def _opt_str(value: object) -> str | None:
    """A label value as a plain string (enum members become their value)."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, str):
        return value
    raise ValueError(f"expected a string or null, got {value!r}")


Reader = Callable[[Path, SkipCounter], Iterator[LabelledText]]


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A dataset: where it lives under ``train/``, its license and how to read it."""

    name: str
    folder: str
    langs: tuple[str, ...]
    license: str
    domain: Domain
    read: Reader = field(repr=False)
    weak_topics: bool = True
    """Whether lexicon topics may be added (False where gold aspects already decide)."""
    open_license: bool = False
    """Whether the licence lets a model trained on it ship under streamwatch's MIT licence
    (public domain, permissive, or attribution with share-alike; see models/README.md)."""


# --------------------------------------------------------------------------- helpers


def clean_text(raw: str) -> str:
    """Drop terminal escape sequences, blank other control characters and the BOM, collapse all
    whitespace (chat is one line): the model's view of a text at inference
    (``streamwatch.models.encoder.prepare_text``) is cleaned the same way."""
    return visible_line(raw)


def hash_split(key: str, dev_pct: int = 10, test_pct: int = 10) -> Split:
    """Deterministic split from ``key``: the same key always lands in the same split."""
    bucket = int.from_bytes(hashlib.sha256(f"{SPLIT_SALT}:{key}".encode()).digest()[:8]) % 100
    if bucket < test_pct:
        return "test"
    if bucket < test_pct + dev_pct:
        return "dev"
    return "train"


def resolve_data_root(option: str | os.PathLike[str] | None = None) -> Path:
    """The data root: ``option``, else ``$STREAMWATCH_DATA_ROOT``, else ``../shared/data``."""
    if option is not None:
        return Path(option)
    env = os.environ.get(DATA_ROOT_ENV)
    if env:
        return Path(env)
    repo_root = Path(__file__).resolve().parents[2]
    return repo_root.parent / "shared" / "data"


def _require(path: Path) -> Path:
    if not path.exists():
        raise SourceMissing(f"{path} not found")
    return path


def _read_text(path: Path, source: str, skips: SkipCounter) -> str:
    """Decode a file as UTF-8; undecodable bytes become U+FFFD and their rows are skipped."""
    data = _require(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        skips[f"{source}: file has invalid UTF-8 ({path.name})"] += 1
        text = data.decode("utf-8", errors="replace")
    return text.removeprefix("\ufeff")


def _csv_rows(
    path: Path,
    source: str,
    skips: SkipCounter,
    header: tuple[str, ...] | None,
    delimiter: str = ",",
) -> list[list[str]]:
    """Rows of a CSV file after checking its header (None: the file has no header).

    The csv module's field limit is lifted while parsing (and restored) so that one huge
    field becomes a skipped row instead of an unreadable file."""
    text = _read_text(path, source, skips)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    old_limit = csv.field_size_limit()
    csv.field_size_limit(max(old_limit, len(text) + 1))
    try:
        if header is not None:
            first = next(reader, None)
            if first is None or tuple(c.strip() for c in first) != header:
                raise InputFormatError(
                    f"{path}: expected header {','.join(header)!r}, found {first!r}"
                )
        for row in reader:
            if not row:
                continue
            if header is not None and len(row) != len(header):
                skips[f"{source}: wrong number of fields"] += 1
                continue
            rows.append(row)
    except csv.Error as exc:
        raise InputFormatError(f"{path}: broken CSV near line {reader.line_num}: {exc}") from exc
    finally:
        csv.field_size_limit(old_limit)
    return rows


def _accept(raw: str, source: str, skips: SkipCounter) -> str | None:
    """The cleaned text, or None (counted) when the row must be skipped."""
    if "\ufffd" in raw:
        skips[f"{source}: undecodable bytes"] += 1
        return None
    text = clean_text(raw)
    if not text:
        skips[f"{source}: empty text"] += 1
        return None
    if len(text) > MAX_TEXT_CHARS:
        skips[f"{source}: text over {MAX_TEXT_CHARS} chars"] += 1
        return None
    return text


# --------------------------------------------------------------------------- zh

_BINARY_SENTIMENT: Mapping[str, str] = {"1": "pos", "0": "neg"}


def read_zh_online_shopping(root: Path, skips: SkipCounter) -> Iterator[LabelledText]:
    """SophonPlus online_shopping_10_cats: ``cat,label,review``; ``cat`` is a product
    category (books, hotels, fruit...), not one of our topics, so it is not mapped."""
    source = "zh_online_shopping"
    path = root / "train" / "zh_shopping_reviews" / "online_shopping_10_cats.csv"
    for _cat, label, review in _csv_rows(path, source, skips, ("cat", "label", "review")):
        text = _accept(review, source, skips)
        if text is None or label.strip() not in _BINARY_SENTIMENT:
            if text is not None:
                skips[f"{source}: unknown label"] += 1
            continue
        yield LabelledText(
            text, "zh", source, hash_split(text), sentiment=_BINARY_SENTIMENT[label.strip()]
        )


def read_zh_waimai(root: Path, skips: SkipCounter) -> Iterator[LabelledText]:
    """SophonPlus waimai_10k food-delivery reviews: ``label,review``."""
    source = "zh_waimai"
    path = root / "train" / "zh_shopping_reviews" / "waimai_10k.csv"
    for label, review in _csv_rows(path, source, skips, ("label", "review")):
        text = _accept(review, source, skips)
        if text is None or label.strip() not in _BINARY_SENTIMENT:
            if text is not None:
                skips[f"{source}: unknown label"] += 1
            continue
        yield LabelledText(
            text, "zh", source, hash_split(text), sentiment=_BINARY_SENTIMENT[label.strip()]
        )


_JD_TAG: Mapping[str, str] = {"3": "pos", "2": "neu", "1": "neg"}
_JD_FILES: Mapping[Split, str] = {
    "train": "jdComment_TrainSet.csv",
    "dev": "jdComment_ValidSet.csv",
    "test": "jdComment_TestSet.csv",
}
_JD_HEADER = ("_id", "user", "content", "creationTime", "referenceName", "tag")


def read_zh_jd(root: Path, skips: SkipCounter) -> Iterator[LabelledText]:
    """JD.com sneaker comments with their own Train/Valid/Test files; tag 3/2/1 = pos/neu/neg."""
    source = "zh_jd"
    folder = root / "train" / "zh_jd_comments"
    _require(folder)
    for split, name in _JD_FILES.items():
        for row in _csv_rows(folder / name, source, skips, _JD_HEADER):
            text = _accept(row[2], source, skips)
            tag = row[5].strip()
            if text is None:
                continue
            if tag not in _JD_TAG:
                skips[f"{source}: unknown label"] += 1
                continue
            yield LabelledText(text, "zh", source, split, sentiment=_JD_TAG[tag])


# --------------------------------------------------------------------------- ru

_RUSENTIMENT: Mapping[str, str | None] = {
    "positive": "pos",
    "negative": "neg",
    "neutral": "neu",
    "speech": None,  # speech acts (greetings, congratulations): no sentiment class of ours
    "skip": None,  # annotators skipped: unclear or not Russian
}


def read_ru_rusentiment(root: Path, skips: SkipCounter) -> Iterator[LabelledText]:
    """RuSentiment: random + preselected posts are train (10 % hashed to dev); test is test.
    ``speech`` and ``skip`` rows are dropped (counted)."""
    source = "ru_rusentiment"
    folder = _require(root / "train" / "ru_rusentiment")
    files: tuple[tuple[str, bool], ...] = (
        ("rusentiment_random_posts.csv", False),
        ("rusentiment_preselected_posts.csv", False),
        ("rusentiment_test.csv", True),
    )
    for name, is_test in files:
        for label, raw in _csv_rows(folder / name, source, skips, ("label", "text")):
            key = label.strip()
            if key not in _RUSENTIMENT:
                skips[f"{source}: unknown label"] += 1
                continue
            sentiment = _RUSENTIMENT[key]
            if sentiment is None:
                skips[f"{source}: dropped class {key}"] += 1
                continue
            text = _accept(raw, source, skips)
            if text is None:
                continue
            split: Split = "test" if is_test else hash_split(text, dev_pct=10, test_pct=0)
            yield LabelledText(text, "ru", source, split, sentiment=sentiment)


# --------------------------------------------------------------------------- tweets

XLMT_LANGS: Mapping[str, str] = {
    "arabic": "ar",
    "english": "en",
    "french": "fr",
    "german": "de",
    "hindi": "hi",
    "italian": "it",
    "portuguese": "pt",
    "spanish": "es",
}
_XLMT_SPLITS: Mapping[Split, str] = {"train": "train", "dev": "val", "test": "test"}
_XLMT_LABEL: Mapping[str, str] = {"0": "neg", "1": "neu", "2": "pos"}
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def clean_tweet(raw: str) -> str:
    """Undo the escaping found in the UMSAB text files: CSV-style outer quotes with ``""``,
    ``\\u2019``-style escapes, literal ``\\n``/``\\t`` and HTML entities (``&amp;``)."""
    text = raw.strip()
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        text = text[1:-1].replace('""', '"')
    text = text.replace('\\"', '"').replace('""', '"')
    text = _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    text = text.replace("\\n", " ").replace("\\t", " ").replace("\\r", " ")
    return html.unescape(text)


def read_xlmt_tweets(root: Path, skips: SkipCounter) -> Iterator[LabelledText]:
    """UMSAB / XLM-T tweets: ``<language>/{train,val,test}_{text,labels}.txt``, line aligned;
    labels 0/1/2 = neg/neu/pos. Missing languages are skipped (counted)."""
    source = "xlmt_tweets"
    folder = _require(root / "train" / "multi_tweets_xlmt")
    for dirname, lang in XLMT_LANGS.items():
        lang_dir = folder / dirname
        if not lang_dir.is_dir():
            skips[f"{source}: language folder {dirname} missing"] += 1
            continue
        for split, stem in _XLMT_SPLITS.items():
            texts = _read_text(lang_dir / f"{stem}_text.txt", source, skips).splitlines()
            labels = _read_text(lang_dir / f"{stem}_labels.txt", source, skips).splitlines()
            if len(texts) != len(labels):
                raise InputFormatError(
                    f"{lang_dir}: {stem}_text.txt has {len(texts)} lines but "
                    f"{stem}_labels.txt has {len(labels)}"
                )
            for raw, label in zip(texts, labels, strict=True):
                if label.strip() not in _XLMT_LABEL:
                    skips[f"{source}: unknown label"] += 1
                    continue
                text = _accept(clean_tweet(raw) if "\ufffd" not in raw else raw, source, skips)
                if text is None:
                    continue
                row_lang = lang
                if lang == "hi" and not looks_hindi(text):
                    row_lang = "en"  # the Hindi set holds English tweets too
                    skips[f"{source}: hindi-set tweet relabelled en (counted, kept)"] += 1
                yield LabelledText(
                    text, row_lang, source, split, sentiment=_XLMT_LABEL[label.strip()]
                )


# --------------------------------------------------------------------------- th

_WISESIGHT_FILES: Mapping[Split, str] = {
    "train": "train.jsonl",
    "dev": "valid.jsonl",
    "test": "test.jsonl",
}


def read_th_wisesight(root: Path, skips: SkipCounter) -> Iterator[LabelledText]:
    """Wisesight sentiment: ``{"category","texts"}`` lines. ``q`` is a question (no sentiment
    given); pos/neu/neg are non-questions with that sentiment. ``questions_q.txt`` is not read:
    it is only the ``q`` rows of all three files again (test rows included)."""
    source = "th_wisesight"
    folder = _require(root / "train" / "th_wisesight")
    for split, name in _WISESIGHT_FILES.items():
        content = _read_text(folder / name, source, skips)
        for line in content.splitlines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                skips[f"{source}: malformed JSON line"] += 1
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("texts"), str):
                skips[f"{source}: line without texts"] += 1
                continue
            category = obj.get("category")
            text = _accept(obj["texts"], source, skips)
            if text is None:
                continue
            if category == "q":
                yield LabelledText(text, "th", source, split, is_question=True)
            elif category in SENTIMENTS:
                yield LabelledText(
                    text, "th", source, split, is_question=False, sentiment=str(category)
                )
            else:
                skips[f"{source}: unknown label"] += 1


# --------------------------------------------------------------------------- vi

_VI_FILES: Mapping[Split, str] = {"train": "Train.csv", "dev": "Dev.csv", "test": "Test.csv"}
_VI_ASPECT = re.compile(r"\{([A-Z&]+)(?:#(Positive|Negative|Neutral))?\}")
_VI_POLARITY: Mapping[str, str] = {"Positive": "pos", "Negative": "neg", "Neutral": "neu"}
VI_ASPECT_TOPIC: Mapping[str, str | None] = {
    "PRICE": Topic.PRICE_PROMO.value,
    "SCREEN": Topic.AUTHENTICITY_QUALITY.value,
    "CAMERA": Topic.AUTHENTICITY_QUALITY.value,
    "FEATURES": Topic.AUTHENTICITY_QUALITY.value,
    "BATTERY": None,  # battery life is quality, battery capacity a spec: ambiguous
    "PERFORMANCE": Topic.AUTHENTICITY_QUALITY.value,
    "DESIGN": Topic.AUTHENTICITY_QUALITY.value,
    "STORAGE": Topic.SIZE_SPECS.value,
    "SER&ACC": None,  # service & accessories: shipping OR after-sales OR staff; see service_topic
}
"""UIT-ViSFD aspects → our topics; None marks an aspect too ambiguous to map, which leaves the
row without a topic. GENERAL and OTHERS carry no topic and do not block."""


@dataclass(frozen=True, slots=True)
class ViAspects:
    """The parsed aspect label of one UIT-ViSFD row."""

    aspects: tuple[tuple[str, str | None], ...]

    @property
    def sentiment(self) -> str | None:
        """GENERAL's polarity if present, else the polarity all aspects agree on, else None."""
        for aspect, polarity in self.aspects:
            if aspect == "GENERAL" and polarity is not None:
                return _VI_POLARITY[polarity]
        polarities = {p for _, p in self.aspects if p is not None}
        return _VI_POLARITY[polarities.pop()] if len(polarities) == 1 else None

    @property
    def topic_aspects(self) -> frozenset[str]:
        return frozenset(a for a, _ in self.aspects if a not in ("GENERAL", "OTHERS"))

    def gold_topic(self) -> str | None:
        """The topic when every topical aspect maps to the same one (none ambiguous)."""
        aspects = self.topic_aspects
        topics = {VI_ASPECT_TOPIC.get(a) for a in aspects}
        if len(topics) != 1 or None in topics:
            return None
        return topics.pop()


def parse_vi_aspects(label: str) -> ViAspects | None:
    """Parse ``{BATTERY#Negative};{GENERAL#Positive};{OTHERS};``; None if nothing parses."""
    found = _VI_ASPECT.findall(label)
    if not found:
        return None
    known = {*VI_ASPECT_TOPIC, "GENERAL", "OTHERS"}
    if any(a not in known for a, _ in found):
        return None
    return ViAspects(tuple((a, p or None) for a, p in found))


def read_vi_uit_visfd(root: Path, skips: SkipCounter) -> Iterator[LabelledText]:
    """UIT-ViSFD smartphone shop feedback: ``index,comment,n_star,date_time,label``.

    Sentiment from the GENERAL aspect (or unanimous aspects); topic from the aspects when they
    agree (:data:`VI_ASPECT_TOPIC`). Rows whose aspects include SER&ACC get their topic from
    the shipping / after-sales lexicon in the builder (weak)."""
    source = "vi_uit_visfd"
    folder = _require(root / "train" / "vi_uit_visfd")
    header = ("index", "comment", "n_star", "date_time", "label")
    for split, name in _VI_FILES.items():
        for row in _csv_rows(folder / name, source, skips, header):
            aspects = parse_vi_aspects(row[4])
            if aspects is None:
                skips[f"{source}: unknown label"] += 1
                continue
            text = _accept(row[1], source, skips)
            if text is None:
                continue
            record = LabelledText(
                text, "vi", source, split, sentiment=aspects.sentiment, topic=aspects.gold_topic()
            )
            if aspects.topic_aspects == {"SER&ACC"}:
                record = record.with_weak(topic=service_topic(text))
            yield record


def service_topic(text: str) -> str | None:
    """Resolve UIT-ViSFD's SER&ACC aspect: shipping or after-sales when exactly one of those
    cue sets matches, else None (staff friendliness, free accessories... have no topic)."""
    found = topic_cues(text, "vi") & {Topic.SHIPPING, Topic.RETURNS_AFTERSALES}
    return next(iter(found)).value if len(found) == 1 else None


# --------------------------------------------------------------------------- et

_ET_LABEL: Mapping[str, str] = {"negatiivne": "neg", "positiivne": "pos", "neutraalne": "neu"}


def read_et_valence(root: Path, skips: SkipCounter) -> Iterator[LabelledText]:
    """Estonian valence corpus: ``label,text`` without a header; hash split by text."""
    source = "et_valence"
    path = root / "train" / "et_valence" / "korpus.csv"
    for row in _csv_rows(path, source, skips, None):
        if len(row) != 2:
            skips[f"{source}: wrong number of fields"] += 1
            continue
        label, raw = row
        if label.strip() not in _ET_LABEL:
            skips[f"{source}: unknown label"] += 1
            continue
        text = _accept(raw, source, skips)
        if text is None:
            continue
        yield LabelledText(text, "et", source, hash_split(text), sentiment=_ET_LABEL[label.strip()])


# --------------------------------------------------------------------------- questions

_ISO_639_1 = re.compile(r"^[a-z]{2}$")


def read_xquad_questions(root: Path, skips: SkipCounter) -> Iterator[LabelledText]:
    """XQuAD-derived questions: ``lang,qid,question`` (TSV); all are questions. Split by
    ``qid`` so a question and its translations never straddle train and test."""
    source = "xquad_questions"
    path = root / "train" / "questions_xquad" / "derived_questions.tsv"
    for lang, qid, question in _csv_rows(path, source, skips, ("lang", "qid", "question"), "\t"):
        if not _ISO_639_1.match(lang.strip()):
            skips[f"{source}: bad language code"] += 1
            continue
        text = _accept(question, source, skips)
        if text is None:
            continue
        yield LabelledText(text, lang.strip(), source, hash_split(qid.strip()), is_question=True)


# --------------------------------------------------------------------------- registry

SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec(
        "zh_online_shopping",
        "zh_shopping_reviews",
        ("zh",),
        "none stated (SophonPlus/ChineseNlpCorpus)",
        "commerce",
        read_zh_online_shopping,
    ),
    SourceSpec(
        "zh_waimai",
        "zh_shopping_reviews",
        ("zh",),
        "none stated (SophonPlus/ChineseNlpCorpus)",
        "commerce",
        read_zh_waimai,
    ),
    SourceSpec(
        "zh_jd",
        "zh_jd_comments",
        ("zh",),
        "none stated (xyfJASON/comment-analysis)",
        "commerce",
        read_zh_jd,
    ),
    SourceSpec(
        "ru_rusentiment",
        "ru_rusentiment",
        ("ru",),
        "original RuSentiment terms (not verified)",
        "social",
        read_ru_rusentiment,
    ),
    SourceSpec(
        "xlmt_tweets",
        "multi_tweets_xlmt",
        tuple(XLMT_LANGS.values()),
        "repo Apache-2.0; tweets under their source datasets' terms",
        "social",
        read_xlmt_tweets,
        open_license=True,
    ),
    SourceSpec(
        "th_wisesight",
        "th_wisesight",
        ("th",),
        "CC0",
        "social",  # brand chatter, jokes and politics: a cue there is too often not distrust
        read_th_wisesight,
        weak_topics=False,  # "ขนาด", "ราคา" in chatter rarely make the post's topic
        open_license=True,
    ),
    SourceSpec(
        "vi_uit_visfd",
        "vi_uit_visfd",
        ("vi",),
        "none stated; cite Phan et al. 2021",
        "commerce",
        read_vi_uit_visfd,
        weak_topics=False,
    ),
    SourceSpec(
        "et_valence",
        "et_valence",
        ("et",),
        "GPL-3.0 repo; cite Pajupuu et al. 2016",
        "social",
        read_et_valence,
    ),
    SourceSpec(
        "xquad_questions",
        "questions_xquad",
        ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"),
        "CC BY-SA 4.0",
        "questions",
        read_xquad_questions,
        open_license=True,
    ),
)


def read_source(spec: SourceSpec, root: Path, skips: SkipCounter) -> list[LabelledText]:
    """All records of one dataset (raises :class:`SourceMissing` when it is absent)."""
    _require(root / "train" / spec.folder)
    return list(spec.read(root, skips))


def open_license_sources() -> frozenset[str]:
    """Names of the datasets whose licence lets a shipped model train on them."""
    return frozenset(spec.name for spec in SOURCES if spec.open_license)


def iter_sources(names: Iterable[str] | None = None) -> Iterator[SourceSpec]:
    wanted = None if names is None else set(names)
    for spec in SOURCES:
        if wanted is None or spec.name in wanted:
            yield spec
