r"""Target networks that follow the online one: the EMA update and its momentum schedule.

MoCo's key encoder and BYOL's target network are exponential moving averages
of the online parameters, updated after each optimizer step and never by
gradients:

.. math::

    \xi \leftarrow m\,\xi + (1 - m)\,\theta

MoCo keeps :math:`m` constant (0.999); BYOL raises it from
:math:`m_0 = 0.996` to 1 along a cosine,
:math:`m_t = 1 - (1 - m_0)\,(\cos(\pi t / T) + 1) / 2` (Grill et al. 2020,
section 3.2), where :math:`t` is the step and :math:`T` the run's steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

SCHEDULES = ("constant", "cosine")


def ema_update(target, online, momentum):
    """``momentum * target + (1 - momentum) * online``, leaf by leaf (optax.incremental_update)."""
    return optax.incremental_update(online, target, 1.0 - momentum)


def momentum_at(step, *, base: float, num_steps: int, schedule: str = "constant") -> jax.Array:
    """The EMA momentum at ``step`` (0-based) of a ``num_steps`` run.

    ``'constant'``: ``base`` throughout. ``'cosine'``: ``base`` at step 0,
    rising to 1 at step ``num_steps`` (and staying there after it).

    Raises:
      ValueError: ``base`` outside [0, 1], ``num_steps < 1``, unknown ``schedule``.
    """
    if not 0.0 <= base <= 1.0:
        raise ValueError(f"base (the EMA momentum) must be in [0, 1], got {base!r}.")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}.")
    if schedule == "constant":
        return jnp.asarray(base, jnp.float32)
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1 for the cosine schedule, got {num_steps!r}.")
    # cosine_decay_schedule(v, T)(t) = v (1 + cos(pi min(t, T) / T)) / 2
    return 1.0 - optax.cosine_decay_schedule(1.0 - base, num_steps)(step)


# The online parameters that the target network mirrors (the predictor has no twin).
TARGET_KEYS = ("encoder", "head")


def init_target(params: dict) -> dict:
    """A target network's parameters: a copy of the online ``encoder`` and ``head``."""
    return {k: jax.tree.map(jnp.copy, params[k]) for k in TARGET_KEYS}


def update_target(train_state, momentum):
    """The train state with ``method_state['target']`` moved towards the online parameters."""
    online = {k: train_state.params[k] for k in TARGET_KEYS}
    target = ema_update(train_state.method_state["target"], online, momentum)
    return train_state.replace(method_state={**train_state.method_state, "target": target})


class FollowsOnline:
    """Mixin for a method with an EMA target in ``method_state['target']``.

    The method has the fields ``momentum`` (at step 0), ``momentum_schedule``
    and ``num_steps``; the generic train step calls :meth:`post_update` after
    the optimizer's update.
    """

    def post_update(self, train_state):
        """The target's EMA step, with the momentum of the step just taken."""
        momentum = momentum_at(
            train_state.step - 1,
            base=self.momentum,
            num_steps=self.num_steps,
            schedule=self.momentum_schedule,
        )
        return update_target(train_state, momentum)
