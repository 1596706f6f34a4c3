"""ResNet v1.5 (He et al. 2016; the stride on the bottleneck's 3x3 conv), ImageNet or CIFAR stem.

``ResNet18`` ... ``ResNet152`` are ``functools.partial`` variants. With
``num_classes=None`` the network returns the globally average-pooled features
(``[B, 512 * width]`` for ResNet-18/34, ``[B, 2048 * width]`` for 50 and up),
which is what contrastive methods put a projection head on.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from functools import partial
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxssl.models._common import Conv, batch_norm, check_choice

STEMS = ("imagenet", "cifar")


class BasicBlock(nn.Module):
    """Two 3x3 convs (ResNet-18/34); a 1x1 projection when the shape changes."""

    features: int
    strides: int = 1
    zero_init_last_bn: bool = False
    axis_name: Hashable | None = None
    bn_momentum: float = 0.9
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool):  # noqa: D102
        conv = partial(Conv, use_bias=False, dtype=self.dtype, param_dtype=self.param_dtype)
        norm = partial(batch_norm, self, train)
        y = conv(self.features, (3, 3), self.strides, padding=1)(x)
        y = nn.relu(norm()(y))
        y = conv(self.features, (3, 3), padding=1)(y)
        y = norm(zero_scale=self.zero_init_last_bn)(y)
        return nn.relu(y + _shortcut(self, x, self.features, conv, norm))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carrying the stride: v1.5), 1x1 expand by 4 (ResNet-50 and up)."""

    features: int
    strides: int = 1
    zero_init_last_bn: bool = False
    axis_name: Hashable | None = None
    bn_momentum: float = 0.9
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32
    expansion = 4

    @nn.compact
    def __call__(self, x, train: bool):  # noqa: D102
        conv = partial(Conv, use_bias=False, dtype=self.dtype, param_dtype=self.param_dtype)
        norm = partial(batch_norm, self, train)
        y = nn.relu(norm()(conv(self.features, (1, 1))(x)))
        y = nn.relu(norm()(conv(self.features, (3, 3), self.strides, padding=1)(y)))
        y = conv(self.features * self.expansion, (1, 1))(y)
        y = norm(zero_scale=self.zero_init_last_bn)(y)
        return nn.relu(y + _shortcut(self, x, self.features * self.expansion, conv, norm))


def _shortcut(block, x, out_features, conv, norm):
    if x.shape[-1] == out_features and block.strides == 1:
        return x
    return norm()(conv(out_features, (1, 1), block.strides)(x))


class ResNet(nn.Module):
    """ResNet v1.5 on NHWC images.

    Attributes:
      stage_sizes: blocks per stage, e.g. ``(2, 2, 2, 2)`` for ResNet-18.
      block_cls: :class:`BasicBlock` or :class:`Bottleneck`.
      num_classes: size of the final dense layer; ``None`` returns pooled features.
      width_multiplier: multiplies every width (SimCLR's ResNet-50 (2x), (4x)).
      stem: ``'imagenet'`` (7x7 conv stride 2, 3x3 max-pool stride 2) or
        ``'cifar'`` (3x3 conv stride 1, no max-pool) for 32x32 and smaller.
      zero_init_last_bn: start each block's last BatchNorm scale at 0, so
        every residual block is the identity at initialisation (Goyal et al. 2017).
      axis_name: pmap/shard_map axis for cross-replica BatchNorm statistics.
      bn_momentum: running-average decay of the BatchNorm statistics.
      dtype: computation dtype (e.g. ``jnp.bfloat16``); BatchNorm statistics
        stay float32.
      param_dtype: parameter dtype.
    """

    stage_sizes: Sequence[int]
    block_cls: type[nn.Module]
    num_classes: int | None = None
    width_multiplier: int = 1
    stem: str = "imagenet"
    zero_init_last_bn: bool = False
    axis_name: Hashable | None = None
    bn_momentum: float = 0.9
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool):
        """Images ``[B, H, W, C]`` -> logits ``[B, num_classes]`` or features ``[B, F]``."""
        check_choice(self.stem, "stem", STEMS)
        width = 64 * self.width_multiplier
        conv = partial(Conv, use_bias=False, dtype=self.dtype, param_dtype=self.param_dtype)
        x = jnp.asarray(x, self.dtype)
        if self.stem == "imagenet":
            x = conv(width, (7, 7), 2, padding=3, name="stem_conv")(x)
        else:
            x = conv(width, (3, 3), 1, padding=1, name="stem_conv")(x)
        x = nn.relu(batch_norm(self, train, name="stem_bn")(x))
        if self.stem == "imagenet":
            x = nn.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
        for stage, n_blocks in enumerate(self.stage_sizes):
            for i in range(n_blocks):
                x = self.block_cls(
                    features=width * 2**stage,
                    strides=2 if stage > 0 and i == 0 else 1,
                    zero_init_last_bn=self.zero_init_last_bn,
                    axis_name=self.axis_name,
                    bn_momentum=self.bn_momentum,
                    dtype=self.dtype,
                    param_dtype=self.param_dtype,
                    name=f"stage{stage + 1}_block{i + 1}",
                )(x, train)
        x = jnp.mean(x, axis=(1, 2))
        if self.num_classes is None:
            return x
        return nn.Dense(
            self.num_classes, dtype=self.dtype, param_dtype=self.param_dtype, name="head"
        )(x)


ResNet18 = partial(ResNet, stage_sizes=(2, 2, 2, 2), block_cls=BasicBlock)
ResNet34 = partial(ResNet, stage_sizes=(3, 4, 6, 3), block_cls=BasicBlock)
ResNet50 = partial(ResNet, stage_sizes=(3, 4, 6, 3), block_cls=Bottleneck)
ResNet101 = partial(ResNet, stage_sizes=(3, 4, 23, 3), block_cls=Bottleneck)
ResNet152 = partial(ResNet, stage_sizes=(3, 8, 36, 3), block_cls=Bottleneck)
