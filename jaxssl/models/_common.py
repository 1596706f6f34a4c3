"""Pieces shared by the model modules: BatchNorm set-up and argument checks."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn


def check_choice(value, name: str, choices: Sequence[str]) -> None:
    """Raises ValueError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}.")


def check_positive_int(value, name: str) -> None:
    """Raises ValueError unless ``value`` is an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")


def check_image_shape(x, image_shape) -> None:
    """Raises ValueError unless ``x`` is ``[B, *image_shape]``."""
    if tuple(x.shape[1:]) != tuple(image_shape):
        raise ValueError(
            f"images must have shape [B, {', '.join(map(str, image_shape))}] "
            f"(image_shape), got shape {x.shape}."
        )


def batch_norm(
    owner: nn.Module, train: bool, *, zero_scale: bool = False, name: str | None = None
) -> nn.BatchNorm:
    """A BatchNorm configured from ``owner``'s fields, created inside its compact method.

    Batch statistics while training, running averages otherwise; statistics
    reduced over ``owner.axis_name`` (cross-replica under pmap/shard_map) and
    kept in float32 whatever ``owner.dtype`` is (Flax promotes them).
    """
    return nn.BatchNorm(
        use_running_average=not train,
        momentum=getattr(owner, "bn_momentum", 0.9),
        epsilon=1e-5,
        axis_name=getattr(owner, "axis_name", None),
        dtype=owner.dtype,
        param_dtype=owner.param_dtype,
        scale_init=nn.initializers.zeros if zero_scale else nn.initializers.ones,
        name=name,
    )
