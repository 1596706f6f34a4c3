"""Evaluation of learned representations: kNN, probes, clustering, label propagation, metrics."""

from jaxssl.eval.cluster import cluster_accuracy, kmeans_scores
from jaxssl.eval.knn import knn_accuracy, knn_predict
from jaxssl.eval.metrics import classification_metrics, top_k_accuracy
from jaxssl.eval.probe import fit_linear, linear_probe, validation_split
from jaxssl.eval.propagation import knn_graph, label_propagation
from jaxssl.eval.pseudo import pseudo_label_sweep

__all__ = [
    "classification_metrics",
    "cluster_accuracy",
    "fit_linear",
    "kmeans_scores",
    "knn_accuracy",
    "knn_graph",
    "knn_predict",
    "label_propagation",
    "linear_probe",
    "pseudo_label_sweep",
    "top_k_accuracy",
    "validation_split",
]
