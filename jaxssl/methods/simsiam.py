"""SimSiam: simple Siamese representation learning (Chen & He 2021).

BYOL without the target network (:mod:`jaxssl.methods.byol`): a predictor on
each view's projection regresses the other view's projection, which comes
from the same online network behind ``stop_gradient``. The loss is the
negative cosine similarity averaged over both directions, in [-1, 1].

There are no negatives; the stop-gradient is what keeps it from collapsing.
The metric ``z_std`` (the spread of the normalised projections,
:func:`~jaxssl.methods.base.embedding_std`) shows it: a collapsed network
gives 0.
"""

from __future__ import annotations

import dataclasses

import jax
from jax import lax

from jaxssl import losses
from jaxssl._src.numerics import global_mean
from jaxssl.methods.base import TwoViewMethod, as_float32, embedding_std, swap_halves


@dataclasses.dataclass(frozen=True)
class SimSiam(TwoViewMethod):
    """SimSiam (see the module docstring); needs a ``predictor``."""

    needs_predictor = True

    def loss_fn(self, params, state: dict, batch: dict, rng: jax.Array):
        """Symmetric negative cosine, stop-gradient; returns ``(loss, (new_state, metrics))``."""
        x = self._stacked_views(batch, rng)
        (_, z, p), batch_stats = self._forward(params, state, x)
        z = as_float32(z)
        target = swap_halves(lax.stop_gradient(z))
        # cosine_similarity_loss is 1 - cos; SimSiam reports -cos
        per_example = losses.cosine_similarity_loss(as_float32(p), target, reduction="none") - 1.0
        loss = global_mean(per_example, self.axis_name)
        metrics = {"z_std": embedding_std(z, self.axis_name)}
        return loss, (self._state(state, batch_stats), metrics)
