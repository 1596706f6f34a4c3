"""Context-encoder inpainting (Pathak et al. 2016): reconstruct a masked region from the rest.

From "Context Encoders: Feature Learning by Inpainting", CVPR 2016. Each
image, augmented once on device, loses a square region (``mask_size`` of each
side, at a random position per example: the paper's "random block" masks; or
centred, its "central region"), which is set to 0 in the network's input, i.e.
to the dataset mean wherever the augmentation preset normalises with it (the
paper fills the region with the mean pixel). The run's encoder maps the masked
image to its features, a decoder (:class:`~jaxssl.models.FeatureDecoder`)
maps those to an image, and the loss is the paper's reconstruction term: the
squared error over the masked pixels only, averaged over them. The metric
``outside_mse`` is the same error on the visible pixels, which the loss does
not train.

Left out: the paper's adversarial term (weight 0.001 against a discriminator
on the filled region; a second optimiser, as in the GAN method, for a term
that sharpens the pictures rather than the features) and its 10x weight on a
7-pixel overlap band at the region's border. Evaluation uses the encoder's
features of whole, unmasked images, like every pretraining method.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxssl._src.numerics import example_keys, global_mean
from jaxssl.methods.base import TwoViewMethod, as_float32


def square_masks(keys: jax.Array, height: int, width: int, size: int, random: bool) -> jax.Array:
    """``[B, H, W, 1]`` float masks, 1 inside a ``size x size`` square per example.

    The square's top-left corner is uniform over the positions that fit
    (``random``), or the centred one.
    """
    rows, cols = jnp.arange(height)[:, None], jnp.arange(width)[None, :]

    def one(key):
        if random:
            top = jax.random.randint(key, (), 0, height - size + 1)
            left = jax.random.randint(jax.random.fold_in(key, 1), (), 0, width - size + 1)
        else:
            top, left = (height - size) // 2, (width - size) // 2
        inside = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)
        return inside.astype(jnp.float32)[..., None]

    return jax.vmap(one)(keys)


class ContextEncoder(nn.Module):
    """The encoder, then ``head`` (a decoder) back to an image of the input's shape.

    Returns ``(features, reconstruction)``; parameters under ``encoder`` and
    ``head``, as in every method.
    """

    encoder: nn.Module
    head: nn.Module

    def __call__(self, x, train: bool):
        """Masked images -> (encoder features, reconstructed images)."""
        h = self.encoder(x, train=train)
        return h, self.head(h, x.shape[1:], train=train)


@dataclasses.dataclass(frozen=True)
class Inpainting(TwoViewMethod):
    """Context encoder; ``head`` is the decoder from the encoder's features to an image.

    Attributes (besides :class:`TwoViewMethod`'s):
      mask_size: the square's side as a fraction of the image's shorter side
        (the paper: a quarter of the area, 0.5 of each side).
      random_position: random blocks (True) or the central region.
    """

    mask_size: float = 0.5
    random_position: bool = True

    @property
    def net(self) -> ContextEncoder:
        """Encoder and decoder."""
        return ContextEncoder(self.encoder, self.head)

    def _masked(self, batch: dict, rng: jax.Array):
        x = self._one_view(batch, rng)
        side = round(self.mask_size * min(x.shape[1], x.shape[2]))
        if not 1 <= side <= min(x.shape[1], x.shape[2]):
            raise ValueError(
                f"inpainting.mask_size {self.mask_size} gives a {side}-pixel square on "
                f"{x.shape[1]}x{x.shape[2]} images; it must cover 1 pixel to the whole side."
            )
        keys = example_keys(rng, batch["index"], view=1)
        mask = square_masks(keys, x.shape[1], x.shape[2], side, self.random_position)
        return x, mask

    def init(self, rng: jax.Array, sample: dict) -> dict:
        """Variables (``params``, ``batch_stats``) from a sample batch."""
        x, mask = self._masked(sample, jax.random.key(0))
        return dict(self.net.init(rng, x * (1 - mask), train=False))

    def loss_fn(self, params, state: dict, batch: dict, rng: jax.Array) -> tuple[Any, Any]:
        """Squared error over the masked pixels; returns ``(loss, (new_state, metrics))``."""
        x, mask = self._masked(batch, rng)
        (_, recon), batch_stats = self._forward(params, state, x * (1 - mask))
        recon, x = as_float32(recon), as_float32(x)
        if recon.shape != x.shape:
            raise ValueError(
                f"the decoder's output {recon.shape} must have the images' shape {x.shape}."
            )
        # per example: mean over the masked pixels and channels (every example
        # has the same number of them, so the global mean of these is the mean
        # over all masked pixels of the batch)
        per_pixel = jnp.square(recon - x) * mask
        counts = mask.sum(axis=(1, 2, 3)) * x.shape[-1]
        region = per_pixel.sum(axis=(1, 2, 3)) / counts
        outside = (jnp.square(recon - x) * (1 - mask)).sum(axis=(1, 2, 3)) / jnp.maximum(
            (1 - mask).sum(axis=(1, 2, 3)) * x.shape[-1], 1
        )
        loss = global_mean(region, self.axis_name)
        metrics = {"outside_mse": global_mean(outside, self.axis_name)}
        return loss, (self._state(state, batch_stats), metrics)
