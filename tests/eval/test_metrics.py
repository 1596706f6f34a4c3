"""Classification metrics on a case worked by hand, and top-k against a loop."""

import numpy as np
import pytest

from jaxssl.eval.metrics import classification_metrics, top_k_accuracy


def test_hand_worked_case():
    # true: 0 0 0 1 1 2 ; predicted: 0 0 1 1 2 2
    labels = np.array([0, 0, 0, 1, 1, 2])
    scores = np.eye(3)[[0, 0, 1, 1, 2, 2]]
    m = classification_metrics(labels, scores, top_k=(1,))
    assert m["top1"] == pytest.approx(4 / 6)
    assert m["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    # class 0: P 2/2, R 2/3; class 1: P 1/2, R 1/2; class 2: P 1/2, R 1/1
    assert m["per_class"]["precision"] == pytest.approx([1.0, 0.5, 0.5])
    assert m["per_class"]["recall"] == pytest.approx([2 / 3, 0.5, 1.0])
    f1 = [2 * p * r / (p + r) for p, r in [(1.0, 2 / 3), (0.5, 0.5), (0.5, 1.0)]]
    assert m["per_class"]["f1"] == pytest.approx(f1)
    assert m["macro_f1"] == pytest.approx(np.mean(f1))
    assert m["macro_precision"] == pytest.approx(2 / 3)
    assert m["per_class"]["support"] == [3, 2, 1]


@pytest.mark.parametrize("k", [1, 2, 5])
def test_top_k_matches_loop(rng, k):
    scores = rng.normal(size=(50, 7))
    labels = rng.integers(0, 7, size=50)
    hits = 0
    for row, y in zip(scores, labels, strict=True):
        rank = sum(s > row[y] for s in row)  # classes scored strictly higher
        hits += rank < k
    assert top_k_accuracy(labels, scores, k) == pytest.approx(hits / 50)


def test_top_k_skipped_when_k_covers_every_class_and_errors():
    m = classification_metrics(np.array([0, 1]), np.eye(2), top_k=(1, 5))
    assert "top5" not in m and m["top1"] == 1.0
    with pytest.raises(ValueError, match=r"\[N, C\]"):
        top_k_accuracy(np.zeros(3), np.zeros((4, 2)), 1)
