"""Barlow Twins and VICReg: two views, no negatives, statistics of the embedding batch.

**Barlow Twins** (Zbontar et al. 2021) drives the cross-correlation matrix of
the two views' standardised projections towards the identity
(:func:`jaxssl.losses.barlow_twins`). **VICReg** (Bardes et al. 2022) keeps
the views' embeddings close (invariance), each dimension's standard
deviation above 1 (variance) and the dimensions decorrelated (covariance)
(:func:`jaxssl.losses.vicreg`).

Both losses are statistics of the whole global batch: under ``jit`` the
arrays are global; under ``pmap`` the losses sum their statistics over
``axis_name``.
"""

from __future__ import annotations

import dataclasses

import jax

from jaxssl import losses
from jaxssl.methods.base import TwoViewMethod, as_float32, embedding_std, halves


@dataclasses.dataclass(frozen=True)
class _Redundancy(TwoViewMethod):
    def _loss(self, z1, z2):
        raise NotImplementedError  # pragma: no cover

    def loss_fn(self, params, state: dict, batch: dict, rng: jax.Array):
        """The loss of the two views' projections; returns ``(loss, (new_state, metrics))``."""
        x = self._stacked_views(batch, rng)
        (_, z), batch_stats = self._forward(params, state, x)
        z1, z2 = halves(as_float32(z))
        loss, metrics = self._loss(z1, z2)
        metrics = dict(metrics, z_std=embedding_std(z, self.axis_name))
        return loss, (self._state(state, batch_stats), metrics)


@dataclasses.dataclass(frozen=True)
class BarlowTwins(_Redundancy):
    """Barlow Twins.

    Attributes (besides :class:`~jaxssl.methods.base.TwoViewMethod`'s):
      lambda_: weight of the off-diagonal terms (the paper: 5e-3).
    """

    lambda_: float = 5e-3

    def _loss(self, z1, z2):
        return losses.barlow_twins(
            z1, z2, lambda_=self.lambda_, axis_name=self.axis_name, return_metrics=True
        )


@dataclasses.dataclass(frozen=True)
class VICReg(_Redundancy):
    """VICReg.

    Attributes (besides :class:`~jaxssl.methods.base.TwoViewMethod`'s):
      sim, var, cov: the weights of invariance, variance and covariance (25, 25, 1).
    """

    sim: float = 25.0
    var: float = 25.0
    cov: float = 1.0

    def _loss(self, z1, z2):
        return losses.vicreg(
            z1,
            z2,
            sim=self.sim,
            var=self.var,
            cov=self.cov,
            axis_name=self.axis_name,
            return_metrics=True,
        )
