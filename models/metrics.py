"""Classification metrics without scikit-learn: precision, recall, F1, confusion matrices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class ClassScores:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class Report:
    """Scores of one head on one set of examples."""

    labels: tuple[str, ...]
    per_class: tuple[ClassScores, ...]
    confusion: npt.NDArray[np.int64]
    """Rows: gold label, columns: predicted label."""
    accuracy: float
    macro_f1: float
    n: int

    def f1(self, label: str) -> float:
        for c in self.per_class:
            if c.label == label:
                return c.f1
        raise KeyError(label)


def confusion_matrix(
    gold: npt.NDArray[np.int64], pred: npt.NDArray[np.int64], k: int
) -> npt.NDArray[np.int64]:
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (gold, pred), 1)
    return m


def report(
    gold: Sequence[int] | npt.NDArray[np.int64],
    pred: Sequence[int] | npt.NDArray[np.int64],
    labels: Sequence[str],
    macro_over: Sequence[str] | None = None,
) -> Report:
    """Per-class scores, confusion matrix, accuracy and macro-F1.

    ``macro_over`` restricts the macro average to those labels (default: every label with gold
    support or predictions, so a class absent from a small test set does not count as F1 0).
    """
    g = np.asarray(gold, dtype=np.int64)
    p = np.asarray(pred, dtype=np.int64)
    k = len(labels)
    cm = confusion_matrix(g, p, k) if len(g) else np.zeros((k, k), dtype=np.int64)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
        recall = np.where(support > 0, tp / np.maximum(support, 1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    per_class = tuple(
        ClassScores(labels[i], float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
        for i in range(k)
    )
    if macro_over is not None:
        chosen = [labels.index(name) for name in macro_over]
    else:
        chosen = [i for i in range(k) if support[i] > 0 or predicted[i] > 0]
    macro = float(np.mean([f1[i] for i in chosen])) if chosen else 0.0
    accuracy = float(tp.sum() / max(len(g), 1))
    return Report(tuple(labels), per_class, cm, accuracy, macro, len(g))


def best_threshold(
    gold: npt.NDArray[np.int64],
    scores: npt.NDArray[np.float32],
    weights: npt.NDArray[np.float64] | None = None,
) -> tuple[float, float]:
    """Threshold in (0.05..0.95) maximising (weighted) F1 of the positive class; (threshold, F1)."""
    w = np.ones(len(gold)) if weights is None else np.asarray(weights, dtype=np.float64)
    best = (0.5, -1.0)
    for t in np.arange(0.05, 0.951, 0.01):
        pred = scores >= t
        tp = float(w[(pred == 1) & (gold == 1)].sum())
        fp = float(w[(pred == 1) & (gold == 0)].sum())
        fn = float(w[(pred == 0) & (gold == 1)].sum())
        f1 = 2 * tp / (2 * tp + fp + fn) if tp > 0 else 0.0
        if f1 > best[1] + 1e-9:
            best = (float(round(t, 2)), f1)
    return best


def format_confusion(rep: Report, width: int = 7) -> str:
    """The confusion matrix as aligned text (rows gold, columns predicted)."""
    short = [lab[:width] for lab in rep.labels]
    head = " " * (width + 2) + " ".join(f"{s:>{width}}" for s in short)
    lines = [head]
    for i, name in enumerate(short):
        lines.append(
            f"{name:>{width}} |" + " ".join(f"{int(v):>{width}}" for v in rep.confusion[i])
        )
    return "\n".join(lines)
