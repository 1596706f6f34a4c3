"""Pieces shared by the model modules: convolutions, BatchNorm set-up and argument checks."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

_lecun_normal = nn.initializers.lecun_normal()


def lecun_normal_kernel(key, shape, dtype=jnp.float32):
    """Flax's default kernel initialiser (LeCun normal), drawn as a matrix and reshaped.

    Bit for bit what ``nn.initializers.lecun_normal()(key, shape, dtype)``
    gives (``tests/models/test_models.py`` checks it): JAX's (partitionable)
    threefry numbers element ``i`` of the flat array the same whatever its
    shape, and the fan-in, the product of every axis but the last, is the
    same for ``shape`` and ``[prod(shape[:-1]), shape[-1]]``. Written here
    because XLA:CPU compiles the random bits of a 4-D array an order of
    magnitude slower than those of a matrix (jax 0.10.2 on a 2-core x86 CPU:
    2.9 s against 0.2 s for one 3x3x8x16 kernel), and a model's
    initialisation, a convolution kernel per layer, was the slowest compile
    of a small run.
    """
    if len(shape) <= 2:
        return _lecun_normal(key, shape, dtype)
    return _lecun_normal(key, (math.prod(shape[:-1]), shape[-1]), dtype).reshape(shape)


# Flax's convolutions with that initialiser (the modules, names and parameter
# trees are Flax's own); every model here builds its convolutions from these.
Conv = functools.partial(nn.Conv, kernel_init=lecun_normal_kernel)
ConvTranspose = functools.partial(nn.ConvTranspose, kernel_init=lecun_normal_kernel)


@jax.custom_vjp
def _window_max(windows):
    """The max over the last axis (a pooling window's elements, in row-major order)."""
    return windows.max(axis=-1)


def _window_max_fwd(windows):
    return windows.max(axis=-1), windows


def _window_max_bwd(windows, g):
    # all of the gradient to the window's first largest element, as XLA's
    # select-and-scatter gives it (jnp.max's own gradient splits ties evenly,
    # and equal activations in a window are common on quantised images)
    first = jax.nn.one_hot(jnp.argmax(windows, axis=-1), windows.shape[-1], dtype=g.dtype)
    return (first * g[..., None],)


_window_max.defvjp(_window_max_fwd, _window_max_bwd)


def max_pool_2x2(x, padding: str = "SAME"):
    """``nn.max_pool(x, (2, 2), strides=(2, 2), padding=padding)``, with a cheaper gradient.

    The same numbers forward and backward (the gradient goes to each
    window's first largest element, as with ``nn.max_pool``); the windows
    are a reshape, their max a reduction, and the gradient a one-hot of the
    argmax. Written here because XLA:CPU's select-and-scatter, the gradient
    of ``nn.max_pool``, is slow: the small CNN's forward and backward on 512
    28x28 images took 976 ms with it and 653 ms this way (2-core x86 CPU,
    jax 0.10.2; docs/performance.md).

    Args:
      x: ``[B, H, W, C]``.
      padding: ``'SAME'`` (an odd side gets a window of its last row or
        column alone, as Flax pads it with -inf at the far edge) or
        ``'VALID'`` (an odd last row or column is dropped).
    """
    b, h, w, c = x.shape
    if padding == "SAME":
        x = jnp.pad(x, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), constant_values=-jnp.inf)
    elif padding == "VALID":
        x = x[:, : h - h % 2, : w - w % 2]
    else:
        raise ValueError(f"padding must be 'SAME' or 'VALID', got {padding!r}.")
    h2, w2 = x.shape[1] // 2, x.shape[2] // 2
    windows = x.reshape(b, h2, 2, w2, 2, c).transpose(0, 1, 3, 5, 2, 4).reshape(b, h2, w2, c, 4)
    return _window_max(windows)


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
