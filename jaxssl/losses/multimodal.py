r"""Image–text contrastive losses: CLIP's symmetric InfoNCE and SigLIP's pairwise sigmoid.

Both take two ``[N, D]`` batches whose row i is a matching pair (an image and
its caption, or any two modalities), L2-normalise them inside as
:func:`~jaxssl.losses.nt_xent` does, and take the temperature as
``logit_scale``, **the multiplier itself**: a model that learns it keeps a
log-scale ``t`` and passes ``logit_scale=jnp.exp(t)`` (CLIP clips it at 100;
SigLIP starts at ``t = log 10`` with ``logit_bias = -10``). Both are traced
values, so they may be learnable parameters; a concrete ``logit_scale`` must be
> 0.

**Several devices.** With ``axis_name`` under ``pmap``/``shard_map`` each
device keeps its own rows and gathers the other modality's rows (``[N, D]``,
never an ``[N, N]`` matrix) from every device; the loss is over the global
batch, and the gradient recipe is the one in :mod:`jaxssl.losses.contrastive`
(differentiate the returned loss, then ``lax.pmean`` the gradients).

**Large batches.** ``chunk_size=K`` visits the other modality K rows at a
time, so a device holds ``[n, K]`` logits, never ``[n, N]``: CLIP through the
blockwise log-sum-exp of :mod:`jaxssl.losses._blockwise` (both directions),
SigLIP through a ``lax.scan`` over text blocks whose body is rematerialised
(``jax.checkpoint``) so that its backward pass recomputes each block instead of
storing it. SigLIP's loss is a plain sum over pairs, so unlike a softmax it
needs no running maximum: each device keeps its images and sees every text
block once, as in Zhai et al. 2023, Figure 1 (there the blocks travel round
the devices by ``ppermute``; here they are gathered first, ``N x D`` floats).
"""

from __future__ import annotations

from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax import lax

from jaxssl.losses._blockwise import blockwise_logsumexp
from jaxssl.losses._common import (
    REDUCTIONS,
    _concrete_scalar,
    check_choice,
    check_positive,
    embedding_pair,
    gather_rows,
    l2_normalize,
    reduce_examples,
)
from jaxssl.losses.contrastive import _check_chunk_size, _check_pairs


def _scalar(value, name: str, dtype) -> jax.Array:
    """A scalar hyperparameter (Python number or traced array) in the compute dtype."""
    _concrete_scalar(value, name)  # rejects non-scalars by name
    return jnp.asarray(value, dtype)


def _pair(image_emb, text_emb, logit_scale, reduction, chunk_size, axis_name, fn):
    u, v = embedding_pair(image_emb, text_emb, "image_emb", "text_emb")
    check_positive(logit_scale, "logit_scale")
    check_choice(reduction, "reduction", REDUCTIONS)
    _check_chunk_size(chunk_size)
    _check_pairs(u.shape[0], axis_name, fn, names="image_emb and text_emb")
    return l2_normalize(u), l2_normalize(v), _scalar(logit_scale, "logit_scale", u.dtype)


def _one_direction(anchors, others, scale, axis_name, chunk_size):
    """Per-anchor cross-entropy of ``scale * anchors @ all_others.T`` with its own row as label.

    ``anchors`` and ``others``: this device's normalised rows ``[n, D]``;
    the candidates are ``others`` gathered over ``axis_name`` (``[N, D]``).
    """
    candidates, _ = gather_rows(others, axis_name)  # own rows among them: the positives
    positive = scale * jnp.sum(anchors * others, axis=1)
    if chunk_size is None:
        logits = scale * (anchors @ candidates.T)
        return jax.nn.logsumexp(logits, axis=1) - positive
    lse, _, _ = blockwise_logsumexp(scale * anchors, candidates, chunk_size=chunk_size)
    return lse - positive


def clip_loss(
    image_emb: jax.Array,
    text_emb: jax.Array,
    *,
    logit_scale,
    axis_name: Hashable | None = None,
    reduction: str = "mean",
    chunk_size: int | None = None,
) -> jax.Array:
    r"""CLIP's symmetric InfoNCE over image→text and text→image.

    With :math:`u_i, v_i` the L2-normalised image and text embeddings of pair
    i and :math:`s` = ``logit_scale``, logits :math:`l_{ij} = s\,u_i \cdot v_j`,

    .. math::

        L = \frac{1}{2N} \sum_{i=1}^{N} \Big[
              \big(\log \textstyle\sum_j e^{l_{ij}} - l_{ii}\big)
            + \big(\log \textstyle\sum_j e^{l_{ji}} - l_{ii}\big) \Big]

    the mean of the two directions' cross-entropies (rows of the logits for
    images, columns for texts) over the N pairs of the global batch: CLIP's
    ``(loss_i + loss_t) / 2``. Each direction is :func:`info_nce` with
    temperature ``1 / s``.

    Args:
      image_emb: ``[N, D]`` image embeddings (float; bf16 computed in float32).
      text_emb: ``[N, D]``; row i is the caption of image i.
      logit_scale: the multiplier :math:`s > 0` (CLIP: ``exp(t)`` of a learned
        ``t``, initialised at ``log(1/0.07)`` and clipped at 100). A Python
        number or a traced scalar.
      axis_name: as in :func:`nt_xent`: the other modality's rows are gathered
        from every device and ``N`` is the global batch.
      reduction: ``'mean'`` (:math:`L`), ``'sum'`` or ``'none'``: ``[n]``
        per-pair losses of this device's pairs, the mean of the pair's two
        terms.
      chunk_size: ``None`` builds the ``[n, N]`` logits; an int K visits the
        candidates K at a time (``O(n*K)`` memory, values and gradients equal
        to float32 rounding).

    Returns:
      The loss, float32 (float64 for float64 inputs).

    Raises:
      TypeError: non-float embeddings.
      ValueError: shapes that differ or are not rank 2, a concrete
        ``logit_scale <= 0`` or not a scalar, fewer than 2 pairs, unknown
        ``reduction``, ``chunk_size`` not a positive int.

    References:
      Radford et al., "Learning Transferable Visual Models From Natural
      Language Supervision", ICML 2021, Figure 3. https://arxiv.org/abs/2103.00020

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> z = jnp.eye(4)                      # each image matches only its text
      >>> float(losses.clip_loss(z, z, logit_scale=1.0))  # -log(e / (e + 3))
      0.7436...
    """
    u, v, scale = _pair(
        image_emb, text_emb, logit_scale, reduction, chunk_size, axis_name, "clip_loss"
    )
    image_to_text = _one_direction(u, v, scale, axis_name, chunk_size)
    text_to_image = _one_direction(v, u, scale, axis_name, chunk_size)
    return reduce_examples(0.5 * (image_to_text + text_to_image), reduction, axis_name=axis_name)


def _siglip_rows_dense(u, all_v, offset, scale, bias):
    labels = jnp.where(
        jnp.arange(all_v.shape[0])[None, :] == (offset + jnp.arange(u.shape[0]))[:, None], 1.0, -1.0
    ).astype(u.dtype)
    logits = scale * (u @ all_v.T) + bias
    return -jnp.sum(jax.nn.log_sigmoid(labels * logits), axis=1)


def _siglip_rows_chunked(u, all_v, offset, scale, bias, chunk_size):
    """Per-image sums over the texts, ``chunk_size`` texts at a time."""
    n_texts, dim = all_v.shape
    k = min(chunk_size, n_texts)
    n_blocks = -(-n_texts // k)
    pad = n_blocks * k - n_texts
    blocks = jnp.concatenate([all_v, jnp.zeros((pad, dim), all_v.dtype)]) if pad else all_v
    blocks = blocks.reshape(n_blocks, k, dim)
    cols = jnp.arange(n_blocks * k, dtype=jnp.int32).reshape(n_blocks, k)
    own = offset + jnp.arange(u.shape[0])

    # Rematerialised: the backward pass recomputes this block's [n, K] logits
    # from the carry and the block instead of storing every block's.
    @jax.checkpoint
    def body(row_sum, block_and_cols):
        block, block_cols = block_and_cols
        labels = jnp.where(block_cols[None, :] == own[:, None], 1.0, -1.0).astype(u.dtype)
        terms = -jax.nn.log_sigmoid(labels * (scale * (u @ block.T) + bias))
        terms = jnp.where(block_cols[None, :] < n_texts, terms, 0.0)  # padding adds nothing
        return row_sum + jnp.sum(terms, axis=1), None

    row_sum, _ = lax.scan(body, jnp.zeros_like(u[:, 0]), (blocks, cols))
    return row_sum


def siglip_loss(
    image_emb: jax.Array,
    text_emb: jax.Array,
    *,
    logit_scale,
    logit_bias,
    axis_name: Hashable | None = None,
    reduction: str = "mean",
    chunk_size: int | None = None,
) -> jax.Array:
    r"""SigLIP's pairwise sigmoid loss: every image–text pair is its own binary problem.

    With :math:`u_i, v_j` the L2-normalised embeddings, :math:`s` =
    ``logit_scale``, :math:`b` = ``logit_bias``, logits
    :math:`l_{ij} = s\,u_i \cdot v_j + b` and labels :math:`z_{ij} = 1` for
    :math:`i = j` and :math:`-1` otherwise,

    .. math::

        L = -\frac{1}{N} \sum_{i=1}^{N} \sum_{j=1}^{N} \log \sigma(z_{ij}\, l_{ij})

    over the N² pairs of the global batch, divided by N as in the paper (its
    pseudo-code's ``-sum(log_sigmoid(labels * logits)) / n``). No softmax
    couples the rows, so there is no normaliser to gather and the chunked form
    needs no running maximum.

    Args:
      image_emb: ``[N, D]`` image embeddings (float).
      text_emb: ``[N, D]``; row i is the caption of image i.
      logit_scale: :math:`s > 0` (the paper: ``exp(t')`` with ``t'`` learned,
        initialised at ``log 10``).
      logit_bias: :math:`b` (the paper: learned, initialised at -10, which
        offsets the N-1 negatives' weight at the start).
      axis_name: as in :func:`nt_xent`: texts are gathered from every device
        and ``N`` is the global batch.
      reduction: ``'mean'`` (:math:`L`), ``'sum'`` (:math:`N L`) or
        ``'none'``: ``[n]``, each of this device's images' sum over all N
        texts (their mean is :math:`L`).
      chunk_size: ``None`` builds the ``[n, N]`` logits; an int K visits the
        texts K at a time (``O(n*K)`` memory, values and gradients equal to
        float32 rounding).

    Returns:
      The loss, float32 (float64 for float64 inputs).

    Raises:
      TypeError: non-float embeddings.
      ValueError: as :func:`clip_loss`, and ``logit_bias`` not a scalar.

    References:
      Zhai et al., "Sigmoid Loss for Language Image Pre-Training", ICCV 2023,
      Algorithm 1. https://arxiv.org/abs/2303.15343

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> z = jnp.eye(2)                 # orthogonal pairs, scale 1, bias 0:
      >>> # per image -log σ(1) - log σ(0); twice that, divided by N = 2
      >>> float(losses.siglip_loss(z, z, logit_scale=1.0, logit_bias=0.0))
      1.0064...
    """
    u, v, scale = _pair(
        image_emb, text_emb, logit_scale, reduction, chunk_size, axis_name, "siglip_loss"
    )
    bias = _scalar(logit_bias, "logit_bias", u.dtype)
    all_v, offset = gather_rows(v, axis_name)
    if chunk_size is None:
        per_image = _siglip_rows_dense(u, all_v, offset, scale, bias)
    else:
        per_image = _siglip_rows_chunked(u, all_v, offset, scale, bias, chunk_size)
    return reduce_examples(per_image, reduction, axis_name=axis_name)
