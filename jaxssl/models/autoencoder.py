"""Convolutional autoencoder and VAE (Kingma & Welling 2014) for small images.

Both decoders return logits: pair them with
``losses.reconstruction_loss(..., kind='bce_logits')`` (or
``losses.vae_elbo``) on images scaled to [0, 1], and apply ``jax.nn.sigmoid``
to see images. Height and width must be divisible by ``2 ** len(features)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxssl.models._common import Conv, ConvTranspose, check_image_shape, max_pool_2x2


def _check_divisible(shape, n_down: int) -> None:
    f = 2**n_down
    if len(shape) != 4 or shape[1] % f or shape[2] % f:
        raise ValueError(
            f"images must have shape [B, H, W, C] with H and W divisible by {f} "
            f"(2 ** len(features)), got shape {tuple(shape)}."
        )


class _ConvEncoder(nn.Module):
    features: Sequence[int]
    dtype: Any
    param_dtype: Any

    @nn.compact
    def __call__(self, x):
        for width in self.features:
            x = Conv(width, (3, 3), dtype=self.dtype, param_dtype=self.param_dtype)(x)
            x = max_pool_2x2(nn.relu(x), "VALID")
        return x


class _ConvDecoder(nn.Module):
    features: Sequence[int]  # encoder widths; walked back in reverse
    channels: int
    dtype: Any
    param_dtype: Any

    @nn.compact
    def __call__(self, x):
        kw = {"dtype": self.dtype, "param_dtype": self.param_dtype}
        for width in reversed(self.features):
            x = nn.relu(ConvTranspose(width, (3, 3), strides=(2, 2), **kw)(x))
        return Conv(self.channels, (3, 3), **kw)(x)


class ConvAutoencoder(nn.Module):
    """Conv+ReLU+MaxPool encoder, transposed-conv decoder, logits out.

    Attributes:
      features: encoder widths, each halving the resolution.
      dtype: computation dtype.
      param_dtype: parameter dtype.
    """

    features: Sequence[int] = (32, 64)
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    def setup(self):  # noqa: D102
        self.encoder = _ConvEncoder(self.features, self.dtype, self.param_dtype)

    def encode(self, x):
        """Images ``[B, H, W, C]`` -> codes ``[B, H/2^k, W/2^k, features[-1]]``."""
        _check_divisible(x.shape, len(self.features))
        return self.encoder(jnp.asarray(x, self.dtype))

    @nn.compact
    def __call__(self, x, train: bool = False):
        """Images -> reconstruction logits of the same shape; ``train`` is unused."""
        del train
        decoder = _ConvDecoder(
            self.features, x.shape[-1], self.dtype, self.param_dtype, name="decoder"
        )
        return decoder(self.encode(x))


class ConvVAE(nn.Module):
    r"""Convolutional VAE: encoder -> (mean, log-variance) -> reparameterised z -> decoder.

    ``__call__(x, rng)`` draws :math:`z = \mu + \sigma \odot \epsilon`,
    :math:`\epsilon \sim N(0, I)` from the explicit ``rng`` and returns
    ``(logits, mean, logvar)``; :meth:`decode` maps latents to image logits
    (for sampling, decode ``z ~ N(0, I)``).

    Attributes:
      image_shape: ``(H, W, C)`` of the images (the decoder needs it to sample).
      latent_dim: size of z.
      features: encoder widths, each halving the resolution.
      dtype: computation dtype.
      param_dtype: parameter dtype.
    """

    image_shape: Sequence[int]
    latent_dim: int = 16
    features: Sequence[int] = (32, 64)
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    def setup(self):  # noqa: D102
        h, w, c = self.image_shape
        _check_divisible((1, h, w, c), len(self.features))
        kw = {"dtype": self.dtype, "param_dtype": self.param_dtype}
        self._code_shape = (h // 2 ** len(self.features), w // 2 ** len(self.features))
        self.encoder = _ConvEncoder(self.features, self.dtype, self.param_dtype)
        self.to_mean = nn.Dense(self.latent_dim, **kw)
        self.to_logvar = nn.Dense(self.latent_dim, **kw)
        self.from_latent = nn.Dense(
            self._code_shape[0] * self._code_shape[1] * self.features[-1], **kw
        )
        self.decoder = _ConvDecoder(self.features, c, self.dtype, self.param_dtype)

    def encode(self, x):
        """Images ``[B, H, W, C]`` -> ``(mean, logvar)``, each ``[B, latent_dim]``."""
        check_image_shape(x, self.image_shape)
        h = self.encoder(jnp.asarray(x, self.dtype))
        h = h.reshape(h.shape[0], -1)
        return self.to_mean(h), self.to_logvar(h)

    def decode(self, z):
        """Latents ``[B, latent_dim]`` -> image logits ``[B, H, W, C]``."""
        h = nn.relu(self.from_latent(z))
        return self.decoder(h.reshape(z.shape[0], *self._code_shape, self.features[-1]))

    def __call__(self, x, rng: jax.Array, train: bool = False):
        """Images and an RNG key -> ``(logits, mean, logvar)``; ``train`` is unused."""
        del train
        mean, logvar = self.encode(x)
        # Noise drawn in float32 whatever the compute dtype, so one rng gives
        # the same sample under float32 and bfloat16 compute.
        eps = jax.random.normal(rng, mean.shape, jnp.float32)
        z = mean + jnp.exp(0.5 * logvar) * eps
        return self.decode(z), mean, logvar


class FeatureDecoder(nn.Module):
    """Feature vectors ``[B, F]`` -> images ``[B, H, W, C]``: a dense layer, then upsampling.

    The decoder of :class:`ConvVAE` (dense to a ``H/2^k x W/2^k`` grid of
    ``features[-1]`` channels, ReLU, then one stride-2 transposed conv per
    width in reverse), on any encoder's features: the context encoder's
    decoder (:class:`jaxssl.methods.Inpainting`). Outputs are linear.

    Attributes:
      features: widths, from the full-resolution end.
      dtype: computation dtype.
      param_dtype: parameter dtype.
    """

    features: Sequence[int] = (32, 64)
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, z, image_shape: Sequence[int], train: bool = False):
        """Features -> images of ``image_shape`` ``(H, W, C)``; ``train`` is unused.

        H and W must be divisible by ``2 ** len(features)``.
        """
        del train
        h, w, c = image_shape
        _check_divisible((1, h, w, c), len(self.features))
        grid = (h // 2 ** len(self.features), w // 2 ** len(self.features))
        kw = {"dtype": self.dtype, "param_dtype": self.param_dtype}
        x = nn.relu(nn.Dense(grid[0] * grid[1] * self.features[-1], **kw)(z))
        x = x.reshape(z.shape[0], *grid, self.features[-1])
        return _ConvDecoder(self.features, c, self.dtype, self.param_dtype)(x)
