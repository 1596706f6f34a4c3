"""Rotation prediction (RotNet; Gidaris, Singh and Komodakis 2018).

Each image, augmented once on device, is shown at 0, 90, 180 and 270
degrees; a 4-way linear head on the encoder's features predicts which, with
cross-entropy. Images must be square (a rotated view must have the same
shape).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from jaxssl import losses
from jaxssl._src.numerics import global_mean
from jaxssl.methods.base import TwoViewMethod, as_float32

NUM_ROTATIONS = 4


def rotations(images: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``[B, H, H, C]`` -> (the four rotations ``[4B, H, H, C]``, labels ``[4B]``).

    Rows ``r*B .. (r+1)*B`` are the batch turned by ``r`` quarter turns
    counter-clockwise, with label ``r``.

    Raises:
      ValueError: the images are not ``[B, H, H, C]`` (square).
    """
    if images.ndim != 4 or images.shape[1] != images.shape[2]:
        raise ValueError(
            f"images must be square, [B, H, H, C], for rotation prediction; got shape "
            f"{images.shape}."
        )
    turned = [jnp.rot90(images, k, axes=(1, 2)) for k in range(NUM_ROTATIONS)]
    labels = jnp.repeat(jnp.arange(NUM_ROTATIONS), images.shape[0])
    return jnp.concatenate(turned), labels


@dataclasses.dataclass(frozen=True)
class Rotation(TwoViewMethod):
    """RotNet; ``head`` maps features to 4 logits (a linear classifier).

    One augmented view per image (``augment``'s first pipeline), not two.
    """

    def init(self, rng: jax.Array, sample: dict) -> dict:
        """Variables (``params``, ``batch_stats``) from a sample batch."""
        x, _ = rotations(self._one_view(sample, jax.random.key(0)))
        return dict(self.net.init(rng, x, train=False))

    def loss_fn(self, params, state: dict, batch: dict, rng: jax.Array):
        """4-way cross-entropy of the rotations; returns ``(loss, (new_state, metrics))``."""
        x, labels = rotations(self._one_view(batch, rng))
        (_, logits), batch_stats = self._forward(params, state, x)
        logits = as_float32(logits)
        loss = global_mean(
            losses.softmax_cross_entropy(logits, labels, reduction="none"), self.axis_name
        )
        metrics = {"top1": global_mean(jnp.argmax(logits, -1) == labels, self.axis_name)}
        return loss, (self._state(state, batch_stats), metrics)
