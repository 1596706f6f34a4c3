"""Evaluation of learned representations: kNN (more with the evaluation issue)."""

from jaxssl.eval.knn import knn_accuracy, knn_predict

__all__ = ["knn_accuracy", "knn_predict"]
