"""Image grids saved as PNG: reconstructions, samples of generative models."""

from __future__ import annotations

import os

import numpy as np


def image_grid(images, per_row: int = 8, pad: int = 1) -> np.ndarray:
    """``[N, H, W, C]`` floats in [0, 1] -> one uint8 picture ``[rows*(H+pad)+pad, ...]``.

    Images fill rows of ``per_row`` left to right, with ``pad`` white pixels
    between them; a last row that is not full stays white.
    """
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"images must have shape [N, H, W, C] with N > 0, got {images.shape}.")
    if per_row < 1:
        raise ValueError(f"per_row must be >= 1, got {per_row}.")
    n, h, w, c = images.shape
    rows = -(-n // per_row)
    grid = np.ones((rows * (h + pad) + pad, per_row * (w + pad) + pad, c), np.float32)
    for i, image in enumerate(np.clip(images, 0.0, 1.0)):
        top, left = pad + (i // per_row) * (h + pad), pad + (i % per_row) * (w + pad)
        grid[top : top + h, left : left + w] = image
    return np.round(grid * 255).astype(np.uint8)


def save_grid(path: str, images, per_row: int = 8, scale: int = 1) -> str:
    """Writes :func:`image_grid` of ``images`` to ``path`` as PNG, pixels ``scale`` x ``scale``."""
    from PIL import Image

    grid = image_grid(images, per_row)
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    picture = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    picture.save(path, format="PNG")
    return path
