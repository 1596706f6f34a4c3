"""Clustering evaluation of frozen features: k-means, NMI, ARI and cluster accuracy.

k-means, NMI and ARI are scikit-learn's. Cluster accuracy (the fraction of
examples whose cluster, mapped one-to-one to a class, is their class; the
best mapping is found with the Hungarian algorithm, as in Xie et al. 2016)
is not in scikit-learn; it is a few lines on top of SciPy's
``linear_sum_assignment``.
"""

from __future__ import annotations

import numpy as np


def cluster_accuracy(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Accuracy under the best one-to-one map from cluster ids to labels.

    Example:
      >>> cluster_accuracy(np.array([0, 0, 1, 1, 2]), np.array([5, 5, 3, 3, 3]))
      0.8
    """
    labels, clusters = np.asarray(labels), np.asarray(clusters)
    if labels.shape != clusters.shape or labels.ndim != 1:
        raise ValueError(
            f"labels and clusters must be 1-D of the same length, got {labels.shape} "
            f"and {clusters.shape}."
        )
    from scipy.optimize import linear_sum_assignment  # imported when used: see kmeans_scores

    label_ids, label_idx = np.unique(labels, return_inverse=True)
    cluster_ids, cluster_idx = np.unique(clusters, return_inverse=True)
    counts = np.zeros((len(cluster_ids), len(label_ids)), np.int64)
    np.add.at(counts, (cluster_idx, label_idx), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(labels))


def kmeans_scores(
    features: np.ndarray, labels: np.ndarray, *, num_clusters: int | None = None, seed: int = 0
) -> dict[str, float]:
    """k-means (k = number of classes by default) on L2-normalised features, scored against labels.

    Returns ``kmeans_acc`` (Hungarian-matched accuracy), ``kmeans_nmi`` and ``kmeans_ari``.
    """
    # imported here: scikit-learn takes about a second to import, which every
    # train.py start would otherwise pay before it trains
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    features = np.asarray(features, np.float64)
    features = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    k = num_clusters or len(np.unique(labels))
    clusters = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(features)
    return {
        "kmeans_acc": cluster_accuracy(labels, clusters),
        "kmeans_nmi": float(normalized_mutual_info_score(labels, clusters)),
        "kmeans_ari": float(adjusted_rand_score(labels, clusters)),
    }
