"""Pseudo-labelling: who is accepted at each threshold, and what that does to the student."""

import numpy as np

from jaxssl.eval import pseudo_label_sweep


def test_sweep_counts_and_gains(rng):
    # Four overlapping Gaussian classes; two labelled examples per class.
    centres = rng.normal(size=(4, 8))
    labels = rng.integers(0, 4, size=400)
    features = centres[labels] + rng.normal(size=(400, 8))
    test_y = rng.integers(0, 4, size=400)
    test_x = centres[test_y] + rng.normal(size=(400, 8))
    labelled = np.concatenate([np.flatnonzero(labels == c)[:2] for c in range(4)])
    # A teacher that is right on 90% of the examples, confident (0.9) when right, unsure
    # (0.4) when wrong: a threshold of 0.5 keeps exactly the right ones.
    wrong = rng.random(400) < 0.1
    guess = np.where(wrong, (labels + 1) % 4, labels)
    top = np.where(wrong, 0.4, 0.9)
    probs = np.tile(((1 - top) / 3)[:, None], (1, 4))
    probs[np.arange(400), guess] = top

    out = pseudo_label_sweep(
        features, labels, labelled, probs, test_x, test_y, thresholds=(0.3, 0.5, 0.95), epochs=30
    )
    low, mid, high = out["rows"]
    unlabelled = np.setdiff1d(np.arange(400), labelled)
    assert low["pseudo_labelled"] == len(unlabelled)  # every top probability is >= 0.4
    assert mid["pseudo_labelled"] == int(np.sum(~wrong[unlabelled]))
    assert mid["pseudo_label_accuracy"] == 1.0
    expected_low = np.mean(~wrong[unlabelled])
    assert abs(low["pseudo_label_accuracy"] - expected_low) < 1e-12
    assert high["pseudo_labelled"] == 0 and high["pseudo_label_accuracy"] is None
    # nothing accepted: the student is the labelled-only one
    assert high["top1"] == out["labelled_only_top1"]
    # 8 labels vs 8 + ~350 correct ones: the student gains
    assert mid["top1"] > out["labelled_only_top1"] + 0.05, out
