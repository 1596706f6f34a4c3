r"""Blockwise log-sum-exp over similarity logits, without the full logits matrix.

:func:`blockwise_logsumexp` computes, for every anchor row :math:`a_i`,

.. math::

    \operatorname{lse}_i = \log \sum_{j \ne s(i)} \exp(a_i \cdot c_j)

over all candidate rows :math:`c_j` except an optional excluded column
:math:`s(i)` (the anchor itself in NT-Xent), visiting the candidates ``K`` at a
time with a running maximum and a running sum (the online softmax of Milakov &
Gimelshein 2018, as in FlashAttention). Its custom VJP keeps only the anchors,
the candidates and ``lse`` and recomputes each ``[A, K]`` block in the
backward pass, so the extra memory is ``O(A*K + (A + C)*D)``, never ``O(A*C)``.

Why by hand: no library in the stack (optax, jax.nn) offers a log-sum-exp over
a product ``A @ C.T`` that is never materialised; autodiff of a plain
``lax.scan`` would store every block for the backward pass, which is exactly
the ``O(A*C)`` memory this avoids.

Candidates that do not fill the last block are padded with zero rows and
masked, so any ``K`` works. Sharding: the running statistics are made from the
anchors, so under ``jit`` with row-sharded anchors (Auto or Explicit mesh axes)
every device keeps its own rows and scans over the replicated candidates; the
candidate gradient is contracted over the anchors with a replicated result,
which XLA lowers to a local product plus an all-reduce of a ``[K, D]`` block.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

from jaxssl.losses._common import MASK_VALUE, batch_contract

NO_COLUMN = -1  # excluded-column index that matches no candidate


def _blocks(candidates: jax.Array, chunk_size: int) -> tuple[jax.Array, jax.Array]:
    """Splits ``[C, D]`` into ``[B, K, D]`` zero-padded blocks and their ``[B, K]`` column ids."""
    c = candidates.shape[0]
    k = min(chunk_size, c)
    n_blocks = -(-c // k)
    pad = n_blocks * k - c
    if pad:
        candidates = jnp.concatenate(
            [candidates, jnp.zeros((pad, candidates.shape[1]), candidates.dtype)]
        )
    cols = jnp.arange(n_blocks * k, dtype=jnp.int32).reshape(n_blocks, k)
    return candidates.reshape(n_blocks, k, candidates.shape[1]), cols


def _masked_logits(anchors, block, cols, n_candidates, excluded):
    """``anchors @ block.T`` with padding and each row's excluded column set to MASK_VALUE."""
    logits = anchors @ block.T
    drop = (cols[None, :] >= n_candidates) | (cols[None, :] == excluded[:, None])
    return jnp.where(drop, MASK_VALUE, logits), drop


def _forward(anchors, candidates, excluded, positive, positive_col, chunk_size, with_stats):
    n_candidates = candidates.shape[0]
    blocks, cols = _blocks(candidates, chunk_size)
    # Carries derived from the anchors inherit their sharding (a fresh
    # jnp.full would be replicated and not match the row-sharded body output
    # under an Explicit mesh).
    zeros = jnp.zeros_like(anchors[:, 0])
    init = (zeros + MASK_VALUE, zeros, zeros.astype(jnp.int32), zeros)

    def body(carry, block_and_cols):
        run_max, run_sum, rank, row_sum = carry
        block, block_cols = block_and_cols
        logits, drop = _masked_logits(anchors, block, block_cols, n_candidates, excluded)
        # The online form of logsumexp: every exp is of a logit minus the
        # running max (<= 0), never an unshifted exp, so nothing overflows.
        new_max = jnp.maximum(run_max, jnp.max(logits, axis=1))
        run_sum = run_sum * jnp.exp(run_max - new_max) + jnp.sum(
            jnp.exp(logits - new_max[:, None]), axis=1
        )
        if with_stats:
            # The positive's own column is skipped by index: its matmul logit
            # may differ from `positive` in the last bit.
            higher = (logits > positive[:, None]) & (block_cols[None, :] != positive_col[:, None])
            rank = rank + jnp.sum(higher & ~drop, axis=1, dtype=jnp.int32)
            row_sum = row_sum + jnp.sum(jnp.where(drop, 0.0, logits), axis=1)
        return (new_max, run_sum, rank, row_sum), None

    (run_max, run_sum, rank, row_sum), _ = lax.scan(body, init, (blocks, cols))
    return run_max + jnp.log(run_sum), rank, row_sum


@partial(jax.custom_vjp, nondiff_argnums=(5, 6))
def _blockwise_lse(anchors, candidates, excluded, positive, positive_col, chunk_size, with_stats):
    return _forward(anchors, candidates, excluded, positive, positive_col, chunk_size, with_stats)


def _blockwise_lse_fwd(
    anchors, candidates, excluded, positive, positive_col, chunk_size, with_stats
):
    out = _forward(anchors, candidates, excluded, positive, positive_col, chunk_size, with_stats)
    return out, (anchors, candidates, excluded, out[0])


def _blockwise_lse_bwd(chunk_size, with_stats, residuals, cotangents):
    # d lse_i / d a_i = sum_j p_ij c_j and d lse_i / d c_j = p_ij a_i with
    # p_ij = exp(a_i . c_j - lse_i), recomputed block by block. The rank and
    # row-sum statistics are not differentiable and their cotangents ignored.
    anchors, candidates, excluded, lse = residuals
    g = cotangents[0]
    n_candidates = candidates.shape[0]
    blocks, cols = _blocks(candidates, chunk_size)

    def body(grad_anchors, block_and_cols):
        block, block_cols = block_and_cols
        logits, _ = _masked_logits(anchors, block, block_cols, n_candidates, excluded)
        weights = jnp.exp(logits - lse[:, None]) * g[:, None]  # masked entries are exactly 0
        return grad_anchors + weights @ block, batch_contract(weights, anchors)

    grad_anchors, grad_blocks = lax.scan(body, jnp.zeros_like(anchors), (blocks, cols))
    grad_candidates = grad_blocks.reshape(-1, anchors.shape[1])[:n_candidates]
    return grad_anchors, grad_candidates, None, None, None


_blockwise_lse.defvjp(_blockwise_lse_fwd, _blockwise_lse_bwd)


def blockwise_logsumexp(
    anchors: jax.Array,
    candidates: jax.Array,
    *,
    chunk_size: int,
    excluded: jax.Array | None = None,
    positive: tuple[jax.Array, jax.Array] | None = None,
) -> tuple[jax.Array, jax.Array | None, jax.Array | None]:
    """Row-wise log-sum-exp of ``anchors @ candidates.T``, ``chunk_size`` candidates at a time.

    Args:
      anchors: ``[A, D]`` float rows (already scaled by ``1/temperature``).
      candidates: ``[C, D]`` float rows, same dtype.
      chunk_size: candidates per block (clamped to ``C``; need not divide it).
      excluded: optional ``[A]`` int column index left out of each row's sum
        (``NO_COLUMN`` for none).
      positive: optional ``(logit [A], column [A])`` of each row's positive.
        When given, also returns each row's rank (number of kept candidates
        other than the positive scoring strictly higher than it) and the sum
        of its kept logits, from the same blocks.

    Returns:
      ``(lse [A], rank [A] or None, row_sum [A] or None)``; only ``lse`` is
      differentiable (w.r.t. anchors and candidates).
    """
    if excluded is None:
        excluded = jnp.full((anchors.shape[0],), NO_COLUMN, jnp.int32)
    with_stats = positive is not None
    if with_stats:
        pos, pos_col = lax.stop_gradient(positive[0]), positive[1]
    else:
        pos, pos_col = jnp.zeros_like(anchors[:, 0]), excluded
    lse, rank, row_sum = _blockwise_lse(
        anchors, candidates, excluded, pos, pos_col, chunk_size, with_stats
    )
    if not with_stats:
        return lse, None, None
    return lse, lax.stop_gradient(rank), lax.stop_gradient(row_sum)
