"""Host-side image work before a batch goes to the devices: resizing, one sample batch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def resize_center_crop(load_size: int, image_key: str) -> Callable[[dict], dict] | None:
    """A record transform: shorter side resized to ``load_size``, then a centre crop (PIL).

    For datasets whose images differ in size (``config.load_size``); None
    when ``load_size`` is 0 (images kept as stored).
    """
    if not load_size:
        return None
    from PIL import Image

    def transform(record):
        image = np.asarray(record[image_key])
        h, w = image.shape[:2]
        scale = load_size / min(h, w)
        size = (max(load_size, round(w * scale)), max(load_size, round(h * scale)))
        pil = Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image)
        resized = np.asarray(pil.resize(size, Image.BILINEAR))
        top, left = (resized.shape[0] - load_size) // 2, (resized.shape[1] - load_size) // 2
        crop = resized[top : top + load_size, left : left + load_size]
        return {**record, image_key: crop.reshape(load_size, load_size, -1)}

    return transform


def sample_batch(source, transform, image_key: str) -> dict:
    """A one-example batch of ``source``'s first record (shapes for ``init``), index 0."""
    record = dict(source[0])
    if transform is not None:
        record = transform(record)
    return {image_key: np.asarray(record[image_key])[None], "index": np.zeros((1,), np.int64)}
