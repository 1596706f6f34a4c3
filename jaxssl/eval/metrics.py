"""Classification metrics: accuracy, top-k, per-class and macro precision/recall/F1, confusion.

scikit-learn computes precision, recall, F1 and the confusion matrix; top-k
accuracy from scores is a line of NumPy (scikit-learn's ``top_k_accuracy_score``
refuses scores whose columns do not cover every label in ``labels``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def top_k_accuracy(labels: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Fraction of rows whose label is among the ``k`` highest ``scores [N, C]``."""
    labels, scores = np.asarray(labels), np.asarray(scores)
    if scores.ndim != 2 or labels.shape != scores.shape[:1]:
        raise ValueError(
            f"scores must be [N, C] and labels [N], got {scores.shape} and {labels.shape}."
        )
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == labels[:, None], axis=1)))


def classification_metrics(
    labels: np.ndarray,
    scores: np.ndarray,
    *,
    num_classes: int | None = None,
    top_k: Sequence[int] = (1, 5),
) -> dict:
    """Every number of a classification result, from ``scores [N, C]`` (logits or probabilities).

    Returns a JSON-ready dict: ``top{k}`` for each k < C, ``macro_precision``,
    ``macro_recall``, ``macro_f1``, ``per_class`` (lists of precision, recall,
    F1 and support per class) and ``confusion`` (rows: true class, columns:
    predicted).
    """
    # imported here: scikit-learn (and SciPy) take about a second to import,
    # which every train.py start would pay before it trains
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels, scores = np.asarray(labels), np.asarray(scores)
    num_classes = num_classes or scores.shape[1]
    out: dict = {
        f"top{k}": top_k_accuracy(labels, scores, k) for k in top_k if k == 1 or k < num_classes
    }
    pred = np.argmax(scores, axis=1)
    classes = np.arange(num_classes)
    p, r, f, support = precision_recall_fscore_support(
        labels, pred, labels=classes, zero_division=0
    )
    macro = precision_recall_fscore_support(
        labels, pred, labels=classes, average="macro", zero_division=0
    )
    out.update(
        macro_precision=float(macro[0]), macro_recall=float(macro[1]), macro_f1=float(macro[2])
    )
    out["per_class"] = {
        "precision": p.tolist(),
        "recall": r.tolist(),
        "f1": f.tolist(),
        "support": support.tolist(),
    }
    out["confusion"] = confusion_matrix(labels, pred, labels=classes).tolist()
    return out
