"""Triplet pretraining: two views of an image are positives, other images negatives.

Each image's two augmented views share a label (its global example index);
the projections, L2-normalised, go to :func:`jaxssl.losses.batch_triplet`,
which mines the triplets inside the global batch (under ``pmap`` across every
device). ``'hard'`` mining takes, for each anchor, its other view and the
nearest other image; ``'semi-hard'`` takes the nearest negative that is still
farther than the positive (FaceNet, Schroff et al. 2015), at O(N³) memory in
the 2B views.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from jaxssl import losses
from jaxssl._src.numerics import l2_normalize
from jaxssl.methods.base import TwoViewMethod, as_float32, embedding_std


@dataclasses.dataclass(frozen=True)
class Triplet(TwoViewMethod):
    """Triplet loss over the views of the batch.

    Attributes (besides :class:`~jaxssl.methods.base.TwoViewMethod`'s):
      margin: the triplet margin on unit-norm embeddings (FaceNet: 0.2 with
        squared distances).
      mining: ``'hard'``, ``'semi-hard'`` or ``'all'``.
      squared: squared Euclidean distances.
    """

    margin: float = 0.2
    mining: str = "hard"
    squared: bool = True

    def loss_fn(self, params, state: dict, batch: dict, rng: jax.Array):
        """Batch triplet loss; returns ``(loss, (new_state, metrics))``."""
        x = self._stacked_views(batch, rng)
        (_, z), batch_stats = self._forward(params, state, x)
        z = l2_normalize(as_float32(z), eps=1e-12, form="divide")
        index = jnp.asarray(batch["index"])
        loss = losses.batch_triplet(
            z,
            jnp.concatenate([index, index]),
            margin=self.margin,
            mining=self.mining,
            squared=self.squared,
            axis_name=self.axis_name,
        )
        metrics = {"z_std": embedding_std(z, self.axis_name)}
        return loss, (self._state(state, batch_stats), metrics)
