"""Label propagation against Zhou et al.'s closed form with Iscen et al.'s graph, and on digits."""

import re

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.semi_supervised import LabelSpreading

from jaxssl.eval import knn_predict, label_propagation


def reference_scores(x, labels, labelled, num_classes, k, alpha, gamma):
    """Dense float64, loop by loop: Iscen et al. 2019 eq. (9)-(10), Zhou et al. 2004's solve."""
    n = len(x)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    w = np.zeros((n, n))
    for i in range(n):
        sims = {j: float(unit[i] @ unit[j]) for j in range(n) if j != i}
        for j in sorted(sims, key=sims.get, reverse=True)[:k]:
            w[i, j] = max(sims[j], 0.0) ** gamma
    w = w + w.T
    d = w.sum(axis=1)
    s = w / np.sqrt(np.outer(d, d))
    y = np.zeros((n, num_classes))
    for i in range(n):
        if labelled[i]:
            y[i, labels[i]] = 1.0
    return np.linalg.solve(np.eye(n) - alpha * s, y)


def test_scores_equal_the_closed_form(rng):
    n, c = 60, 3
    centres = rng.standard_normal((c, 6))
    labels = rng.integers(0, c, n)
    x = centres[labels] + 0.8 * rng.standard_normal((n, 6))
    labelled = np.zeros(n, bool)
    labelled[rng.choice(n, 9, replace=False)] = True
    # alpha 0.9 and enough iterations for CG to converge on 60 nodes; chunk 16
    # does not divide 60, so the padded last block is exercised
    out = label_propagation(
        x, labels, labelled, num_classes=c, k=5, alpha=0.9, gamma=3.0, max_iters=200, chunk_size=16
    )
    expected = reference_scores(x, labels, labelled, c, 5, 0.9, 3.0)
    np.testing.assert_allclose(
        out["scores"], expected, rtol=1e-3, atol=1e-4 * np.abs(expected).max()
    )
    np.testing.assert_array_equal(out["predictions"], expected.argmax(axis=1))


def test_beats_knn_from_the_labelled_examples_on_digits():
    # 1% of sklearn's bundled 8x8 digits labelled (18 of 1,797, two per class at most):
    # the unlabelled examples' structure should carry the labels further than
    # the labelled examples alone can (transductive, as in Zhou et al.)
    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    labelled = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), 2, replace=False) for c in range(10)]
    )
    rest = np.setdiff1d(np.arange(len(y)), labelled)
    out = label_propagation(x, y, labelled, num_classes=10, k=10)
    propagated = float(np.mean(out["predictions"][rest] == y[rest]))
    knn = knn_predict(x[labelled], y[labelled], x[rest], num_classes=10, k=1)
    knn_only = float(np.mean(np.asarray(knn) == y[rest]))
    assert propagated > knn_only + 0.05, (propagated, knn_only)
    # the peer: scikit-learn's Zhou et al. 2004 (0/1 kNN graph, same k and alpha)
    partial = np.full(len(y), -1)
    partial[labelled] = y[labelled]
    peer = LabelSpreading(kernel="knn", n_neighbors=10, alpha=0.99, max_iter=1000)
    peer_top1 = float(np.mean(peer.fit(x, partial).transduction_[rest] == y[rest]))
    assert propagated > peer_top1 - 0.02, (propagated, peer_top1)


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"labelled": np.zeros(4, bool)}, "at least one labelled example"),
        ({"k": 4}, "k must be an int in [1, N-1] = [1, 3], got 4"),
        ({"alpha": 1.0}, "alpha must be in (0, 1), got 1.0"),
        ({"labels": np.array([0, 5, 1, 1])}, "must be in [0, 2), got 0..5"),
    ],
)
def test_bad_input_is_named(change, fragment):
    args = {"labels": np.array([0, 0, 1, 1]), "labelled": np.array([0, 1]), "k": 1}
    args.update(change)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        label_propagation(
            np.eye(4), args.pop("labels"), args.pop("labelled"), num_classes=2, **args
        )
