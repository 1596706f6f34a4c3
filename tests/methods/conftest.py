"""Shared data of the method tests: the bundled digits and random batches of them."""

import numpy as np
from sklearn.datasets import load_digits


def digit_images() -> np.ndarray:
    """scikit-learn's 1,797 digits as uint8 ``[N, 8, 8, 1]`` (0-16 scaled to 0-255)."""
    return np.round(load_digits().images * (255 / 16)).astype(np.uint8)[..., None]


def random_batches(images: np.ndarray, steps: int, batch: int, seed: int = 0) -> list[dict]:
    """``steps`` batches of ``batch`` distinct images each, with their indices (seeded)."""
    gen = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        index = gen.choice(len(images), batch, replace=False)
        out.append({"image": images[index], "index": index.astype(np.int64)})
    return out
