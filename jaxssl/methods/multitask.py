r"""Multi-task pretraining: SimCLR and rotation prediction on one encoder.

Both objectives of :class:`~jaxssl.methods.SimCLR` and
:class:`~jaxssl.methods.Rotation` on one shared encoder, in one forward pass
(the two views and the four quarter turns of the first view are one batch, so
BatchNorm sees them together): NT-Xent on the projection head's outputs of the
two views, 4-way cross-entropy of a linear head on the turned view. The total
is, with ``weighting``:

* ``'fixed'``: :math:`w_1 L_{SimCLR} + w_2 L_{rotation}` (``weights``);
* ``'uncertainty'``: Kendall, Gal and Cipolla 2018 ("Multi-Task Learning
  Using Uncertainty to Weigh Losses for Scene Geometry and Semantics", eq. 7
  with :math:`s_i = \log \sigma_i^2` learned, as their section 3.2 advises
  for stability): :math:`\sum_i \tfrac12 e^{-s_i} L_i + \tfrac12 s_i`, so
  each task's weight :math:`\tfrac12 e^{-s_i}` is learned, and the
  :math:`\tfrac12 s_i` term keeps it from falling to 0. For a fixed
  :math:`L_i` the optimum is :math:`e^{s_i} = L_i`: a task weighs less the
  larger its loss. The :math:`s_i` are parameters (``log_var``, starting at 0:
  both weights 1/2) with neither weight decay nor a trust ratio (they are a
  vector).

Each step logs both losses (``loss_simclr``, ``loss_rotation``), both
weights (``weight_simclr``, ``weight_rotation``) and the rotation head's
``rotation_top1``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxssl import losses
from jaxssl._src.numerics import global_mean
from jaxssl.methods.base import TwoViewMethod, as_float32, halves
from jaxssl.methods.rotation import rotations

WEIGHTINGS = ("fixed", "uncertainty")


class MultiTaskNet(nn.Module):
    """The shared encoder, the projection ``head`` and the ``rotation_head``.

    ``x``'s first ``n_views`` rows are the two views, the rest the turned
    images. Returns ``(features, projections of the views, rotation logits)``.
    With ``learned_weights`` it also owns ``log_var`` ``[2]``, read by
    :meth:`MultiTask.loss_fn`.
    """

    encoder: nn.Module
    head: nn.Module
    rotation_head: nn.Module
    learned_weights: bool = False

    @nn.compact
    def __call__(self, x, n_views: int, train: bool):
        """Images -> (features, projections, rotation logits)."""
        if self.learned_weights:
            self.param("log_var", nn.initializers.zeros, (2,), jnp.float32)
        h = self.encoder(x, train=train)
        return h, self.head(h[:n_views], train=train), self.rotation_head(h[n_views:])


@dataclasses.dataclass(frozen=True)
class MultiTask(TwoViewMethod):
    """SimCLR + rotation prediction (see the module docstring).

    Attributes (besides :class:`TwoViewMethod`'s; ``head`` is SimCLR's):
      rotation_head: a module from features to 4 logits.
      temperature: NT-Xent's.
      weighting: ``'fixed'`` or ``'uncertainty'``.
      weights: ``(w_simclr, w_rotation)`` for ``'fixed'``.
    """

    rotation_head: nn.Module | None = None
    temperature: float = 0.2
    weighting: str = "uncertainty"
    weights: tuple[float, float] = (1.0, 1.0)

    def __post_init__(self):
        super().__post_init__()
        if self.weighting not in WEIGHTINGS:
            raise ValueError(
                f"multitask.weighting must be one of {WEIGHTINGS}, got {self.weighting!r}."
            )
        if self.rotation_head is None:
            raise ValueError("MultiTask needs a rotation_head module (4 logits), got None.")

    @property
    def net(self) -> MultiTaskNet:
        """Encoder, projection head, rotation head (and the learned log-variances)."""
        return MultiTaskNet(
            self.encoder, self.head, self.rotation_head, self.weighting == "uncertainty"
        )

    def _inputs(self, batch, rng):
        v1, v2 = self._views(batch, rng)
        turned, labels = rotations(v1)
        return jnp.concatenate([v1, v2, turned]), 2 * v1.shape[0], labels

    def init(self, rng: jax.Array, sample: dict) -> dict:
        """Variables (``params``, ``batch_stats``) from a sample batch."""
        x, n_views, _ = self._inputs(sample, jax.random.key(0))
        return dict(self.net.init(rng, x, n_views, train=False))

    def loss_fn(self, params, state: dict, batch: dict, rng: jax.Array) -> tuple[Any, Any]:
        """The weighted sum of both losses; returns ``(loss, (new_state, metrics))``."""
        x, n_views, labels = self._inputs(batch, rng)
        outputs, updates = self.net.apply(
            {"params": params, "batch_stats": state["batch_stats"]},
            x,
            n_views,
            train=True,
            mutable=["batch_stats"],
        )
        _, z, logits = outputs
        z1, z2 = halves(as_float32(z))
        simclr = losses.nt_xent(z1, z2, temperature=self.temperature, axis_name=self.axis_name)
        logits = as_float32(logits)
        rotation = global_mean(
            losses.softmax_cross_entropy(logits, labels, reduction="none"), self.axis_name
        )
        if self.weighting == "uncertainty":
            s = params["log_var"]
            weights = 0.5 * jnp.exp(-s)
            loss = weights[0] * simclr + weights[1] * rotation + 0.5 * jnp.sum(s)
        else:
            weights = jnp.asarray(self.weights, jnp.float32)
            loss = weights[0] * simclr + weights[1] * rotation
        metrics = {
            "loss_simclr": simclr,
            "loss_rotation": rotation,
            "weight_simclr": weights[0],
            "weight_rotation": weights[1],
            "rotation_top1": global_mean(jnp.argmax(logits, -1) == labels, self.axis_name),
        }
        new_state = self._state(state, updates.get("batch_stats", {}))
        return loss, (new_state, metrics)
