"""SimCLR: contrastive learning of visual representations (Chen et al. 2020).

Two augmented views of every image, made on device; one encoder and a
projection head run on both views at once (so BatchNorm's statistics are over
the 2B images of the global batch, as in SimCLR's TF code); NT-Xent over the
projections, with negatives from the whole global batch.
"""

from __future__ import annotations

import dataclasses

import jax

from jaxssl import losses
from jaxssl.methods.base import EncoderWithHead, TwoViewMethod, as_float32, encode, halves

__all__ = ["EncoderWithHead", "SimCLR", "encode"]


@dataclasses.dataclass(frozen=True)
class SimCLR(TwoViewMethod):
    """The method: ``init``, ``loss_fn`` and ``features`` (see :mod:`jaxssl.methods`).

    Attributes (besides :class:`~jaxssl.methods.base.TwoViewMethod`'s):
      temperature: NT-Xent temperature.
      chunk_size: ``None`` for the dense loss, else the blockwise one with
        ``chunk_size`` candidates per block.
    """

    temperature: float = 0.2
    chunk_size: int | None = None

    def loss_fn(self, params, state: dict, batch: dict, rng: jax.Array):
        """NT-Xent of two augmented views; returns ``(loss, (new_state, metrics))``."""
        x = self._stacked_views(batch, rng)
        (_, z), batch_stats = self._forward(params, state, x)
        z1, z2 = halves(as_float32(z))
        loss, metrics = losses.nt_xent(
            z1,
            z2,
            temperature=self.temperature,
            axis_name=self.axis_name,
            chunk_size=self.chunk_size,
            return_metrics=True,
        )
        metrics = {k: metrics[k] for k in ("top1", "pos_sim", "neg_sim")}
        return loss, (self._state(state, batch_stats), metrics)
