"""The on-device linear probe: separable features, label noise, the weight-decay choice."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from jaxssl.eval import linear_probe, validation_split


def test_separable_features_reach_full_accuracy(rng):
    centres = 5 * rng.normal(size=(4, 16))
    y_train, y_test = rng.integers(0, 4, size=200), rng.integers(0, 4, size=100)
    x_train = centres[y_train] + rng.normal(size=(200, 16))
    x_test = centres[y_test] + rng.normal(size=(100, 16))
    results, logits = linear_probe(x_train, y_train, x_test, y_test, epochs=30)
    assert results["top1"] >= 0.99
    assert logits.shape == (100, 4)
    # every candidate was scored on the held-out part and the best one kept
    assert set(results["val_top1"]) == {"0.0", "1e-05", "0.0001", "0.001", "0.01"}
    best = max(results["val_top1"].values())
    assert results["val_top1"][str(results["weight_decay"])] == best
    assert np.asarray(results["metrics"]["confusion"]).sum() == 100


def test_labels_unrelated_to_features_stay_near_chance(rng):
    x_train, x_test = rng.normal(size=(200, 16)), rng.normal(size=(400, 16))
    y_train, y_test = rng.integers(0, 4, size=200), rng.integers(0, 4, size=400)
    results, _ = linear_probe(x_train, y_train, x_test, y_test, epochs=30)
    assert results["top1"] < 0.4  # chance is 0.25


def test_agrees_with_scikit_learn_on_digits():
    """Same model family as a converged L-BFGS logistic regression: within 2 points on digits."""
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )
    results, _ = linear_probe(x_train, y_train, x_test, y_test, weight_decays=(1e-4,), epochs=50)
    reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    sk = reference.fit(x_train, y_train).score(x_test, y_test)
    assert sk > 0.95 and abs(results["top1"] - sk) <= 0.02, (results["top1"], sk)
    assert results["top5"] > results["top1"]


def test_validation_split_is_stratified_and_disjoint():
    labels = np.repeat(np.arange(5), 20)
    fit, val = validation_split(labels, 0.2, seed=1)
    assert len(set(fit) & set(val)) == 0 and len(fit) + len(val) == 100
    assert np.bincount(labels[val]).tolist() == [4] * 5
    _, val_again = validation_split(labels, 0.2, seed=1)
    assert np.array_equal(val, val_again)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weight_decays": ()}, "weight_decays"),
        ({"weight_decays": (-1.0,)}, "weight_decays"),
        ({"val_fraction": 1.0}, "val_fraction"),
    ],
)
def test_bad_arguments(rng, kwargs, match):
    x, y = rng.normal(size=(20, 3)), rng.integers(0, 2, size=20)
    with pytest.raises(ValueError, match=match):
        linear_probe(x, y, x, y, **kwargs)


def test_bad_shapes(rng):
    with pytest.raises(ValueError, match="train_x and test_x"):
        linear_probe(rng.normal(size=(10, 3)), np.zeros(10), rng.normal(size=(5, 4)), np.zeros(5))
    with pytest.raises(ValueError, match="one label per row"):
        linear_probe(rng.normal(size=(10, 3)), np.zeros(9), rng.normal(size=(5, 3)), np.zeros(5))


def test_probe_epochs_are_capped_by_max_steps():
    from jaxssl.programs._common import probe_epochs
    from jaxssl.train.config import default_config

    probe = default_config().eval.probe  # 100 epochs, batch 256, at most 10,000 steps
    assert probe_epochs(probe, 1_442) == 100  # 5 steps an epoch: 500 steps
    assert probe_epochs(probe, 60_000) == 42  # 234 an epoch: 42 * 234 = 9,828 <= 10,000
    probe.max_steps = 0  # no cap
    assert probe_epochs(probe, 60_000) == 100
    probe.max_steps, probe.batch_size = 10, 1
    assert probe_epochs(probe, 1_000) == 1  # never below one pass
