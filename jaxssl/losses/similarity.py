r"""Non-contrastive similarity losses: cosine (SimSiam) and BYOL's normalised MSE.

Neither applies a stop-gradient: SimSiam and BYOL stop the gradient into the
target branch, and that is the caller's choice (``lax.stop_gradient(z)``),
because the same loss is also used symmetrised or with gradients on both sides.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxssl.losses._common import (
    REDUCTIONS,
    as_float,
    check_choice,
    check_min_rank,
    check_not_empty,
    check_same_shape,
    l2_normalize,
    reduce_examples,
)


def _cosine(x, y, name_x: str, name_y: str) -> jax.Array:
    x, y = as_float(x, name_x), as_float(y, name_y)
    check_min_rank(x, name_x, 1, "[..., D]")
    check_not_empty(x, name_x)
    check_same_shape(**{name_x: x, name_y: y})
    dtype = jnp.promote_types(x.dtype, y.dtype)
    return jnp.sum(l2_normalize(x.astype(dtype)) * l2_normalize(y.astype(dtype)), axis=-1)


def cosine_similarity_loss(x: jax.Array, y: jax.Array, *, reduction: str = "mean") -> jax.Array:
    r"""One minus cosine similarity, :math:`1 - \cos(x, y)`.

    .. math::

        \ell = 1 - \frac{x \cdot y}{\lVert x\rVert\,\lVert y\rVert}

    SimSiam's loss :math:`D(p, z) = -\cos(p, z)` is this minus 1; the constant
    changes no gradient and keeps the loss in [0, 2].

    Args:
      x: ``[..., D]`` float vectors (norms floored at 1e-6).
      y: ``[..., D]``, same shape.
      reduction: ``'mean'`` over the leading positions, ``'sum'``, or
        ``'none'`` (shape ``[...]``).

    Returns:
      The loss, float32 (float64 for float64 inputs).

    Raises:
      TypeError: non-float inputs.
      ValueError: shapes differ, rank 0, unknown ``reduction``.

    References:
      Chen and He, "Exploring Simple Siamese Representation Learning", CVPR
      2021, eq. (1).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> float(losses.cosine_similarity_loss(jnp.array([1.0, 0.0]), jnp.array([0.0, 2.0])))
      1.0
    """
    check_choice(reduction, "reduction", REDUCTIONS)
    return reduce_examples(1.0 - _cosine(x, y, "x", "y"), reduction)


def byol_loss(p: jax.Array, z: jax.Array, *, reduction: str = "mean") -> jax.Array:
    r"""BYOL's loss: squared distance of the L2-normalised vectors, :math:`2 - 2\cos(p, z)`.

    .. math::

        \ell = \Bigl\lVert \frac{p}{\lVert p\rVert} - \frac{z}{\lVert z\rVert}\Bigr\rVert_2^2
             = 2 - 2\,\frac{p \cdot z}{\lVert p\rVert \lVert z\rVert}

    BYOL symmetrises it over the two views and stops the gradient into the
    target projection ``z``; both are the caller's, see the module notes.

    Args:
      p: ``[..., D]`` online predictions (float).
      z: ``[..., D]`` target projections, same shape.
      reduction: ``'mean'``, ``'sum'`` or ``'none'`` (shape ``[...]``).

    Returns:
      The loss, float32 (float64 for float64 inputs).

    Raises:
      TypeError: non-float inputs.
      ValueError: shapes differ, rank 0, unknown ``reduction``.

    References:
      Grill et al., "Bootstrap Your Own Latent", NeurIPS 2020, eq. (2).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> float(losses.byol_loss(jnp.array([1.0, 0.0]), jnp.array([-3.0, 0.0])))
      4.0
    """
    check_choice(reduction, "reduction", REDUCTIONS)
    return reduce_examples(2.0 - 2.0 * _cosine(p, z, "p", "z"), reduction)
