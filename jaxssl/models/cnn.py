"""A small CNN for 8x8 to 32x32 images, as encoder or classifier.

The layout of the classic Keras image-classifier example: 3x3 conv blocks of
32, 64 and 128 channels, each followed by 2x2 max-pooling, then a dense layer
of 512 units. Optionally BatchNorm after each conv and, in place of the
flatten and dense layer, global average pooling (the representation a
ResNet hands its probes).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxssl.models._common import Conv, batch_norm, check_choice, max_pool_2x2

POOLS = ("flatten", "mean")


class SmallCNN(nn.Module):
    """Conv(3x3)+ReLU+MaxPool(2x2) per entry of ``features``, then Dense(512)+ReLU.

    Pooling uses ``'SAME'`` padding, so an 8x8 input goes 8 -> 4 -> 2 -> 1.

    Attributes:
      features: conv widths, one pooled block each.
      dense_features: width of the dense layer (the encoder's output size);
        0: no dense layer, the pooled features are the output.
      batch_norm: BatchNorm between each conv and its ReLU (batch statistics
        while training).
      pool: how the last conv block becomes a vector: ``'flatten'`` (every
        position) or ``'mean'`` (global average pooling; ``features[-1]``
        wide without a dense layer).
      axis_name: pmap/shard_map axis for cross-replica BatchNorm statistics.
      bn_momentum: running-average decay of the BatchNorm statistics.
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
    batch_norm: bool = False
    pool: str = "flatten"
    axis_name: Hashable | None = None
    bn_momentum: float = 0.9
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool):
        """Images ``[B, H, W, C]`` -> features ``[B, F]`` or logits ``[B, num_classes]``.

        ``F`` is ``dense_features``, or without the dense layer the last conv
        width (``pool='mean'``) or every position of it (``'flatten'``).
        """
        check_choice(self.pool, "pool", POOLS)
        x = jnp.asarray(x, self.dtype)
        for width in self.features:
            # A conv's bias is redundant before BatchNorm's shift.
            x = Conv(
                width,
                (3, 3),
                use_bias=not self.batch_norm,
                dtype=self.dtype,
                param_dtype=self.param_dtype,
            )(x)
            if self.batch_norm:
                x = batch_norm(self, train)(x)
            x = max_pool_2x2(nn.relu(x), "SAME")
        if self.pool == "mean":
            x = x.mean(axis=(1, 2))
        else:
            x = x.reshape(x.shape[0], -1)
        if self.dense_features:
            x = nn.relu(
                nn.Dense(self.dense_features, dtype=self.dtype, param_dtype=self.param_dtype)(x)
            )
        if self.num_classes is None:
            return x
        x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
        return nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=self.param_dtype)(x)
