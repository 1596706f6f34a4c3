"""Cluster accuracy against brute force over every cluster-to-class map; k-means end to end."""

import itertools

import numpy as np
import pytest

from jaxssl.eval.cluster import cluster_accuracy, kmeans_scores


def _brute_force(labels, clusters):
    """Best accuracy over every one-to-one map from cluster ids to class ids (small k only)."""
    classes, ids = sorted(set(labels)), sorted(set(clusters))
    best = 0
    targets = classes + [None] * max(0, len(ids) - len(classes))
    for perm in itertools.permutations(targets, len(ids)):
        mapping = dict(zip(ids, perm, strict=True))
        best = max(best, sum(mapping[c] == y for c, y in zip(clusters, labels, strict=True)))
    return best / len(labels)


@pytest.mark.parametrize("num_clusters", [3, 4, 5])
def test_matches_brute_force(rng, num_clusters):
    for _ in range(5):
        labels = rng.integers(0, 4, size=40)
        clusters = rng.integers(0, num_clusters, size=40)
        assert cluster_accuracy(labels, clusters) == pytest.approx(_brute_force(labels, clusters))


def test_perfect_under_any_permutation(rng):
    labels = np.repeat(np.arange(5), 7)
    for _ in range(10):
        perm = rng.permutation(5) + 10  # ids need not be 0..k-1
        assert cluster_accuracy(labels, perm[labels]) == 1.0


def test_bad_shapes():
    with pytest.raises(ValueError, match="same length"):
        cluster_accuracy(np.zeros(3), np.zeros(4))


def test_kmeans_recovers_separated_blobs(rng):
    centres = 10 * np.eye(6)[:3]
    labels = np.repeat(np.arange(3), 30)
    features = centres[labels] + 0.1 * rng.normal(size=(90, 6))
    scores = kmeans_scores(features, labels)
    assert scores == {"kmeans_acc": 1.0, "kmeans_nmi": pytest.approx(1.0), "kmeans_ari": 1.0}
    noise = kmeans_scores(rng.normal(size=(90, 6)), labels)
    assert noise["kmeans_acc"] < 0.7 and noise["kmeans_nmi"] < 0.2
