r"""Metric-learning losses: triplet margin loss and in-batch triplet mining.

Distances are exact p-norms, with a zero (not NaN) gradient where two points
coincide; no epsilon is added to them.
"""

from __future__ import annotations

from collections.abc import Hashable

import jax
import jax.numpy as jnp

from jaxssl.losses._common import (
    REDUCTIONS,
    as_float,
    check_choice,
    check_min_rank,
    check_nonnegative,
    check_not_empty,
    check_same_shape,
    gather_rows,
    labelled_embeddings,
    reduce_examples,
    safe_root,
    self_mask,
)

MINING = ("hard", "semi-hard", "all")


def _pnorm(diff: jax.Array, p: float) -> jax.Array:
    if p == 2:
        return safe_root(jnp.sum(diff * diff, axis=-1), 2)
    return safe_root(jnp.sum(jnp.abs(diff) ** p, axis=-1), p)


def triplet_margin(
    anchors: jax.Array,
    positives: jax.Array,
    negatives: jax.Array,
    *,
    margin: float = 1.0,
    p: float = 2.0,
    reduction: str = "mean",
) -> jax.Array:
    r"""Triplet margin loss on given (anchor, positive, negative) triplets.

    .. math::

        \ell_i = \max\bigl(0,\; d(a_i, p_i) - d(a_i, n_i) + m\bigr),\qquad
        d(x, y) = \Bigl(\sum_k |x_k - y_k|^p\Bigr)^{1/p}

    Correct for every :math:`p \ge 1`. (``optax.losses.triplet_margin_loss``
    computes ``power(a - p, norm_degree)`` without the absolute value, so its
    p=1 "distance" is a signed sum; for p=2 it agrees with this one, up to the
    ``eps=1e-6`` it adds under the root.)

    Args:
      anchors: ``[..., D]`` float embeddings.
      positives: ``[..., D]``, same shape.
      negatives: ``[..., D]``, same shape.
      margin: :math:`m \ge 0`.
      p: norm degree, ``>= 1``.
      reduction: ``'mean'`` (over all leading positions), ``'sum'`` or ``'none'``
        (shape ``[...]``).

    Returns:
      The loss, float32 (float64 for float64 inputs).

    Raises:
      TypeError: non-float inputs.
      ValueError: shapes differ, rank 0, ``margin < 0``, ``p < 1``, unknown
        ``reduction``.

    References:
      Schroff et al., "FaceNet", CVPR 2015, eq. (1); Balntas et al., "Learning
      local feature descriptors with triplets and shallow convolutional neural
      networks", BMVC 2016.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> a, pos, neg = jnp.zeros((1, 2)), jnp.array([[3.0, 4.0]]), jnp.array([[1.0, 0.0]])
      >>> float(losses.triplet_margin(a, pos, neg, margin=1.0))  # 5 - 1 + 1
      5.0
    """
    a = as_float(anchors, "anchors")
    pos = as_float(positives, "positives")
    neg = as_float(negatives, "negatives")
    check_min_rank(a, "anchors", 1, "[..., D]")
    check_not_empty(a, "anchors")
    check_same_shape(anchors=a, positives=pos, negatives=neg)
    check_nonnegative(margin, "margin")
    if not p >= 1:
        raise ValueError(f"p must be >= 1 (a norm), got {p}.")
    check_choice(reduction, "reduction", REDUCTIONS)
    dtype = jnp.result_type(a, pos, neg)
    a, pos, neg = a.astype(dtype), pos.astype(dtype), neg.astype(dtype)
    per_example = jax.nn.relu(_pnorm(a - pos, p) - _pnorm(a - neg, p) + margin)
    return reduce_examples(per_example, reduction)


def _pairwise_distance(x: jax.Array, y: jax.Array, squared: bool) -> jax.Array:
    # ||x||² + ||y||² - 2 x·y keeps memory at O(n·N) instead of the O(n·N·D)
    # of broadcasting differences; the clamp removes tiny negative round-off.
    sq = jnp.sum(x * x, axis=1)[:, None] + jnp.sum(y * y, axis=1)[None, :] - 2.0 * (x @ y.T)
    sq = jnp.maximum(sq, 0.0)
    return sq if squared else safe_root(sq, 2)


def batch_triplet(
    embeddings: jax.Array,
    labels: jax.Array,
    *,
    margin: float = 1.0,
    mining: str = "hard",
    squared: bool = False,
    axis_name: Hashable | None = None,
    reduction: str = "mean",
) -> jax.Array:
    r"""Triplet loss with triplets mined inside the batch.

    :math:`d` is the Euclidean distance (squared with ``squared=True``); a
    positive of anchor :math:`a` is any other example with its label, a
    negative any example with another label; :math:`[x]_+ = \max(0, x)`.

    * ``'hard'`` (batch-hard): one term per anchor with a positive and a
      negative, :math:`[\max_p d_{ap} - \min_n d_{an} + m]_+`.
    * ``'semi-hard'``: one term per positive pair :math:`(a, p)`, using the
      closest negative farther than the positive,
      :math:`n^* = \arg\min\{d_{an} : d_{an} > d_{ap}\}`, or when there is none
      the farthest negative (FaceNet's semi-hard rule as in TF-Addons'
      ``triplet_semihard_loss``): :math:`[d_{ap} - d_{an^*} + m]_+`.
    * ``'all'`` (batch-all): one term per valid triplet :math:`(a, p, n)`,
      :math:`[d_{ap} - d_{an} + m]_+`, zeros included.

    ``'mean'`` is the mean over those terms, ``'sum'`` their sum, and
    ``'none'`` gives each anchor's summed terms, ``[N]`` (so ``'sum'`` equals
    the sum of ``'none'``). Anchors with no positive or no negative add no
    term; if there is none the loss is 0. Memory is O(N²) for ``'hard'`` and
    O(N³) for the other two.

    Args:
      embeddings: ``[N, D]`` float embeddings (not normalised here).
      labels: ``[N]`` integer labels.
      margin: :math:`m \ge 0`.
      mining: ``'hard'``, ``'semi-hard'`` or ``'all'``.
      squared: use squared Euclidean distances.
      axis_name: as in :func:`nt_xent`: each device's anchors are mined
        against the embeddings of every device.
      reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Returns:
      The loss, float32 (float64 for float64 inputs).

    Raises:
      TypeError: non-float embeddings or non-integer labels.
      ValueError: wrong ranks, ``labels`` not of length N, ``margin < 0``,
        unknown ``mining`` or ``reduction``.

    References:
      Hermans, Beyer and Leibe, "In Defense of the Triplet Loss for Person
      Re-Identification", 2017 (batch-hard, batch-all). Schroff et al.,
      "FaceNet", CVPR 2015, section 3.2 (semi-hard).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> z = jnp.array([[0.0], [2.0], [2.5], [5.0]])
      >>> y = jnp.array([0, 0, 1, 1])
      >>> float(losses.batch_triplet(z, y, margin=1.0))  # (0.5 + 2.5 + 3 + 0.5) / 4
      1.625
    """
    z, y = labelled_embeddings(embeddings, labels)
    check_nonnegative(margin, "margin")
    check_choice(mining, "mining", MINING)
    check_choice(reduction, "reduction", REDUCTIONS)

    all_z, offset = gather_rows(z, axis_name)
    all_y, _ = gather_rows(y, axis_name)
    d = _pairwise_distance(z, all_z, squared)  # [n, N]
    is_self = self_mask(z.shape[0], all_z.shape[0], offset)
    same = y[:, None] == all_y[None, :]
    pos = same & ~is_self
    neg = ~same
    has_neg = jnp.any(neg, axis=1)

    if mining == "hard":
        valid = jnp.any(pos, axis=1) & has_neg
        hardest_pos = jnp.max(jnp.where(pos, d, -jnp.inf), axis=1)
        hardest_neg = jnp.min(jnp.where(neg, d, jnp.inf), axis=1)
        # The inner where keeps inf out of the arithmetic (and its gradient).
        gap = jnp.where(valid, hardest_pos - hardest_neg, 0.0)
        per_anchor = jnp.where(valid, jax.nn.relu(gap + margin), 0.0)
        count = valid.astype(d.dtype)
    elif mining == "semi-hard":
        d_ap = d[:, :, None]  # [n, P, 1]
        d_an = d[:, None, :]  # [n, 1, Nn]
        farther = neg[:, None, :] & (d_an > d_ap)
        closest_farther = jnp.min(jnp.where(farther, d_an, jnp.inf), axis=2)
        farthest = jnp.max(jnp.where(neg, d, -jnp.inf), axis=1)[:, None]
        chosen = jnp.where(jnp.any(farther, axis=2), closest_farther, farthest)
        unit = pos & has_neg[:, None]
        terms = jax.nn.relu(d - jnp.where(unit, chosen, 0.0) + margin)
        per_anchor = jnp.sum(jnp.where(unit, terms, 0.0), axis=1)
        count = jnp.sum(unit, axis=1).astype(d.dtype)
    else:  # "all"
        unit = pos[:, :, None] & neg[:, None, :]
        terms = jax.nn.relu(d[:, :, None] - d[:, None, :] + margin)
        per_anchor = jnp.sum(jnp.where(unit, terms, 0.0), axis=(1, 2))
        count = jnp.sum(unit, axis=(1, 2)).astype(d.dtype)
    return reduce_examples(per_anchor, reduction, axis_name=axis_name, weights=count)
