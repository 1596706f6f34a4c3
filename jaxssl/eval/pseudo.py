"""Pseudo-labelling: a confident teacher labels the unlabelled examples; a student learns from both.

The simplest form of self-training (Lee 2013, "Pseudo-Label"): after
fine-tuning on a labelled fraction, the fine-tuned network (the teacher)
predicts the rest of the training set; examples whose top probability
reaches a threshold join the labelled ones with the predicted class, and a
linear classifier (the student) is trained on the frozen features of the
union. Sweeping the threshold shows the trade between more labels and
noisier ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jaxssl.eval.probe import linear_probe


def pseudo_label_sweep(
    features: np.ndarray,
    labels: np.ndarray,
    labelled: np.ndarray,
    teacher_probs: np.ndarray,
    test_features: np.ndarray,
    test_labels: np.ndarray,
    *,
    thresholds: Sequence[float],
    num_classes: int | None = None,
    weight_decay: float = 1e-4,
    seed: int = 0,
    **probe_kwargs,
) -> dict:
    """Test accuracy of the student at each confidence threshold.

    Args:
      features: training-set features ``[N, F]``.
      labels: true labels ``[N]``; the student sees only ``labels[labelled]``,
        the rest serve to score the pseudo-labels' accuracy.
      labelled: indices of the labelled examples.
      teacher_probs: the teacher's class probabilities ``[N, C]``.
      test_features: the evaluation set's features ``[M, F]``.
      test_labels: its labels ``[M]``.
      thresholds: minimum top probability for a pseudo-label.
      num_classes: default ``teacher_probs.shape[1]``.
      weight_decay: the student's L2 penalty (fixed: a validation split of a
        handful of labels cannot choose it).
      seed: the student's shuffling.
      **probe_kwargs: more settings of :func:`~jaxssl.eval.probe.linear_probe`.

    Returns:
      ``labelled_only_top1`` (the student without pseudo-labels) and ``rows``:
      per threshold, ``threshold``, ``pseudo_labelled`` (how many),
      ``pseudo_label_accuracy`` (None when there are none) and ``top1``.
    """
    features, labels = np.asarray(features), np.asarray(labels)
    probs = np.asarray(teacher_probs)
    if probs.ndim != 2 or probs.shape[0] != features.shape[0] or labels.shape != features.shape[:1]:
        raise ValueError(
            f"features [N, F], labels [N] and teacher_probs [N, C] must agree on N; got "
            f"{features.shape}, {labels.shape} and {probs.shape}."
        )
    labelled = np.asarray(labelled, np.int64)
    num_classes = num_classes or probs.shape[1]
    unlabelled = np.setdiff1d(np.arange(len(labels)), labelled)
    confidence = probs[unlabelled].max(axis=1)
    guess = probs[unlabelled].argmax(axis=1)

    def student(index, targets) -> float:
        results, _ = linear_probe(
            features[index],
            targets,
            test_features,
            test_labels,
            num_classes=num_classes,
            weight_decays=(weight_decay,),
            val_fraction=0.0,
            seed=seed,
            **probe_kwargs,
        )
        return results["top1"]

    rows = []
    for threshold in thresholds:
        take = confidence >= threshold
        index = np.concatenate([labelled, unlabelled[take]])
        targets = np.concatenate([labels[labelled], guess[take]])
        accuracy = float(np.mean(guess[take] == labels[unlabelled][take])) if take.any() else None
        rows.append(
            {
                "threshold": float(threshold),
                "pseudo_labelled": int(take.sum()),
                "pseudo_label_accuracy": accuracy,
                "top1": student(index, targets),
            }
        )
    return {"labelled_only_top1": student(labelled, labels[labelled]), "rows": rows}
