"""Label fractions: class-balanced, deterministic, nested; Subset indexing."""

import numpy as np
import pytest

from jaxssl.data import Subset, label_fraction


@pytest.fixture
def labels(rng):
    # Unequal classes, shuffled: 10 classes of 60..105 examples.
    return rng.permutation(np.repeat(np.arange(10), np.arange(60, 110, 5)))


def test_balanced_deterministic_nested(labels):
    n = len(labels)
    one, ten = label_fraction(labels, 0.01, seed=3), label_fraction(labels, 0.1, seed=3)
    per_class_one, per_class_ten = round(0.01 * n / 10), round(0.1 * n / 10)
    assert np.all(np.bincount(labels[one], minlength=10) == per_class_one)
    assert np.all(np.bincount(labels[ten], minlength=10) == per_class_ten)
    assert np.array_equal(one, label_fraction(labels, 0.01, seed=3))  # same call, same subset
    assert set(one) <= set(ten)  # nested
    assert len(np.unique(ten)) == len(ten) and np.all(np.diff(ten) > 0)  # sorted, no repeats
    assert not np.array_equal(ten, label_fraction(labels, 0.1, seed=4))  # the seed matters
    assert np.array_equal(label_fraction(labels, 1.0), np.arange(n))


def test_small_classes_give_what_they_have():
    labels = np.array([0] * 50 + [1] * 2)
    subset = label_fraction(labels, 0.5)  # 13 per class asked; class 1 has 2
    assert np.bincount(labels[subset]).tolist() == [13, 2]
    assert len(label_fraction(labels, 1e-4)) == 2  # at least one per class


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_bad_fraction(fraction):
    with pytest.raises(ValueError, match="fraction must be in"):
        label_fraction(np.zeros(10, np.int64), fraction)


def test_bad_labels():
    with pytest.raises(ValueError, match="labels must be 1-D integers"):
        label_fraction(np.zeros((2, 5), np.int64), 0.5)
    with pytest.raises(ValueError, match="labels must be 1-D integers"):
        label_fraction(np.zeros(5, np.float32), 0.5)


def test_subset_indexes_the_source():
    source = [{"label": i} for i in range(10)]
    subset = Subset(source, [7, 2, 5])
    assert len(subset) == 3 and [subset[i]["label"] for i in range(3)] == [7, 2, 5]
    with pytest.raises(ValueError, match="indices must be"):
        Subset(source, [3, 10])
