"""A quick linear probe on frozen features with scikit-learn.

Logistic regression on standardised features: the classic linear evaluation
protocol in its cheapest form, good for monitoring a run on a small dataset.
The on-device probe trained with SGD (for ImageNet-scale features) comes with
the fine-tuning and evaluation module.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def sklearn_linear_probe(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    *,
    c: float = 1.0,
    max_iter: int = 2000,
) -> float:
    """Test accuracy of a logistic regression (L2, inverse strength ``c``) fitted on train.

    Args:
      train_x: features ``[N, F]``; standardised with train statistics before fitting.
      train_y: integer labels ``[N]``.
      test_x: features ``[M, F]``.
      test_y: labels ``[M]``.
      c: inverse regularisation strength (scikit-learn's ``C``).
      max_iter: L-BFGS iterations.
    """
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))
    model.fit(np.asarray(train_x, np.float64), np.asarray(train_y))
    return float(model.score(np.asarray(test_x, np.float64), np.asarray(test_y)))
