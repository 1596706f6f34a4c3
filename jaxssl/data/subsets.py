"""Subsets of a source: the labelled fractions of the semi-supervised protocol.

SimCLR and its successors fine-tune on 1% and 10% of ImageNet's labels. The
subsets here are class-balanced (the same number of examples from every
class), deterministic (a function of the labels and a seed only) and nested
(the 1% subset lies inside the 10% one), so results at different fractions
differ by the labels alone.
"""

from __future__ import annotations

import numpy as np


def label_fraction(labels: np.ndarray, fraction: float, *, seed: int = 0) -> np.ndarray:
    """Sorted indices of a class-balanced ``fraction`` of the examples.

    Every class contributes ``max(1, round(fraction * N / C))`` examples
    (all of them if it has fewer), taken as a prefix of a per-class
    permutation drawn from ``seed``. The permutation does not depend on
    ``fraction``, so a smaller fraction's subset is inside a larger one's.

    Args:
      labels: integer labels ``[N]``.
      fraction: in (0, 1]; 1 keeps every example.
      seed: chooses the permutation.

    Example:
      >>> labels = np.repeat(np.arange(3), 10)
      >>> len(label_fraction(labels, 0.1)), np.bincount(labels[label_fraction(labels, 0.1)])
      (3, array([1, 1, 1]))
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be 1-D integers, got {labels.dtype} {labels.shape}.")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}.")
    if fraction == 1:
        return np.arange(len(labels))
    classes = np.unique(labels)
    per_class = max(1, round(fraction * len(labels) / len(classes)))
    rng = np.random.default_rng(seed)
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in classes]
    return np.sort(np.concatenate(chosen))


class Subset:
    """The records ``indices`` of a random-access source (``len``, ``[i]``), in that order."""

    def __init__(self, source, indices):
        self.source = source
        self.indices = np.asarray(indices, np.int64)
        if self.indices.ndim != 1 or (
            len(self.indices) and not 0 <= self.indices.min() <= self.indices.max() < len(source)
        ):
            raise ValueError(f"indices must be 1-D positions in [0, {len(source)}).")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i):
        return self.source[int(self.indices[i])]


def labels_of(source, label_key: str = "label") -> np.ndarray:
    """Every record's label, in order (reads the whole source)."""
    return np.asarray([source[i][label_key] for i in range(len(source))], np.int64)


def check_labels(labels, num_classes: int, where: str) -> None:
    """ValueError unless every label lies in ``[0, num_classes)``.

    A label outside that range would be dropped silently by a one-hot
    cross-entropy and by the confusion matrix (``jax.nn.one_hot`` gives a row
    of zeros), so the run would train and score on the wrong problem.

    Args:
      labels: integer labels, any shape.
      num_classes: the run's class count (``config.num_classes``).
      where: what the labels are, for the message (``"mnist:train"``).
    """
    labels = np.asarray(labels)
    if labels.size == 0:
        return
    low, high = labels.min(), labels.max()
    if low >= 0 and high < num_classes:
        return
    bad = labels[(labels < 0) | (labels >= num_classes)]
    raise ValueError(
        f"labels of {where} must be in [0, {num_classes}) (config.num_classes={num_classes}), "
        f"but {bad.size} of {labels.size} are outside it (from {low} to {high}); set "
        "config.num_classes to the dataset's class count, or 0 to take it from the data."
    )
