"""Weighted kNN (Wu et al. 2018) against a loop written from the formula."""

import numpy as np
import pytest

from jaxssl.eval import knn_accuracy, knn_predict


def _reference(bank, labels, queries, k, tau, num_classes):
    bank = bank / np.linalg.norm(bank, axis=1, keepdims=True)
    out = []
    for q in queries:
        q = q / np.linalg.norm(q)
        sims = bank @ q
        nearest = np.argsort(-sims, kind="stable")[:k]
        votes = np.zeros(num_classes)
        for j in nearest:
            votes[labels[j]] += np.exp(sims[j] / tau)
        out.append(int(np.argmax(votes)))
    return np.array(out)


@pytest.mark.parametrize(
    ("m", "q", "k", "tau", "chunk"),
    [(50, 7, 5, 0.07, 3), (200, 64, 20, 0.5, 64), (10, 3, 50, 0.1, 256)],
)
def test_matches_reference(rng, m, q, k, tau, chunk):
    classes = 4
    centres = rng.normal(size=(classes, 16))
    labels = rng.integers(0, classes, size=m)
    bank = centres[labels] + 1.5 * rng.normal(size=(m, 16))
    queries = centres[rng.integers(0, classes, size=q)] + 1.5 * rng.normal(size=(q, 16))
    got = knn_predict(
        bank.astype(np.float32),
        labels,
        queries.astype(np.float32),
        num_classes=classes,
        k=k,
        temperature=tau,
        chunk_size=chunk,
    )
    want = _reference(bank, labels, queries, min(k, m), tau, classes)
    np.testing.assert_array_equal(np.asarray(got), want)


def test_weights_decide_against_majority():
    # two far neighbours of class 1 against one very close neighbour of class 0:
    # a plain majority vote says 1; exp(sim/0.05) weighting says 0.
    bank = np.array([[1.0, 0.0], [0.6, 0.8], [0.6, -0.8]], np.float32)
    labels = np.array([0, 1, 1])
    query = np.array([[1.0, 0.01]], np.float32)
    assert int(knn_predict(bank, labels, query, num_classes=2, k=3, temperature=0.05)[0]) == 0
    assert int(knn_predict(bank, labels, query, num_classes=2, k=3, temperature=100.0)[0]) == 1


def test_accuracy_and_errors(rng):
    bank = rng.normal(size=(20, 4)).astype(np.float32)
    labels = rng.integers(0, 3, size=20)
    assert knn_accuracy(bank, labels, bank, labels, num_classes=3, k=1) == 1.0
    with pytest.raises(ValueError, match="bank_labels must have shape"):
        knn_predict(bank, labels[:5], bank, num_classes=3)
    with pytest.raises(ValueError, match=r"\[M, F\] and \[Q, F\]"):
        knn_predict(bank, labels, bank[:, :2], num_classes=3)


def test_cpu_selects_with_top_k_not_a_full_sort():
    # XLA:CPU lowers lax.top_k to its TopK call only while nothing slices the
    # sorted values; otherwise it sorts each query's whole row of bank
    # similarities, 20x slower at a 60,000 bank (benchmarks/bench_knn.py).
    import jax
    import jax.numpy as jnp

    if jax.devices()[0].platform != "cpu":
        pytest.skip("the TopK call is XLA:CPU's")
    bank, labels = jnp.ones((300, 8)), jnp.zeros((300,), jnp.int32)
    hlo = knn_predict.lower(bank, labels, bank[:16], num_classes=2, k=5).compile().as_text()
    assert 'custom_call_target="TopK"' in hlo
    assert " sort(" not in hlo
