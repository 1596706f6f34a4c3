"""A small CNN for 8x8 to 32x32 images, as encoder or classifier.

The layout of the classic Keras image-classifier example: 3x3 conv blocks of
32, 64 and 128 channels, each followed by 2x2 max-pooling, then a dense layer
of 512 units.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxssl.models._common import Conv, max_pool_2x2


class SmallCNN(nn.Module):
    """Conv(3x3)+ReLU+MaxPool(2x2) per entry of ``features``, then Dense(512)+ReLU.

    Pooling uses ``'SAME'`` padding, so an 8x8 input goes 8 -> 4 -> 2 -> 1.

    Attributes:
      features: conv widths, one pooled block each.
      dense_features: width of the dense layer (the encoder's output size).
      num_classes: final dense layer; ``None`` returns the ``dense_features`` encoding.
      dropout_rate: dropout before the classifier while training (needs a
        ``'dropout'`` RNG when > 0).
      dtype: computation dtype.
      param_dtype: parameter dtype.
    """

    features: Sequence[int] = (32, 64, 128)
    dense_features: int = 512
    num_classes: int | None = None
    dropout_rate: float = 0.0
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool):
        """Images ``[B, H, W, C]`` -> ``[B, dense_features]`` or logits ``[B, num_classes]``."""
        x = jnp.asarray(x, self.dtype)
        for width in self.features:
            x = Conv(width, (3, 3), dtype=self.dtype, param_dtype=self.param_dtype)(x)
            x = max_pool_2x2(nn.relu(x), "SAME")
        x = x.reshape(x.shape[0], -1)
        x = nn.relu(
            nn.Dense(self.dense_features, dtype=self.dtype, param_dtype=self.param_dtype)(x)
        )
        if self.num_classes is None:
            return x
        x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
        return nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=self.param_dtype)(x)
