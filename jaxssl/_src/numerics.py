r"""The numerics that losses, data and methods share: one definition of each.

* :func:`l2_normalize`: :math:`x / \max(\lVert x \rVert_2, \epsilon)` along the
  last axis, with the floor :math:`\epsilon` always given by the caller;
* :func:`gather_rows`: the rows of every device along a ``pmap`` /
  ``shard_map`` axis, in global order;
* :func:`axis_size`, :func:`global_sum`, :func:`global_mean`,
  :func:`global_mean_rows`: sums and means over the global batch;
* :func:`example_keys`: one PRNG key per example from its global index;
* :func:`as_float32`: the precision reductions and losses compute in.

Every function takes ``axis_name=None`` to mean "the arrays are already
global" (plain ``jit``, possibly over sharded inputs) and a named axis to
mean "this device's share, under ``pmap`` or ``shard_map`` over that axis";
both give the same numbers for the same global batch.

This module imports JAX only, so :mod:`jaxssl.losses`, :mod:`jaxssl.data`
and :mod:`jaxssl.methods` all use it without importing each other.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Literal

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import PartitionSpec

# The norm floor of jaxssl.losses: every loss normalises with
# l2_normalize(x, eps=NORM_EPS), i.e. x / max(||x||, 1e-6).
NORM_EPS = 1e-6

NORM_FORMS = ("rsqrt", "divide")


def as_float32(x: jax.Array) -> jax.Array:
    """``x`` in at least float32: bool, integers, bf16 and float16 -> float32; float64 stays."""
    return x.astype(jnp.promote_types(x.dtype, jnp.float32))


# --- normalisation ------------------------------------------------------------


def l2_normalize(
    x: jax.Array, *, eps: float, form: Literal["rsqrt", "divide"] = "rsqrt"
) -> jax.Array:
    r"""``x / max(||x||_2, eps)`` along the last axis; a zero row stays zero.

    Two float forms of that one formula, which agree to about one unit in the
    last place (float32: max abs difference 1.2e-7 on unit vectors, ~30% of
    entries differ) but not bit for bit, so each caller names its own:

    * ``'rsqrt'`` (the losses'): ``x * rsqrt(max(sum(x**2), eps**2))``, one
      reciprocal square root per row and a multiply per entry;
    * ``'divide'``: ``x / max(jnp.linalg.norm(x), eps)``, a square root per
      row and a divide per entry.

    Args:
      x: ``[..., D]`` floats.
      eps: the norm floor, > 0: rows shorter than ``eps`` are divided by
        ``eps`` instead of their norm (so zero stays zero, never NaN). The
        losses use :data:`NORM_EPS` (1e-6).
      form: ``'rsqrt'`` or ``'divide'`` (see above).

    Returns:
      An array of ``x``'s shape and dtype.

    Raises:
      ValueError: ``eps`` known at trace time and not > 0, or an unknown ``form``.

    Example:
      >>> import jax.numpy as jnp
      >>> l2_normalize(jnp.array([[3.0, 4.0], [0.0, 0.0]]), eps=1e-6)
      Array([[0.6, 0.8],
             [0. , 0. ]], dtype=float32)
    """
    if form not in NORM_FORMS:
        raise ValueError(f"form must be one of {NORM_FORMS}, got {form!r}.")
    if isinstance(eps, int | float) and not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}.")
    if form == "divide":
        return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), eps)
    sq = jnp.sum(x * x, axis=-1, keepdims=True)
    return x * lax.rsqrt(jnp.maximum(sq, eps**2))


# --- collectives ------------------------------------------------------------


def axis_size(axis_name: Hashable | None) -> int:
    """Number of devices along ``axis_name`` (1 when None). A static Python int."""
    return 1 if axis_name is None else int(lax.axis_size(axis_name))


def global_sum(x: jax.Array, axis_name: Hashable | None) -> jax.Array:
    """Sum over the devices of ``axis_name`` (``psum``); ``x`` itself when None."""
    return x if axis_name is None else lax.psum(x, axis_name)


def global_mean(x: jax.Array, axis_name: Hashable | None) -> jax.Array:
    """The mean of every entry of ``x`` over the global batch: a scalar, in at least float32.

    ``sum(x)`` summed over the devices of ``axis_name``, divided by the global
    count ``x.size * devices``. Under ``pmap`` every device holds the same
    global mean, and the mean (``pmean``) of the devices' gradients is its
    exact gradient. Bool entries count as 0/1 (a global fraction).
    """
    x = as_float32(x)
    return global_sum(jnp.sum(x), axis_name) / (x.size * axis_size(axis_name))


def global_mean_rows(x: jax.Array, axis_name: Hashable | None) -> jax.Array:
    """The mean of ``x``'s rows over the global batch: ``[D]`` for ``[N, D]``."""
    return global_sum(jnp.sum(x, axis=0), axis_name) / (x.shape[0] * axis_size(axis_name))


def explicitly_sharded(x: jax.Array) -> bool:
    """Whether ``x``'s type carries a sharding over an Explicit mesh axis.

    That is the case under ``jax.jit`` with a mesh made by ``jax.make_mesh``
    (whose axes are Explicit by default) and ``jax.set_mesh``. There, an op
    whose output sharding would be ambiguous, such as rows against rows both
    sharded over 'data', is an error instead of a choice left to XLA.
    """
    spec = getattr(getattr(jax.typeof(x), "sharding", None), "spec", None)
    return spec is not None and any(entry is not None for entry in spec)


def replicated_spec(ndim: int) -> PartitionSpec:
    """The ``PartitionSpec`` of a replicated array of rank ``ndim``."""
    return PartitionSpec(*([None] * ndim))


def gather_rows(x: jax.Array, axis_name: Hashable | None) -> tuple[jax.Array, jax.Array | int]:
    """All-gathers ``x`` along its first axis; returns (global rows, offset of local rows).

    The global rows are every device's in device order (device 0's first),
    i.e. the global batch; the offset is where this device's rows start in it.
    The transpose of the gather sends each device the gradient of the rows it
    owns, summed over every device that used them. Without ``axis_name`` the
    rows are already global (offset 0); if they are explicitly sharded they
    are replicated here, so that anchors (sharded) against candidates
    (replicated) has an unambiguous row-sharded result: the same all-gather
    that XLA inserts on its own under Auto sharding.
    """
    if axis_name is None:
        if explicitly_sharded(x):
            return jax.reshard(x, replicated_spec(x.ndim)), 0
        return x, 0
    gathered = lax.all_gather(x, axis_name, axis=0, tiled=True)
    return gathered, lax.axis_index(axis_name) * x.shape[0]


# --- per-example randomness -----------------------------------------------------


def example_keys(rng: jax.Array, indices: jax.Array, view: int | None = 0) -> jax.Array:
    """One key per example from its global index: ``[B]`` keys for ``[B]`` indices.

    Example ``b``'s key is ``fold_in(fold_in(rng, view), indices[b])``, or
    ``fold_in(rng, indices[b])`` with ``view=None``. An example draws the
    same numbers wherever it sits in a batch, and whether the batch is one
    global array (jit) or split over devices (pmap); ``view`` (an augmented
    view's number) makes the views of one example differ.
    """
    if view is not None:
        rng = jax.random.fold_in(rng, view)
    return jax.vmap(lambda i: jax.random.fold_in(rng, i))(indices)
