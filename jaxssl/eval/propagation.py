r"""Label propagation over a kNN graph of frozen features, on device.

Zhou et al. 2004 ("Learning with Local and Global Consistency") spread the
labels of a few examples along a graph by solving

.. math::

    (I - \alpha S)\, Z = Y, \qquad S = D^{-1/2} W D^{-1/2}

where :math:`Y` holds the one-hot labels of the labelled examples (zero rows
for the rest), :math:`W` the graph's affinities and :math:`D` its degrees;
each example takes the class of its largest :math:`Z`. Iscen et al. 2019
("Label Propagation for Deep Semi-supervised Learning") build :math:`W` from
the features' k nearest neighbours by cosine similarity, raised to the power
:math:`\gamma` (negative similarities count 0), symmetrise it
(:math:`W + W^\top`), and solve the system by conjugate gradient; this module
follows them.

Why by hand: scikit-learn's ``LabelSpreading`` implements Zhou et al. with a
0/1 kNN graph found on the host and a dense iteration, neither of which scales
to a training set's features; here the neighbours are found in chunks on the
accelerator (``[chunk, N]`` similarities at a time), the graph is kept as
``[N, k]`` indices and weights (never ``[N, N]``), and the solve is
``jax.scipy.sparse.linalg.cg`` on a matrix-free product (a gather for
:math:`W`, a segment sum for :math:`W^\top`).

It is transductive: put the examples to be labelled (a test split, say) in
the graph as unlabelled nodes and read their predictions.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxssl.losses._common import l2_normalize


@partial(jax.jit, static_argnames=("k", "chunk_size"))
def knn_graph(features: jax.Array, *, k: int, chunk_size: int = 1024):
    """Each row's ``k`` most cosine-similar other rows: ``(indices [N, k], similarities [N, k])``.

    A row is never its own neighbour. Rows are compared ``chunk_size`` at a
    time against all N, so memory is ``O(chunk_size * N)``.
    """
    n = features.shape[0]
    x = l2_normalize(features.astype(jnp.float32))
    chunk = min(chunk_size, n)
    padded = -(-n // chunk) * chunk
    blocks = jnp.pad(x, ((0, padded - n), (0, 0))).reshape(-1, chunk, x.shape[1])
    starts = jnp.arange(0, padded, chunk)

    def neighbours(block_and_start):
        block, start = block_and_start
        sims = block @ x.T
        own = (start + jnp.arange(chunk))[:, None] == jnp.arange(n)[None, :]
        sims, idx = lax.top_k(jnp.where(own, -jnp.inf, sims), k)
        return idx, sims

    idx, sims = lax.map(neighbours, (blocks, starts))
    return idx.reshape(padded, k)[:n], sims.reshape(padded, k)[:n]


@partial(jax.jit, static_argnames=("num_classes", "max_iters"))
def _propagate(idx, sims, labels, labelled, alpha, gamma, *, num_classes, max_iters):
    n = idx.shape[0]
    w = jnp.maximum(sims, 0.0) ** gamma  # [N, k]: row i's edge to idx[i, j]
    flat_idx, flat_w = idx.reshape(-1), w.reshape(-1)
    # degrees of W + W^T: the row sums plus the weights pointing at each node
    degree = w.sum(axis=1) + jax.ops.segment_sum(flat_w, flat_idx, num_segments=n)
    d_inv_sqrt = jnp.where(degree > 0, lax.rsqrt(jnp.maximum(degree, 1e-30)), 0.0)

    def s_times(f):  # S f = D^-1/2 (W + W^T) D^-1/2 f, with f [N, C]
        g = d_inv_sqrt[:, None] * f
        w_g = jnp.sum(w[..., None] * g[idx], axis=1)
        wt_g = jax.ops.segment_sum(
            (w[..., None] * g[:, None, :]).reshape(-1, f.shape[1]), flat_idx, num_segments=n
        )
        return d_inv_sqrt[:, None] * (w_g + wt_g)

    y = jax.nn.one_hot(labels, num_classes) * labelled[:, None]
    z, _ = jax.scipy.sparse.linalg.cg(lambda f: f - alpha * s_times(f), y, maxiter=max_iters)
    return z


def label_propagation(
    features,
    labels,
    labelled,
    *,
    num_classes: int,
    k: int = 50,
    alpha: float = 0.99,
    gamma: float = 3.0,
    max_iters: int = 20,
    chunk_size: int = 1024,
) -> dict:
    """Labels spread from the ``labelled`` examples to all others along a kNN graph.

    Args:
      features: ``[N, F]`` features of every node, labelled or not.
      labels: ``[N]`` integer labels; only the labelled entries are read.
      labelled: ``[N]`` boolean mask or an array of the labelled indices.
      num_classes: number of classes C.
      k: neighbours per node (Iscen et al.: 50); at most N - 1.
      alpha: in (0, 1): how far labels travel (0.99 as both papers).
      gamma: power of the cosine affinities (Iscen et al.: 3).
      max_iters: conjugate-gradient iterations (Iscen et al.: 20).
      chunk_size: rows per block when the neighbours are found.

    Returns:
      ``{'scores': [N, C] float32 Z, 'predictions': [N] int32}``; a labelled
      node's prediction comes from the propagation too (usually its label).

    Example:
      >>> import numpy as np
      >>> x = np.array([[1.0, 0.0], [0.9, 0.1], [0.1, 0.9], [0.0, 1.0]])
      >>> out = label_propagation(x, np.array([0, 0, 1, 1]), np.array([0, 3]),
      ...                         num_classes=2, k=1)
      >>> out["predictions"].tolist()
      [0, 0, 1, 1]
    """
    features = np.asarray(features)
    if features.ndim != 2:
        raise ValueError(f"features must have shape [N, F], got {features.shape}.")
    n = features.shape[0]
    labels = np.asarray(labels)
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise ValueError(
            f"labels must be an integer array of shape ({n},), got {labels.dtype} {labels.shape}."
        )
    labelled = np.asarray(labelled)
    if labelled.dtype != bool:
        # indices only: a 0/1 float or int mask would otherwise be read as indices
        if labelled.dtype.kind not in "iu" or labelled.ndim != 1:
            raise ValueError(
                f"labelled must be a boolean mask of shape ({n},) or a 1-D integer array of "
                f"indices, got {labelled.dtype} {labelled.shape}."
            )
        if labelled.size and (labelled.min() < 0 or labelled.max() >= n):
            raise ValueError(
                f"labelled indices must be in [0, {n}), got {labelled.min()}..{labelled.max()}."
            )
        mask = np.zeros(n, bool)
        mask[labelled] = True
        labelled = mask
    if labelled.shape != (n,) or not labelled.any():
        raise ValueError(
            f"labelled must be a boolean mask of shape ({n},) or indices, with at least one "
            f"labelled example; got {labelled.shape} with {int(labelled.sum())} labelled."
        )
    seen = labels[labelled]
    if seen.min() < 0 or seen.max() >= num_classes:
        raise ValueError(
            f"labels of labelled examples must be in [0, {num_classes}), "
            f"got {seen.min()}..{seen.max()}."
        )
    if not isinstance(k, int) or not 1 <= k < n:
        raise ValueError(f"k must be an int in [1, N-1] = [1, {n - 1}], got {k!r}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}.")
    if not gamma > 0:
        raise ValueError(f"gamma must be > 0, got {gamma}.")
    idx, sims = knn_graph(jnp.asarray(features), k=k, chunk_size=chunk_size)
    z = _propagate(
        idx,
        sims,
        jnp.asarray(np.where(labelled, labels, 0).astype(np.int32)),
        jnp.asarray(labelled, jnp.float32),
        jnp.float32(alpha),
        jnp.float32(gamma),
        num_classes=num_classes,
        max_iters=max_iters,
    )
    z = np.asarray(z)
    return {"scores": z, "predictions": z.argmax(axis=1).astype(np.int32)}
