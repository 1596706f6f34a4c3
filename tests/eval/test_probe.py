"""The scikit-learn probe: separable features are classified, label noise is not."""

from jaxssl.eval import sklearn_linear_probe


def test_separable_features_reach_full_accuracy(rng):
    centres = 5 * rng.normal(size=(4, 16))
    y_train, y_test = rng.integers(0, 4, size=200), rng.integers(0, 4, size=100)
    x_train = centres[y_train] + rng.normal(size=(200, 16))
    x_test = centres[y_test] + rng.normal(size=(100, 16))
    assert sklearn_linear_probe(x_train, y_train, x_test, y_test) >= 0.99


def test_labels_unrelated_to_features_stay_near_chance(rng):
    x_train, x_test = rng.normal(size=(200, 16)), rng.normal(size=(400, 16))
    y_train, y_test = rng.integers(0, 4, size=200), rng.integers(0, 4, size=400)
    assert sklearn_linear_probe(x_train, y_train, x_test, y_test) < 0.4  # chance is 0.25
