"""SimCLR: contrastive learning of visual representations (Chen et al. 2020).

Two augmented views of every image, made on device; one encoder and a
projection head run on both views at once (so BatchNorm's statistics are over
the 2B images of the global batch, as in SimCLR's TF code); NT-Xent over the
projections, with negatives from the whole global batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxssl import losses
from jaxssl.data import augment as aug_lib


class EncoderWithHead(nn.Module):
    """``encoder`` then ``head``; returns ``(features, projections)``."""

    encoder: nn.Module
    head: nn.Module

    def __call__(self, x, train: bool):
        """Images -> (encoder features, head outputs)."""
        h = self.encoder(x, train=train)
        return h, self.head(h, train=train)


@dataclasses.dataclass(frozen=True)
class SimCLR:
    """The method: ``init``, ``loss_fn`` and ``features`` (see :mod:`jaxssl.methods`).

    Attributes:
      encoder: a Flax module, images ``[B, H, W, C]`` -> features ``[B, F]``.
      head: a Flax module, features -> projections ``[B, D]``.
      augment: one :class:`~jaxssl.data.augment.Augment` or a pair (view 1, view 2).
      temperature: NT-Xent temperature.
      chunk_size: ``None`` for the dense loss, else the blockwise one with
        ``chunk_size`` candidates per block.
      axis_name: the pmap axis, or None under jit (global arrays).
      image_key: the batch's image field (uint8 ``[B, H, W, C]``); the batch
        also needs ``'index'`` (global example indices, from the loader) to
        seed each example's augmentation.
    """

    encoder: nn.Module
    head: nn.Module
    augment: Any
    temperature: float = 0.2
    chunk_size: int | None = None
    axis_name: Hashable | None = None
    image_key: str = "image"

    @property
    def net(self) -> EncoderWithHead:
        """The encoder and head as one module."""
        return EncoderWithHead(self.encoder, self.head)

    def _views(self, batch, rng):
        return aug_lib.two_views(batch[self.image_key], rng, self.augment, indices=batch["index"])

    def init(self, rng: jax.Array, sample: dict) -> dict:
        """Variables (``params``, ``batch_stats``) from a sample batch of the data."""
        view, _ = self._views(sample, jax.random.key(0))
        return dict(self.net.init(rng, view, train=False))

    def loss_fn(self, params, state: dict, batch: dict, rng: jax.Array):
        """NT-Xent of two augmented views; returns ``(loss, (new_state, metrics))``."""
        v1, v2 = self._views(batch, rng)
        n = v1.shape[0]
        (_, z), updates = self.net.apply(
            {"params": params, "batch_stats": state["batch_stats"]},
            jnp.concatenate([v1, v2]),
            train=True,
            mutable=["batch_stats"],
        )
        z = z.astype(jnp.promote_types(z.dtype, jnp.float32))  # bf16 -> f32; f64 stays
        loss, metrics = losses.nt_xent(
            z[:n],
            z[n:],
            temperature=self.temperature,
            axis_name=self.axis_name,
            chunk_size=self.chunk_size,
            return_metrics=True,
        )
        metrics = {k: metrics[k] for k in ("top1", "pos_sim", "neg_sim")}
        new_state = {"batch_stats": updates.get("batch_stats", {}), "method": state["method"]}
        return loss, (new_state, metrics)

    def features(self, params, state: dict, images: jax.Array) -> jax.Array:
        """Encoder features ``[B, F]`` (float32) of un-augmented images, in inference mode."""
        first = self.augment[0] if isinstance(self.augment, tuple) else self.augment
        return encode(self.encoder, first, params, state, images)


def encode(encoder: nn.Module, augment, params, state: dict, images: jax.Array) -> jax.Array:
    """``encoder``'s features ``[B, F]`` (float32) of un-augmented images, in inference mode.

    The images get the same scaling as the training views (``augment``'s
    normalisation, or none when ``augment`` is None); ``params`` and
    ``state['batch_stats']`` hold the encoder under the key ``'encoder'``.
    """
    x = aug_lib.to_unit_float(images)
    if augment is not None:
        x = aug_lib.normalize(x, augment)
    h = encoder.apply(
        {"params": params["encoder"], "batch_stats": state["batch_stats"].get("encoder", {})},
        x,
        train=False,
    )
    return h.astype(jnp.float32)
