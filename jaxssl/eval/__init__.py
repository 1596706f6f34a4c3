"""Evaluation of learned representations: kNN, linear probe, clustering, classification metrics."""

from jaxssl.eval.cluster import cluster_accuracy, kmeans_scores
from jaxssl.eval.knn import knn_accuracy, knn_predict
from jaxssl.eval.metrics import classification_metrics, top_k_accuracy
from jaxssl.eval.probe import sklearn_linear_probe

__all__ = [
    "classification_metrics",
    "cluster_accuracy",
    "kmeans_scores",
    "knn_accuracy",
    "knn_predict",
    "sklearn_linear_probe",
    "top_k_accuracy",
]
