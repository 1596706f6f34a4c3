"""Heads on top of an encoder: SimCLR projection, BYOL/SimSiam prediction, linear classifier."""

from __future__ import annotations

from collections.abc import Hashable
from functools import partial
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxssl.models._common import batch_norm, check_positive_int


class ProjectionHead(nn.Module):
    """MLP projection head: ``num_layers`` dense layers, ReLU between them.

    SimCLR v1 (Chen et al. 2020a): two layers, no BatchNorm
    (:data:`SimCLRv1Head`). SimCLR v2 (Chen et al. 2020b): three layers with
    BatchNorm after every dense layer, the last one without ReLU
    (:data:`SimCLRv2Head`). Dense layers that BatchNorm follows have no bias.

    Attributes:
      hidden_dim: width of the hidden layers.
      output_dim: embedding width the loss sees.
      num_layers: dense layers (>= 1).
      use_bn: BatchNorm after each dense layer.
      axis_name: pmap/shard_map axis for cross-replica BatchNorm statistics.
      bn_momentum: running-average decay.
      dtype: computation dtype.
      param_dtype: parameter dtype.
    """

    hidden_dim: int = 2048
    output_dim: int = 128
    num_layers: int = 2
    use_bn: bool = False
    axis_name: Hashable | None = None
    bn_momentum: float = 0.9
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool):
        """Features ``[B, F]`` -> embeddings ``[B, output_dim]``."""
        check_positive_int(self.num_layers, "num_layers")
        for i in range(self.num_layers):
            last = i == self.num_layers - 1
            x = nn.Dense(
                self.output_dim if last else self.hidden_dim,
                use_bias=not self.use_bn,
                dtype=self.dtype,
                param_dtype=self.param_dtype,
            )(x)
            if self.use_bn:
                x = batch_norm(self, train)(x)
            if not last:
                x = nn.relu(x)
        return x


SimCLRv1Head = partial(ProjectionHead, num_layers=2, use_bn=False)
SimCLRv2Head = partial(ProjectionHead, num_layers=3, use_bn=True)


class PredictionHead(nn.Module):
    """BYOL / SimSiam predictor: Dense -> BatchNorm -> ReLU -> Dense.

    BYOL (Grill et al. 2020): hidden 4096, output 256 (the defaults). SimSiam
    (Chen & He 2021): a 512-wide bottleneck, output 2048.

    Attributes:
      hidden_dim: bottleneck width.
      output_dim: output width (the projection's width).
      axis_name: pmap/shard_map axis for cross-replica BatchNorm statistics.
      bn_momentum: running-average decay.
      dtype: computation dtype.
      param_dtype: parameter dtype.
    """

    hidden_dim: int = 4096
    output_dim: int = 256
    axis_name: Hashable | None = None
    bn_momentum: float = 0.9
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool):
        """Projections ``[B, P]`` -> predictions ``[B, output_dim]``."""
        kw = {"dtype": self.dtype, "param_dtype": self.param_dtype}
        x = nn.Dense(self.hidden_dim, use_bias=False, **kw)(x)
        x = nn.relu(batch_norm(self, train)(x))
        return nn.Dense(self.output_dim, **kw)(x)


class LinearClassifier(nn.Module):
    """One dense layer on (usually frozen) features: the linear-evaluation protocol.

    Attributes:
      num_classes: number of classes.
      dtype: computation dtype.
      param_dtype: parameter dtype.
    """

    num_classes: int
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        """Features ``[B, F]`` -> logits ``[B, num_classes]``; ``train`` is accepted and unused."""
        del train
        return nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=self.param_dtype)(x)
