"""The training state: one pytree that a step maps to the next and a checkpoint holds."""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax


@flax.struct.dataclass
class TrainState:
    """Everything a run needs to continue exactly.

    Attributes:
      step: optimizer steps taken (int32 scalar).
      params: trainable parameters.
      batch_stats: BatchNorm running statistics (``{}`` for models without).
      opt_state: the optax state.
      rng: raw ``uint32`` key data of the run's base key; step ``t`` uses
        ``fold_in(key, t)``, so a resumed run draws the same numbers.
      method_state: what a method carries besides parameters (an EMA target,
        a queue); ``{}`` when it has none.
      skipped_steps: steps whose update was skipped because the loss or the
        gradient norm was not finite (``config.skip_nonfinite_steps``).
    """

    step: jax.Array
    params: Any
    batch_stats: Any
    opt_state: optax.OptState
    rng: jax.Array
    method_state: Any
    skipped_steps: jax.Array

    @property
    def key(self) -> jax.Array:
        """The base PRNG key."""
        return jax.random.wrap_key_data(self.rng)


def create_state(method, tx: optax.GradientTransformation, rng: jax.Array, sample) -> TrainState:
    """A fresh state: ``method.init`` on ``sample``, ``tx.init`` on its parameters.

    ``rng`` is a typed key; the parameters come from ``fold_in(rng, 0)`` and the
    training keys from ``fold_in(rng, 1)``.
    """
    variables = dict(method.init(jax.random.fold_in(rng, 0), sample))
    params = variables.pop("params")
    method_state = variables.pop("method", {})
    batch_stats = variables.pop("batch_stats", {})
    if variables:
        raise ValueError(f"method.init returned unexpected collections {sorted(variables)}.")
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        params=params,
        batch_stats=batch_stats,
        opt_state=tx.init(params),
        rng=jax.random.key_data(jax.random.fold_in(rng, 1)),
        method_state=method_state,
        skipped_steps=jnp.zeros((), jnp.int32),
    )
