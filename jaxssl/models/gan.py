"""DCGAN generator and discriminator (Radford et al. 2016), sized from the image shape.

For square images of side ``S`` (a power of two, 8 to 64 and beyond) both
networks have ``log2(S / 4)`` stride-2 stages between a 4x4 map and the
image: 8x8 digits get one, 32x32 three, 64x64 four (the paper's layout).
Widths double towards the 4x4 end from ``base_features``. The generator ends
in ``tanh`` (images in [-1, 1]); the discriminator returns one logit per
image, for ``losses.gan_discriminator_loss`` / ``gan_generator_loss``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxssl.models._common import Conv, ConvTranspose, batch_norm, check_image_shape


def _stages(image_shape: Sequence[int]) -> int:
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (H, W, C), got {tuple(image_shape)!r}.")
    h, w, _ = image_shape
    if h != w or h < 8 or h & (h - 1):
        raise ValueError(
            f"image_shape must be square with a power-of-two side >= 8, got {tuple(image_shape)!r}."
        )
    return int(math.log2(h // 4))


class DCGANGenerator(nn.Module):
    """Latent ``[B, latent_dim]`` -> images ``[B, H, W, C]`` in [-1, 1].

    Dense to a 4x4 map, then per stage ConvTranspose(4x4, stride 2) with
    BatchNorm and ReLU, the last one to ``C`` channels and ``tanh``.

    Attributes:
      image_shape: ``(H, W, C)``.
      base_features: width next to the image; doubles per stage towards 4x4.
      bn_momentum: running-average decay of the BatchNorm statistics.
      axis_name: pmap/shard_map axis for cross-replica BatchNorm statistics.
      dtype: computation dtype.
      param_dtype: parameter dtype.
    """

    image_shape: Sequence[int]
    base_features: int = 64
    bn_momentum: float = 0.9
    axis_name: Hashable | None = None
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, z, train: bool):
        """Latents -> images."""
        n = _stages(self.image_shape)
        kw = {"dtype": self.dtype, "param_dtype": self.param_dtype}
        width = self.base_features * 2 ** (n - 1)
        x = nn.Dense(4 * 4 * width, use_bias=False, **kw)(jnp.asarray(z, self.dtype))
        x = nn.relu(batch_norm(self, train)(x.reshape(z.shape[0], 4, 4, width)))
        for _ in range(n - 1):
            width //= 2
            x = ConvTranspose(width, (4, 4), strides=(2, 2), use_bias=False, **kw)(x)
            x = nn.relu(batch_norm(self, train)(x))
        x = ConvTranspose(self.image_shape[-1], (4, 4), strides=(2, 2), **kw)(x)
        return jnp.tanh(x)


class DCGANDiscriminator(nn.Module):
    """Images ``[B, H, W, C]`` -> logits ``[B]``.

    Per stage Conv(4x4, stride 2) and LeakyReLU(0.2), with BatchNorm on all
    but the first, down to 4x4; then a dense layer to one logit.

    Attributes:
      image_shape: ``(H, W, C)``.
      base_features: width of the first stage; doubles per stage.
      bn_momentum: running-average decay of the BatchNorm statistics.
      axis_name: pmap/shard_map axis for cross-replica BatchNorm statistics.
      dtype: computation dtype.
      param_dtype: parameter dtype.
    """

    image_shape: Sequence[int]
    base_features: int = 64
    bn_momentum: float = 0.9
    axis_name: Hashable | None = None
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool, return_features: bool = False):
        """Images -> one logit each; with ``return_features`` also the flattened last map."""
        n = _stages(self.image_shape)
        check_image_shape(x, self.image_shape)
        kw = {"dtype": self.dtype, "param_dtype": self.param_dtype}
        x = jnp.asarray(x, self.dtype)
        for stage in range(n):
            x = Conv(self.base_features * 2**stage, (4, 4), strides=(2, 2), **kw)(x)
            if stage > 0:
                x = batch_norm(self, train)(x)
            x = nn.leaky_relu(x, 0.2)
        features = x.reshape(x.shape[0], -1)
        logits = nn.Dense(1, **kw)(features)[:, 0]
        return (logits, features) if return_features else logits
