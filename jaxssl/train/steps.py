"""The generic train step: pure, knows no method by name, same numbers under jit and pmap."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from jax import lax

from jaxssl.methods import protocol
from jaxssl.train.state import TrainState


def make_train_step(
    method,
    tx: optax.GradientTransformation,
    *,
    schedule: optax.Schedule | None = None,
    skip_nonfinite: bool = False,
) -> Callable[[TrainState, dict], tuple[TrainState, dict]]:
    """A pure ``(state, batch) -> (state, metrics)`` for ``method`` and optimizer ``tx``.

    The method's ``loss_fn(params, state, batch, rng)`` returns
    ``(loss, (new_state, metrics))`` where ``state`` holds ``batch_stats``
    and ``method``; its optional ``post_update(state) -> state`` runs after the
    optimizer (an EMA target, a queue).

    When ``method.axis_name`` is set the step runs per device under ``pmap``:
    the method's loss already covers the global batch (negatives and
    BatchNorm statistics from every device), so the exact gradient is that
    loss's gradient averaged over devices (see :mod:`jaxssl.losses.contrastive`);
    metrics are averaged too. Under ``jit`` (``axis_name=None``) the arrays are
    global and XLA adds the communication.

    Args:
      method: a :class:`jaxssl.methods.protocol.Method`; optionally
        :class:`~jaxssl.methods.protocol.PostUpdate` or
        :class:`~jaxssl.methods.protocol.OwnUpdate`.
      tx: the optimizer.
      schedule: if given, its value at the step is reported as ``metrics['lr']``.
      skip_nonfinite: when the loss, the gradient norm or any value of the
        updated state (parameters, optimizer, BatchNorm and method state) is
        not finite, keep the old state (the step counter and
        ``skipped_steps`` still advance, so the next step draws new random
        numbers and a new batch). Either way ``metrics['nonfinite']`` is 1 for
        such a step, for the loop's guard: an update that overflows from a
        finite gradient (a huge learning rate) counts too.

    Returns:
      The step function, to be wrapped in ``jax.jit`` or ``jax.pmap``.
    """
    axis_name = method.axis_name
    post_update = method.post_update if protocol.has(method, protocol.PostUpdate) else None
    # A method with several networks and optimizers (the GAN) brings its own
    # update: (state, batch, rng, tx) -> (state, grads, metrics), averaged
    # over devices by itself; the rest of the step is shared.
    own_update = method.update if protocol.has(method, protocol.OwnUpdate) else None
    if own_update is None:
        protocol.require(method, type(method).__name__, (protocol.LossFn,), "make_train_step")

    def gradient_step(state: TrainState, batch: dict, rng: jax.Array):
        aux = {"batch_stats": state.batch_stats, "method": state.method_state}
        grad_fn = jax.value_and_grad(method.loss_fn, has_aux=True)
        (loss, (new_aux, metrics)), grads = grad_fn(state.params, aux, batch, rng)
        # the loss too: a method whose loss is this device's mean reports the global one
        metrics = dict(metrics, loss=loss)
        if axis_name is not None:
            grads = lax.pmean(grads, axis_name)
            metrics = lax.pmean(metrics, axis_name)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        new_state = state.replace(
            params=optax.apply_updates(state.params, updates),
            batch_stats=new_aux["batch_stats"],
            opt_state=opt_state,
            method_state=new_aux["method"],
        )
        return new_state, grads, metrics

    def step(state: TrainState, batch: dict) -> tuple[TrainState, dict]:
        rng = jax.random.fold_in(state.key, state.step)
        if own_update is not None:
            new_state, grads, metrics = own_update(state, batch, rng, tx)
        else:
            new_state, grads, metrics = gradient_step(state, batch, rng)
        new_state = new_state.replace(step=state.step + 1)
        params = new_state.params
        if post_update is not None:
            new_state = post_update(new_state)
        grad_norm = optax.tree.norm(grads)
        # metrics["loss"] is the same on every device (pmean), and so is the
        # updated state (from averaged gradients): all devices agree
        finite = jnp.isfinite(metrics["loss"]) & jnp.isfinite(grad_norm)
        finite &= _all_finite(
            (new_state.params, new_state.opt_state, new_state.batch_stats, new_state.method_state)
        )
        if skip_nonfinite:
            skipped = state.replace(step=state.step + 1, skipped_steps=state.skipped_steps + 1)
            new_state = jax.tree.map(lambda a, b: jnp.where(finite, a, b), new_state, skipped)
        metrics["nonfinite"] = jnp.logical_not(finite).astype(jnp.int32)
        metrics["skipped_steps"] = new_state.skipped_steps
        metrics["grad_norm"] = grad_norm
        metrics["param_norm"] = optax.tree.norm(params)
        if schedule is not None:
            metrics["lr"] = schedule(state.step)
        return new_state, metrics

    return step


def _all_finite(tree) -> jax.Array:
    """Whether every floating-point value in ``tree`` is finite (a scalar bool).

    Not the norm's finiteness: a state of large finite values can overflow a
    float32 sum of squares.
    """
    flags = [
        jnp.all(jnp.isfinite(x))
        for x in jax.tree.leaves(tree)
        if jnp.issubdtype(jnp.result_type(x), jnp.inexact)
    ]
    return jnp.all(jnp.stack(flags)) if flags else jnp.bool_(True)


def make_finetune_step(
    classifier, tx: optax.GradientTransformation, *, schedule: optax.Schedule | None = None
) -> Callable[[TrainState, dict], tuple[TrainState, dict]]:
    """The fine-tuning step: :func:`make_train_step` over a classification method.

    Fine-tuning is a method like any other (:class:`jaxssl.methods.Classifier`:
    cross-entropy of a head on the encoder), so it shares the generic step and
    with it jit/pmap, donation, checkpoints and exact resume. What makes a
    step a fine-tuning one lives in the method (label smoothing, a frozen
    encoder behind ``stop_gradient``) and in ``tx`` (the encoder's own
    learning rate: ``optim.encoder_lr_mult``).

    Raises:
      TypeError: ``classifier`` has no ``logits`` (it is not a classification method).
    """
    if not protocol.has(classifier, protocol.Logits):
        raise TypeError(
            f"classifier must be a classification method with logits(), e.g. "
            f"jaxssl.methods.Classifier; got {type(classifier).__name__}."
        )
    return make_train_step(classifier, tx, schedule=schedule)
