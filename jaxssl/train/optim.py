"""Optimizers from config: LARS, SGD with momentum, AdamW; warmup + cosine; masks.

Everything is optax. What this module adds is the policy SimCLR, BYOL and
MoCo v3 use and optax does not default to: biases and normalisation
parameters (every parameter with fewer than two dimensions) get neither
weight decay nor LARS's trust-ratio scaling; and the peak learning rate is
scaled with the global batch size.
"""

from __future__ import annotations

import math

import jax
import ml_collections
import optax


def decay_mask(params):
    """True for weights (kernels, embeddings: ndim >= 2); False for biases and norm scales."""
    return jax.tree.map(lambda p: p.ndim >= 2, params)


def peak_learning_rate(optim: ml_collections.ConfigDict, batch_size: int) -> float:
    """``base_lr * B/256`` (linear), ``base_lr * sqrt(B)`` (sqrt, SimCLR's) or ``base_lr``."""
    if optim.lr_scaling == "linear":
        return optim.base_lr * batch_size / 256
    if optim.lr_scaling == "sqrt":
        return optim.base_lr * math.sqrt(batch_size)
    return optim.base_lr


def warmup_steps(optim: ml_collections.ConfigDict, steps_per_epoch: int) -> int:
    """``optim.warmup_epochs`` in steps, before :func:`make_schedule` fits it into the run."""
    return round(optim.warmup_epochs * steps_per_epoch)


def make_schedule(
    optim: ml_collections.ConfigDict, batch_size: int, total_steps: int, steps_per_epoch: int
) -> optax.Schedule:
    """Linear warmup over ``optim.warmup_epochs`` from 0, then cosine to ``end_lr_fraction``."""
    peak = peak_learning_rate(optim, batch_size)
    warmup = min(warmup_steps(optim, steps_per_epoch), max(total_steps - 1, 0))
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=peak,
        warmup_steps=warmup,
        decay_steps=max(total_steps, warmup + 1),
        end_value=peak * optim.end_lr_fraction,
    )


def warmup_warning(
    optim: ml_collections.ConfigDict, total_steps: int, steps_per_epoch: int
) -> str | None:
    """A warning when ``optim.warmup_epochs`` does not fit in the run; None when it does.

    :func:`make_schedule` then warms up for all but the last step, so the
    learning rate only rises and the cosine never runs: a recipe's epochs
    written for a smaller dataset (10 epochs of 1,442 digits are 50 steps,
    of 60,000 images 2,340).
    """
    wanted = warmup_steps(optim, steps_per_epoch)
    if wanted < total_steps:
        return None
    return (
        f"warning: config.optim.warmup_epochs={optim.warmup_epochs:g} is {wanted:,} steps "
        f"({steps_per_epoch:,} per epoch), but the run has {total_steps:,}: the learning rate "
        f"rises until the last step and never decays. A tenth of the run is "
        f"warmup_epochs={total_steps / 10 / steps_per_epoch:.3g}."
    )


def encoder_labels(params) -> dict:
    """``'encoder'`` for every leaf under the top-level key ``encoder``, ``'rest'`` elsewhere."""
    return {
        k: jax.tree.map(lambda _, k=k: "encoder" if k == "encoder" else "rest", v)
        for k, v in params.items()
    }


def make_optimizer(
    optim: ml_collections.ConfigDict, schedule: optax.Schedule
) -> optax.GradientTransformation:
    """The optimizer ``optim.name`` (lars, sgd, adamw) on ``schedule``, with the masks above.

    ``optim.clip_norm > 0`` clips the gradient's global norm first.
    ``optim.encoder_lr_mult != 1`` gives the parameters under ``'encoder'`` a
    learning rate ``encoder_lr_mult`` times the rest's (fine-tuning: a new
    head learns faster than the pretrained encoder); 0 leaves them unchanged
    (no update, no weight decay).
    """
    tx = _base_optimizer(optim, schedule)
    mult = optim.encoder_lr_mult
    if mult != 1:
        encoder_tx = (
            optax.set_to_zero()
            if mult == 0
            else _base_optimizer(optim, lambda count: mult * schedule(count))
        )
        tx = optax.multi_transform({"encoder": encoder_tx, "rest": tx}, encoder_labels)
    if optim.clip_norm > 0:
        tx = optax.chain(optax.clip_by_global_norm(optim.clip_norm), tx)
    return tx


def _base_optimizer(optim, schedule) -> optax.GradientTransformation:
    if optim.name == "lars":
        tx = optax.lars(
            schedule,
            weight_decay=optim.weight_decay,
            weight_decay_mask=decay_mask,
            trust_coefficient=optim.trust_coefficient,
            trust_ratio_mask=decay_mask,
            momentum=optim.momentum,
            nesterov=optim.nesterov,
        )
    elif optim.name == "sgd":
        tx = optax.chain(
            optax.add_decayed_weights(optim.weight_decay, mask=decay_mask),
            optax.sgd(schedule, momentum=optim.momentum or None, nesterov=optim.nesterov),
        )
    elif optim.name == "adamw":
        tx = optax.adamw(
            schedule, b1=optim.b1, b2=optim.b2, weight_decay=optim.weight_decay, mask=decay_mask
        )
    else:
        raise ValueError(f"optim.name must be one of lars, sgd, adamw, got {optim.name!r}.")
    return tx
