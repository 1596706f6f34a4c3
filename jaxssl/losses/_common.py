"""Shared pieces of the loss library: input checks, reductions, collectives.

Every check here runs at trace time on static information (shapes, dtypes,
Python numbers), so a bad call fails before anything is compiled and the checks
cost nothing inside a compiled step.

The numerics that data and methods share with the losses (normalisation, row
gathering, global sums, the dtype) are defined once in
:mod:`jaxssl._src.numerics` and re-exported here under the names the losses use.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

# The shared numerics are defined once in jaxssl._src.numerics; the names the
# losses import from here are re-exported.
from jaxssl._src import numerics
from jaxssl._src.numerics import NORM_EPS as NORM_EPS
from jaxssl._src.numerics import axis_size as axis_size
from jaxssl._src.numerics import explicitly_sharded, global_sum, replicated_spec
from jaxssl._src.numerics import gather_rows as gather_rows

REDUCTIONS = ("mean", "sum", "none")

# Masked logits get this value instead of -inf: exp() of it underflows to 0 in
# any row that has a real entry, and a row never turns into NaN.
MASK_VALUE = float(np.finfo(np.float32).min) / 2


def compute_dtype(dtype: Any) -> jnp.dtype:
    """The dtype losses compute in: float32, or float64 for float64 inputs."""
    return jnp.promote_types(dtype, jnp.float32)  # as numerics.as_float32


def as_float(x: Any, name: str) -> jax.Array:
    """Returns ``x`` as an array in the compute dtype; rejects non-float input."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"{name} must be a floating-point array, got dtype {x.dtype}.")
    return x.astype(compute_dtype(x.dtype))


def as_int(x: Any, name: str) -> jax.Array:
    """Returns ``x`` as an array; rejects anything but integer dtypes."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.integer):
        raise TypeError(f"{name} must be an integer array, got dtype {x.dtype}.")
    return x


def check_rank(x: jax.Array, name: str, rank: int, layout: str) -> None:
    """Raises ValueError unless ``x`` has ``rank`` dimensions (``layout`` describes them)."""
    if x.ndim != rank:
        raise ValueError(f"{name} must have shape {layout} (rank {rank}), got shape {x.shape}.")


def embedding_pair(z1: Any, z2: Any, name1: str, name2: str) -> tuple[jax.Array, jax.Array]:
    """Checks and returns two ``[N, D]`` float arrays of one shape, in a common dtype."""
    z1, z2 = as_float(z1, name1), as_float(z2, name2)
    check_rank(z1, name1, 2, "[N, D]")
    check_rank(z2, name2, 2, "[N, D]")
    check_same_shape(**{name1: z1, name2: z2})
    dtype = jnp.promote_types(z1.dtype, z2.dtype)
    return z1.astype(dtype), z2.astype(dtype)


def labelled_embeddings(embeddings: Any, labels: Any) -> tuple[jax.Array, jax.Array]:
    """Checks and returns ``([N, D] float embeddings, [N] integer labels)``."""
    z = as_float(embeddings, "embeddings")
    y = as_int(labels, "labels")
    check_rank(z, "embeddings", 2, "[N, D]")
    check_not_empty(z, "embeddings")
    if y.shape != z.shape[:1]:
        raise ValueError(
            f"labels must have shape [N] = ({z.shape[0]},) to match embeddings {z.shape}, "
            f"got shape {y.shape}."
        )
    return z, y


def check_not_empty(x: jax.Array, name: str) -> None:
    """Raises ValueError for an array with no elements: a loss over nothing is undefined.

    (Its mean would be 0 / 0 = NaN, and its sum a 0 that trains nothing.)
    """
    if x.size == 0:
        raise ValueError(
            f"{name} is empty (shape {x.shape}): a loss needs at least one example "
            "with at least one value."
        )


def check_min_rank(x: jax.Array, name: str, rank: int, layout: str) -> None:
    """Raises ValueError unless ``x`` has at least ``rank`` dimensions."""
    if x.ndim < rank:
        raise ValueError(f"{name} must have shape {layout} (rank >= {rank}), got shape {x.shape}.")


def check_same_shape(**arrays: jax.Array) -> None:
    """Raises ValueError unless every keyword array has the same shape."""
    shapes = {name: tuple(a.shape) for name, a in arrays.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"{' and '.join(shapes)} must have the same shape, got {listed}.")


def check_choice(value: Any, name: str, choices: Sequence[str]) -> None:
    """Raises ValueError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}.")


def _concrete_scalar(value: Any, name: str) -> float | None:
    """``float(value)`` if it is known at trace time, else None (a traced value)."""
    if jnp.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got shape {jnp.shape(value)}.")
    if isinstance(value, jax.core.Tracer):
        return None
    return float(value)


def check_positive(value: Any, name: str) -> None:
    """Raises ValueError if ``value`` is known at trace time and not > 0 (NaN included)."""
    v = _concrete_scalar(value, name)
    if v is not None and not v > 0:
        raise ValueError(f"{name} must be > 0, got {v}.")


def check_nonnegative(value: Any, name: str) -> None:
    """Raises ValueError if ``value`` is known at trace time and not >= 0 (NaN included)."""
    v = _concrete_scalar(value, name)
    if v is not None and not v >= 0:
        raise ValueError(f"{name} must be >= 0, got {v}.")


def check_in_range(value: Any, name: str, low: float, high: float) -> None:
    """Raises ValueError if ``value`` is known at trace time and outside [low, high]."""
    v = _concrete_scalar(value, name)
    if v is not None and not low <= v <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {v}.")


def l2_normalize(x: jax.Array) -> jax.Array:
    """The losses' normalisation: ``x / max(||x||_2, NORM_EPS)`` along the last axis.

    :func:`jaxssl._src.numerics.l2_normalize` with ``eps=NORM_EPS`` (1e-6),
    form ``'rsqrt'``: ``x * rsqrt(max(sum(x**2), NORM_EPS**2))``.
    """
    return numerics.l2_normalize(x, eps=NORM_EPS, form="rsqrt")


def safe_root(s: jax.Array, p: float) -> jax.Array:
    """``s ** (1/p)`` for ``s >= 0`` with a zero (not NaN/inf) gradient at ``s == 0``."""
    positive = s > 0
    safe = jnp.where(positive, s, 1.0)
    root = jnp.sqrt(safe) if p == 2 else safe ** (1.0 / p)
    return jnp.where(positive, root, 0.0)


def bce_with_logits(x: jax.Array, t: jax.Array) -> jax.Array:
    """Elementwise ``-t log σ(x) - (1-t) log(1-σ(x))``.

    Written as ``max(x, 0) - t x + log1p(exp(-|x|))``: the equal form
    ``softplus(x) - t x`` cancels catastrophically for large ``x`` with
    ``t = 1`` (it gives 0 at x = 30 in float32, not 9.4e-14).
    """
    return jax.nn.relu(x) - t * x + jnp.log1p(jnp.exp(-jnp.abs(x)))


# --- collectives ------------------------------------------------------------


def batch_contract(a: jax.Array, b: jax.Array) -> jax.Array:
    """``a.T @ b``, contracting the batch axis ``[N, D1] x [N, D2] -> [D1, D2]``.

    When the batch is explicitly sharded the result is asked for replicated:
    XLA then multiplies locally and all-reduces the small D1 x D2 result.
    """
    if explicitly_sharded(a) or explicitly_sharded(b):
        return jnp.matmul(a.T, b, out_sharding=replicated_spec(2))
    return a.T @ b


def self_mask(n_local: int, n_global: int, offset: jax.Array | int) -> jax.Array:
    """``[n_local, n_global]`` boolean, True where a local row meets its own global column."""
    return jnp.arange(n_global)[None, :] == (offset + jnp.arange(n_local))[:, None]


def reduce_examples(
    per_example: jax.Array,
    reduction: str,
    *,
    axis_name: Hashable | None = None,
    weights: jax.Array | None = None,
) -> jax.Array:
    """Applies ``reduction`` to per-example losses, over the global batch.

    Args:
      per_example: losses of this device's examples, any shape.
      reduction: ``'mean'`` (weighted mean over all examples of all devices),
        ``'sum'`` or ``'none'`` (returns ``per_example`` unchanged).
      axis_name: devices to reduce over, or None.
      weights: how many loss terms each entry stands for (0 excludes it from
        the mean's denominator; its loss must then already be 0). The mean of
        an all-zero weight vector is 0, never NaN.
    """
    if reduction == "none":
        return per_example
    if reduction == "mean" and weights is None:
        return numerics.global_mean(per_example, axis_name)
    total = global_sum(jnp.sum(per_example), axis_name)
    if reduction == "sum":
        return total
    count = jnp.maximum(global_sum(jnp.sum(weights), axis_name), 1)
    return total / count
