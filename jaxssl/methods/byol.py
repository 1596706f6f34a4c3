r"""BYOL: bootstrap your own latent (Grill et al. 2020).

An online network (encoder, projector,
predictor) and a target network (encoder, projector) that is the online
one's exponential moving average, its momentum rising from 0.996 to 1 along a
cosine (:mod:`jaxssl.methods.ema`). The loss is
:func:`jaxssl.losses.byol_loss`, :math:`2 - 2\cos(p, z')`, of each view's
prediction against the target's projection of the other view, summed over
the two directions (so it lies in [0, 8]); no gradient reaches the target.
Its augmentation is asymmetric (the ``byol`` preset).

There are no negatives; what keeps BYOL from collapsing is the predictor with
the slowly moving target. The metric ``z_std`` (the spread of the normalised
projections, :func:`~jaxssl.methods.base.embedding_std`) shows it: a
collapsed network gives 0.
"""

from __future__ import annotations

import dataclasses

import jax

from jaxssl import losses
from jaxssl._src.numerics import global_mean
from jaxssl.methods import ema
from jaxssl.methods.base import TwoViewMethod, as_float32, embedding_std, swap_halves


@dataclasses.dataclass(frozen=True)
class BYOL(ema.FollowsOnline, TwoViewMethod):
    """BYOL (see the module docstring); needs a ``predictor``.

    Attributes (besides :class:`~jaxssl.methods.base.TwoViewMethod`'s):
      momentum: the target's EMA momentum at step 0 (BYOL: 0.996).
      momentum_schedule: ``'cosine'`` (BYOL: to 1 at the last step) or ``'constant'``.
      num_steps: the run's length, for the cosine schedule.
    """

    needs_predictor = True
    momentum: float = 0.996
    momentum_schedule: str = "cosine"
    num_steps: int = 1

    def init_method_state(self, variables: dict, rng: jax.Array) -> dict:
        """The target network: a copy of the online encoder and projector."""
        del rng
        return {"target": ema.init_target(variables["params"])}

    def loss_fn(self, params, state: dict, batch: dict, rng: jax.Array):
        """Symmetric BYOL loss; returns ``(loss, (new_state, metrics))``."""
        x = self._stacked_views(batch, rng)
        (_, z, p), batch_stats = self._forward(params, state, x)
        target = swap_halves(self._target_forward(state["method"]["target"], state, x))
        per_example = losses.byol_loss(as_float32(p), target, reduction="none")
        # mean over the 2B rows = half the sum of the two directions' means
        loss = 2.0 * global_mean(per_example, self.axis_name)
        metrics = {"z_std": embedding_std(z, self.axis_name)}
        return loss, (self._state(state, batch_stats), metrics)
