r"""Contrastive losses: NT-Xent (SimCLR), InfoNCE (MoCo, CPC), supervised contrastive.

All three L2-normalise their embeddings inside (``x / max(||x||, 1e-6)``), build
their logits in float32 (float64 for float64 inputs) whatever the input dtype,
use ``logsumexp`` for every normaliser and mask an anchor's own column with a
large finite negative, so no row is ever NaN.

**Global batch.** Under ``jax.jit`` with inputs sharded across devices the
loss sees the global batch and XLA inserts the communication. Under ``pmap`` or
``shard_map``, pass ``axis_name``: each device keeps its anchors, gathers the
other devices' embeddings as negatives, and ``reduction='mean'`` returns the
mean over the *global* batch, the same value on every device.

**Gradients across devices.** Differentiate the returned (global) loss and then
average the gradients over the axis, ``grads = lax.pmean(grads, axis_name)``;
that gives exactly the single-device gradient of the global-batch loss under
``pmap`` and under ``shard_map``. (Under ``pmap``, and ``shard_map`` with
``check_vma=False``, each device's gradient of the replicated loss counts every
device's copy and is ``n_devices`` times the exact one, which the ``pmean``
divides back out. Under ``shard_map`` with ``check_vma=True`` the gradient is
exact on every device already and the ``pmean`` changes nothing.) Do not
differentiate a per-device ``reduction='none'`` mean under ``shard_map`` and
then ``pmean``: there that gradient is ``n_devices`` times too large. The
recipe, in a data-parallel step::

    def step(params, x1, x2):  # x1, x2: this device's rows
        def loss_fn(p):
            z1, z2 = model.apply(p, x1), model.apply(p, x2)
            return losses.nt_xent(z1, z2, axis_name="data")  # global-batch mean

        loss, grads = jax.value_and_grad(loss_fn)(params)
        return loss, lax.pmean(grads, "data")  # exact under pmap and shard_map

    jax.shard_map(step, mesh=mesh, in_specs=(P(), P("data"), P("data")),
                  out_specs=(P(), P()))

**Very large batches.** ``nt_xent``, ``info_nce`` and ``contrastive_accuracy``
take ``chunk_size``: the candidates are then visited that many at a time and
the ``[2N, 2N]`` logits matrix never exists, in the forward or the backward
pass (see :func:`nt_xent`). It combines with ``axis_name`` and with sharded
``jit``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import jax
import jax.numpy as jnp
from jax import lax

from jaxssl.losses._blockwise import blockwise_logsumexp
from jaxssl.losses._common import (
    MASK_VALUE,
    REDUCTIONS,
    as_float,
    axis_size,
    check_choice,
    check_positive,
    check_rank,
    embedding_pair,
    gather_rows,
    global_sum,
    l2_normalize,
    labelled_embeddings,
    reduce_examples,
    self_mask,
)


def _ntxent_logits(
    z1: jax.Array, z2: jax.Array, temperature, axis_name: Hashable | None
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Logits of this device's 2n anchors against all 2N candidates.

    Returns ``(logits [2n, 2N], positive column [2n], self mask [2n, 2N])``.
    Rows are ``[view-1 anchors; view-2 anchors]``, columns
    ``[all view-1 embeddings; all view-2 embeddings]`` in global order; each
    anchor's own column holds ``MASK_VALUE``.
    """
    anchors, candidates, self_col, pos_col = _ntxent_rows(z1, z2, axis_name)
    logits = (anchors @ candidates.T) / jnp.asarray(temperature, anchors.dtype)
    is_self = jnp.arange(candidates.shape[0])[None, :] == self_col[:, None]
    return jnp.where(is_self, MASK_VALUE, logits), pos_col, is_self


def _ntxent_rows(z1, z2, axis_name):
    """Normalised anchors ``[2n, D]``, candidates ``[2N, D]``, own and positive columns ``[2n]``."""
    n = z1.shape[0]
    u, v = l2_normalize(z1), l2_normalize(z2)
    all_u, offset = gather_rows(u, axis_name)
    all_v, _ = gather_rows(v, axis_name)
    n_global = all_u.shape[0]
    rows = offset + jnp.arange(n)
    # Anchor rows [u; v] meet their own columns at offset and n_global + offset.
    self_col = jnp.concatenate([rows, n_global + rows])
    pos_col = jnp.concatenate([n_global + rows, rows])
    anchors = jnp.concatenate([u, v], axis=0)
    return anchors, jnp.concatenate([all_u, all_v], axis=0), self_col, pos_col


def _ntxent_terms(z1, z2, temperature, axis_name, chunk_size, with_stats):
    """Per-anchor NT-Xent ``[2n]``, positive logits ``[2n]``, and ranks and row sums.

    Ranks and row sums are None unless ``with_stats``. The rank of an anchor
    is the number of candidates scoring strictly higher than its positive; the
    row sum adds all its logits but its own column.
    Dense: one ``[2n, 2N]`` logits matrix. Chunked: blockwise, see
    :mod:`jaxssl.losses._blockwise`.
    """
    if chunk_size is None:
        logits, pos_col, is_self = _ntxent_logits(z1, z2, temperature, axis_name)
        pos_logit = _take_columns(logits, pos_col)
        per_anchor = jax.nn.logsumexp(logits, axis=1) - pos_logit
        if not with_stats:
            return per_anchor, pos_logit, None, None
        logits, pos_logit = lax.stop_gradient(logits), lax.stop_gradient(pos_logit)
        # Rank = candidates scoring strictly higher: one comparison pass over
        # logits already computed, no sort; ties count in the positive's favour.
        rank = jnp.sum(logits > pos_logit[:, None], axis=1)
        return per_anchor, pos_logit, rank, jnp.sum(jnp.where(is_self, 0.0, logits), axis=1)
    anchors, candidates, self_col, pos_col = _ntxent_rows(z1, z2, axis_name)
    tau = jnp.asarray(temperature, anchors.dtype)
    n = z1.shape[0]
    pos_logit = jnp.sum(anchors * jnp.concatenate([anchors[n:], anchors[:n]]), axis=1) / tau
    lse, rank, row_sum = blockwise_logsumexp(
        anchors / tau,
        candidates,
        chunk_size=chunk_size,
        excluded=self_col,
        positive=(pos_logit, pos_col) if with_stats else None,
    )
    return lse - pos_logit, pos_logit, rank, row_sum


def _check_chunk_size(chunk_size) -> None:
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1
    ):
        raise ValueError(f"chunk_size must be None or a positive int, got {chunk_size!r}.")


def _take_columns(logits: jax.Array, cols: jax.Array) -> jax.Array:
    return jnp.take_along_axis(logits, cols[:, None], axis=1)[:, 0]


def _topk_accuracy(
    rank: jax.Array, top_k: Sequence[int], axis_name: Hashable | None
) -> dict[str, jax.Array]:
    """Fraction of anchors, over the global batch, whose positive ranks below each k."""
    n_anchors = rank.shape[0] * axis_size(axis_name)
    return {f"top{k}": global_sum(jnp.sum(rank < k), axis_name) / n_anchors for k in top_k}


def _check_top_k(top_k) -> tuple[int, ...]:
    ks = (top_k,) if isinstance(top_k, int) else tuple(top_k)
    if not ks or not all(isinstance(k, int) and k >= 1 for k in ks):
        raise ValueError(f"top_k must be a positive int or a sequence of them, got {top_k!r}.")
    return ks


def _check_pairs(
    n_local: int, axis_name: Hashable | None, fn: str, names: str = "z1 and z2"
) -> int:
    n_global = n_local * axis_size(axis_name)
    if n_global < 2:
        raise ValueError(
            f"{fn} needs at least 2 pairs in the global batch so that every anchor has a "
            f"negative; got {names} with N={n_global}."
        )
    return n_global


def nt_xent(
    z1: jax.Array,
    z2: jax.Array,
    *,
    temperature: float = 0.1,
    axis_name: Hashable | None = None,
    reduction: str = "mean",
    return_metrics: bool = False,
    chunk_size: int | None = None,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
    r"""NT-Xent, SimCLR's normalised temperature-scaled cross-entropy.

    With :math:`u_i = z^{(1)}_i/\lVert z^{(1)}_i\rVert`,
    :math:`v_i = z^{(2)}_i/\lVert z^{(2)}_i\rVert` and the 2N embeddings
    :math:`e = (u_1..u_N, v_1..v_N)`, anchor :math:`a` with positive
    :math:`p(a)` (the other view of the same example) has loss

    .. math::

        \ell_a = -\log \frac{\exp(e_a \cdot e_{p(a)} / \tau)}
                            {\sum_{b \ne a} \exp(e_a \cdot e_b / \tau)}

    over its 2N-1 candidates (1 positive and 2N-2 negatives). The result is the
    mean over all 2N anchors, :math:`L = \frac{1}{2N}\sum_a \ell_a`.

    Normalisation, compared with the references:

    * SimCLR's TF code reports ``loss_a + loss_b`` (each a mean over N
      anchors), which is :math:`2L`, twice this value.
    * ``optax.losses.ntxent(concat([z1, z2]), labels)`` with
      ``labels = [0..N-1, 0..N-1]`` equals :math:`L` (its temperature default
      is 0.07, ours 0.1).
    * All identical embeddings give exactly :math:`\log(2N-1)`.

    Args:
      z1: ``[N, D]`` embeddings of the first view (float; bf16 is computed in
        float32). Row i of ``z1`` and ``z2`` are the positive pair.
      z2: ``[N, D]`` embeddings of the second view.
      temperature: :math:`\tau > 0`.
      axis_name: mesh or pmap axis to take negatives from under ``pmap`` or
        ``shard_map``; ``N`` is then the global batch (see the module notes on
        gradients).
      reduction: ``'mean'`` (default, :math:`L`), ``'sum'`` (sum of the
        per-example losses) or ``'none'``: per-example losses ``[N]`` (this
        device's rows), :math:`(\ell_{u_i} + \ell_{v_i})/2`, whose mean is :math:`L`.
      return_metrics: also return, from the same logits (no second O(N²)
        pass, no gradient), ``top1``/``top5`` contrastive accuracy (fraction
        of the 2N anchors whose positive outranks all but k-1 candidates; ties
        count as correct), ``pos_sim`` (mean cosine of positive pairs) and
        ``neg_sim`` (mean cosine of negative pairs). With ``chunk_size`` they
        come from the same blocks as the loss.
      chunk_size: ``None`` (default) builds the ``[2N, 2N]`` logits matrix.
        An int K computes each anchor's log-sum-exp over the candidates K at a
        time (running max and running sum) with a custom VJP that recomputes
        the blocks in the backward pass: extra memory ``O(N*K + N*D)`` instead
        of ``O(N^2)``, for about one more ``N x N x D`` product of compute. K
        need not divide 2N (the last block is padded and masked); 512 to 4096
        suits most accelerators. Under ``axis_name`` each device scans its own
        anchors against the gathered ``[2N, D]`` candidates; under ``jit``
        with row-sharded inputs each device keeps its rows of every block.
        Values and gradients equal the dense path to float32 rounding.

    Returns:
      The loss (float32, or float64 for float64 inputs), and with
      ``return_metrics`` a ``(loss, metrics)`` pair.

    Raises:
      TypeError: non-float embeddings.
      ValueError: shapes that differ or are not rank 2, ``temperature <= 0``,
        fewer than 2 pairs in the global batch, unknown ``reduction``,
        ``chunk_size`` not a positive int.

    References:
      Chen et al., "A Simple Framework for Contrastive Learning of Visual
      Representations", ICML 2020, eq. (1). https://arxiv.org/abs/2002.05709

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> z = jnp.ones((4, 8))          # every embedding identical
      >>> float(losses.nt_xent(z, z))   # log(2N - 1) = log(7)
      1.9459...
    """
    z1, z2 = embedding_pair(z1, z2, "z1", "z2")
    check_positive(temperature, "temperature")
    check_choice(reduction, "reduction", REDUCTIONS)
    _check_chunk_size(chunk_size)
    n_global = _check_pairs(z1.shape[0], axis_name, "nt_xent")

    per_anchor, pos_logit, rank, row_sum = _ntxent_terms(
        z1, z2, temperature, axis_name, chunk_size, return_metrics
    )
    n = z1.shape[0]
    per_example = 0.5 * (per_anchor[:n] + per_anchor[n:])
    loss = reduce_examples(per_example, reduction, axis_name=axis_name)
    if not return_metrics:
        return loss

    pos_logit = lax.stop_gradient(pos_logit)
    metrics = _topk_accuracy(rank, (1, 5), axis_name)
    n_anchors = 2 * n_global
    pos_total = global_sum(jnp.sum(pos_logit), axis_name)
    row_total = global_sum(jnp.sum(row_sum), axis_name)
    tau = jnp.asarray(temperature, pos_logit.dtype)
    metrics["pos_sim"] = pos_total * tau / n_anchors
    metrics["neg_sim"] = (row_total - pos_total) * tau / (n_anchors * (n_anchors - 2))
    return loss, metrics


def contrastive_accuracy(
    z1: jax.Array,
    z2: jax.Array,
    *,
    top_k: int | Sequence[int] = (1, 5),
    axis_name: Hashable | None = None,
    chunk_size: int | None = None,
) -> dict[str, jax.Array]:
    r"""Top-k contrastive accuracy: does each anchor find its own positive?

    For each of the 2N anchors of :func:`nt_xent` (both views), the positive
    is ranked by cosine similarity among the same 2N-1 candidates the loss
    uses (the other view of every example and the same view of every other
    example). An anchor is correct at k when fewer than k candidates score
    strictly higher than its positive. This is SimCLR's ``contrast_acc``, which
    uses the same candidates; SimCLR averages over the view-1 anchors only,
    this averages over both views (the same in expectation, and symmetric).

    Args:
      z1: ``[N, D]`` first-view embeddings (float).
      z2: ``[N, D]`` second-view embeddings.
      top_k: an int or a sequence of ints >= 1; k >= 2N-1 is trivially 1.
      axis_name: as in :func:`nt_xent`; accuracy is then over the global batch.
      chunk_size: as in :func:`nt_xent`: rank the candidates this many at a
        time, without the ``[2N, 2N]`` similarity matrix.

    Returns:
      ``{'top1': ..., 'top5': ...}`` (one ``'top{k}'`` entry per k), float
      fractions in [0, 1].

    References:
      Chen et al. 2020 (SimCLR), ``contrast_acc`` in the authors' TF code.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> z = jnp.eye(3)                # three orthogonal examples
      >>> losses.contrastive_accuracy(z, z, top_k=1)
      {'top1': Array(1., dtype=float32)}
    """
    ks = _check_top_k(top_k)
    z1, z2 = embedding_pair(z1, z2, "z1", "z2")
    _check_chunk_size(chunk_size)
    _check_pairs(z1.shape[0], axis_name, "contrastive_accuracy")
    z1, z2 = lax.stop_gradient(z1), lax.stop_gradient(z2)
    _, _, rank, _ = _ntxent_terms(z1, z2, 1.0, axis_name, chunk_size, with_stats=True)
    return _topk_accuracy(rank, ks, axis_name)


def info_nce(
    queries: jax.Array,
    keys: jax.Array,
    *,
    negatives: jax.Array | None = None,
    temperature: float,
    in_batch_negatives: bool = True,
    axis_name: Hashable | None = None,
    reduction: str = "mean",
    chunk_size: int | None = None,
) -> jax.Array:
    r"""InfoNCE: each query against its key, the batch's other keys and extra negatives.

    With L2-normalised queries :math:`q_i`, keys :math:`k_j` and extra
    negatives :math:`n_m` (a MoCo queue),

    .. math::

        \ell_i = -\log \frac{\exp(q_i \cdot k_i / \tau)}
            {\sum_{j} \exp(q_i \cdot k_j / \tau) + \sum_{m} \exp(q_i \cdot n_m / \tau)}

    where :math:`j` runs over the keys of the global batch (only :math:`j=i`
    when ``in_batch_negatives=False``, which is MoCo's exact form) and
    :math:`m` over the rows of ``negatives``. The result is the mean of
    :math:`\ell_i` over the N queries. With ``in_batch_negatives=True`` and no
    queue this is one direction of CLIP's loss and MoCo v3's loss.

    Args:
      queries: ``[N, D]`` query embeddings (float).
      keys: ``[N, D]``; ``keys[i]`` is the positive of ``queries[i]``.
        Whether gradients flow into the keys (MoCo stops them) is the
        caller's choice: pass ``lax.stop_gradient(keys)`` to stop them.
      negatives: optional ``[M, D]`` extra negatives. Under ``axis_name`` they
        are used as given on each device (a queue is normally replicated), not
        gathered.
      temperature: :math:`\tau > 0` (MoCo v1/v2: 0.07 / 0.2).
      in_batch_negatives: use the other keys of the global batch as negatives.
      axis_name: as in :func:`nt_xent`: keys are gathered from every device.
      reduction: ``'mean'``, ``'sum'`` or ``'none'`` (``[N]``, this
        device's queries).
      chunk_size: as in :func:`nt_xent`: visit the keys and negatives this
        many at a time; memory ``O(N*chunk_size)`` instead of ``O(N*(N+M))``.

    Returns:
      The loss, float32 (float64 for float64 inputs).

    Raises:
      TypeError: non-float inputs.
      ValueError: mismatched shapes, wrong rank, ``temperature <= 0``, no
        negative at all, unknown ``reduction``.

    References:
      van den Oord et al., "Representation Learning with Contrastive Predictive
      Coding", 2018, eq. (4). He et al., "Momentum Contrast for Unsupervised
      Visual Representation Learning", CVPR 2020, eq. (1).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> q = jnp.eye(4)                 # each query equals its key, orthogonal to others
      >>> float(losses.info_nce(q, q, temperature=1.0))  # -log(e / (e + 3))
      0.7436...
    """
    q, k = embedding_pair(queries, keys, "queries", "keys")
    check_positive(temperature, "temperature")
    check_choice(reduction, "reduction", REDUCTIONS)
    _check_chunk_size(chunk_size)
    n_negatives = (q.shape[0] * axis_size(axis_name) - 1) if in_batch_negatives else 0
    if negatives is not None:
        negatives = as_float(negatives, "negatives")
        check_rank(negatives, "negatives", 2, "[M, D]")
        if negatives.shape[1] != q.shape[1]:
            raise ValueError(
                f"negatives must have shape [M, D] with D={q.shape[1]} as queries, "
                f"got shape {negatives.shape}."
            )
        n_negatives += negatives.shape[0]
    if n_negatives < 1:
        raise ValueError(
            "info_nce has no negative: give negatives=[M, D] with M >= 1, or "
            f"in_batch_negatives=True with a global batch of N >= 2 (queries {q.shape})."
        )

    q, k = l2_normalize(q), l2_normalize(k)
    tau = jnp.asarray(temperature, q.dtype)
    if negatives is not None:
        negatives = l2_normalize(negatives.astype(q.dtype))
    if chunk_size is not None:
        per_example = _info_nce_chunked(
            q, k, negatives, tau, in_batch_negatives, axis_name, chunk_size
        )
        return reduce_examples(per_example, reduction, axis_name=axis_name)
    if in_batch_negatives:
        all_k, offset = gather_rows(k, axis_name)
        scores = [(q @ all_k.T) / tau]
        pos_logit = _take_columns(scores[0], offset + jnp.arange(q.shape[0]))
    else:
        pos_logit = jnp.sum(q * k, axis=-1) / tau
        scores = [pos_logit[:, None]]
    if negatives is not None:
        scores.append((q @ negatives.T) / tau)
    logits = jnp.concatenate(scores, axis=1)
    per_example = jax.nn.logsumexp(logits, axis=1) - pos_logit
    return reduce_examples(per_example, reduction, axis_name=axis_name)


def _info_nce_chunked(q, k, negatives, tau, in_batch_negatives, axis_name, chunk_size):
    """Per-query InfoNCE with the candidates visited ``chunk_size`` at a time."""
    pos_logit = jnp.sum(q * k, axis=-1) / tau
    candidates = []
    if in_batch_negatives:
        candidates.append(gather_rows(k, axis_name)[0])
    if negatives is not None:
        candidates.append(negatives)
    lse, _, _ = blockwise_logsumexp(q / tau, jnp.concatenate(candidates), chunk_size=chunk_size)
    if not in_batch_negatives:  # the positive is not among the candidates: add it
        lse = jnp.logaddexp(lse, pos_logit)
    return lse - pos_logit


def sup_con(
    embeddings: jax.Array,
    labels: jax.Array,
    *,
    temperature: float,
    axis_name: Hashable | None = None,
    reduction: str = "mean",
) -> jax.Array:
    r"""Supervised contrastive loss (SupCon, :math:`\mathcal{L}^{sup}_{out}`).

    Every other embedding with the same label is a positive. With
    L2-normalised :math:`z`, :math:`A(i)` all indices but :math:`i` and
    :math:`P(i) = \{p \in A(i): y_p = y_i\}`,

    .. math::

        \ell_i = \frac{-1}{|P(i)|} \sum_{p \in P(i)} \log
            \frac{\exp(z_i \cdot z_p / \tau)}{\sum_{a \in A(i)} \exp(z_i \cdot z_a / \tau)}

    and the loss is the mean of :math:`\ell_i` over the anchors that have at
    least one positive. Anchors with :math:`P(i) = \emptyset` are left out
    (the reference code divides by zero there); if no anchor has a positive the
    loss is 0. For several views per example, concatenate them and repeat
    the labels. The authors' code also multiplies by :math:`\tau/\tau_{base}`;
    this follows the paper's equation, without that factor.

    With two views and all-distinct labels this equals :func:`nt_xent`.

    Args:
      embeddings: ``[N, D]`` float embeddings (all views of the batch).
      labels: ``[N]`` integer class labels.
      temperature: :math:`\tau > 0` (the paper uses 0.1).
      axis_name: as in :func:`nt_xent`: embeddings and labels are gathered
        from every device.
      reduction: ``'mean'`` (over anchors with a positive), ``'sum'``, or
        ``'none'``: ``[N]`` per-anchor losses, 0 for anchors without positive.

    Returns:
      The loss, float32 (float64 for float64 inputs).

    Raises:
      TypeError: non-float embeddings or non-integer labels.
      ValueError: wrong ranks, ``labels`` not of length N,
        ``temperature <= 0``, unknown ``reduction``.

    References:
      Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020, eq. (2).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> z = jnp.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
      >>> float(losses.sup_con(z, jnp.array([0, 0, 1, 1]), temperature=1.0))  # log(e + 2) - 1
      0.5514...
    """
    z, y = labelled_embeddings(embeddings, labels)
    check_positive(temperature, "temperature")
    check_choice(reduction, "reduction", REDUCTIONS)

    z = l2_normalize(z)
    all_z, offset = gather_rows(z, axis_name)
    all_y, _ = gather_rows(y, axis_name)
    logits = (z @ all_z.T) / jnp.asarray(temperature, z.dtype)
    is_self = self_mask(z.shape[0], all_z.shape[0], offset)
    logits = jnp.where(is_self, MASK_VALUE, logits)
    log_prob = logits - jax.nn.logsumexp(logits, axis=1, keepdims=True)
    positive = (y[:, None] == all_y[None, :]) & ~is_self
    n_pos = jnp.sum(positive, axis=1)
    has_pos = n_pos > 0
    per_anchor = -jnp.sum(jnp.where(positive, log_prob, 0.0), axis=1) / jnp.maximum(n_pos, 1)
    return reduce_examples(per_anchor, reduction, axis_name=axis_name, weights=has_pos)
