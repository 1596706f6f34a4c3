r"""Redundancy-reduction losses on batch statistics: Barlow Twins and VICReg.

Both depend on statistics of the whole batch (means, variances, a D x D
correlation or covariance matrix). With ``axis_name`` under ``pmap`` or
``shard_map`` those statistics are summed over every device, so the loss is
the global-batch loss, the same value on every device; differentiate it and
``lax.pmean`` the gradients, as for the contrastive losses.
"""

from __future__ import annotations

from collections.abc import Hashable

import jax
import jax.numpy as jnp

from jaxssl.losses._common import (
    axis_size,
    batch_contract,
    check_nonnegative,
    check_positive,
    embedding_pair,
    global_sum,
)


def _views(z1, z2, fn: str, axis_name: Hashable | None) -> tuple[jax.Array, jax.Array, int]:
    z1, z2 = embedding_pair(z1, z2, "z1", "z2")
    n_global = z1.shape[0] * axis_size(axis_name)
    if n_global < 2:
        raise ValueError(
            f"{fn} needs batch statistics over at least 2 examples; got z1 and z2 "
            f"with a global batch of N={n_global}."
        )
    return z1, z2, n_global


def _centered(z: jax.Array, n: int, axis_name: Hashable | None) -> jax.Array:
    return z - global_sum(jnp.sum(z, axis=0), axis_name) / n


def barlow_twins(
    z1: jax.Array,
    z2: jax.Array,
    *,
    lambda_: float = 5e-3,
    eps: float = 1e-5,
    axis_name: Hashable | None = None,
    return_metrics: bool = False,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
    r"""Barlow Twins: push the cross-correlation of the two views to the identity.

    Each embedding dimension is standardised over the (global) batch,
    :math:`\hat z_{b,i} = (z_{b,i} - \mu_i) / \sqrt{\sigma_i^2 + \epsilon}` with
    the biased variance (as the authors' batch-norm layer without affine
    parameters), and

    .. math::

        C_{ij} = \frac{1}{N} \sum_b \hat z^{(1)}_{b,i} \hat z^{(2)}_{b,j}, \qquad
        L = \sum_i (1 - C_{ii})^2 + \lambda \sum_i \sum_{j \ne i} C_{ij}^2 .

    Args:
      z1: ``[N, D]`` first-view embeddings (float).
      z2: ``[N, D]`` second-view embeddings.
      lambda_: :math:`\lambda \ge 0`, weight of the off-diagonal term (paper:
        5e-3; the authors' code uses 5.1e-3).
      eps: :math:`\epsilon > 0` added to the variance (batch norm's 1e-5).
      axis_name: sum the statistics over this pmap/shard_map axis.
      return_metrics: also return ``{'on_diagonal', 'off_diagonal'}``, the two
        sums before weighting.

    Returns:
      The scalar loss (float32, float64 for float64 inputs), and with
      ``return_metrics`` a ``(loss, metrics)`` pair.

    Raises:
      TypeError: non-float inputs.
      ValueError: shapes differ or are not rank 2, a global batch under 2,
        ``lambda_ < 0``, ``eps <= 0``.

    References:
      Zbontar et al., "Barlow Twins: Self-Supervised Learning via Redundancy
      Reduction", ICML 2021, eqs. (1)-(2).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> z = jnp.array([[1.0, -1.0], [-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
      >>> float(losses.barlow_twins(z, z, eps=1e-12))  # C = identity
      0.0
    """
    z1, z2, n = _views(z1, z2, "barlow_twins", axis_name)
    check_nonnegative(lambda_, "lambda_")
    check_positive(eps, "eps")

    def standardise(z):
        zc = _centered(z, n, axis_name)
        var = global_sum(jnp.sum(zc * zc, axis=0), axis_name) / n
        return zc / jnp.sqrt(var + eps)

    c = global_sum(batch_contract(standardise(z1), standardise(z2)), axis_name) / n
    diag = jnp.diagonal(c)
    on_diagonal = jnp.sum((1.0 - diag) ** 2)
    off_diagonal = jnp.sum(c * c) - jnp.sum(diag * diag)
    loss = on_diagonal + lambda_ * off_diagonal
    if not return_metrics:
        return loss
    metrics = {"on_diagonal": on_diagonal, "off_diagonal": off_diagonal}
    return loss, jax.lax.stop_gradient(metrics)


def vicreg(
    z1: jax.Array,
    z2: jax.Array,
    *,
    sim: float = 25.0,
    var: float = 25.0,
    cov: float = 1.0,
    gamma: float = 1.0,
    eps: float = 1e-4,
    axis_name: Hashable | None = None,
    return_metrics: bool = False,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
    r"""VICReg: variance-invariance-covariance regularisation.

    With N examples of dimension D, per view :math:`Z`: the unbiased
    covariance :math:`C(Z) = \frac{1}{N-1}\sum_b (z_b - \bar z)(z_b - \bar z)^\top`,

    .. math::

        s &= \frac{1}{N D} \sum_b \lVert z^{(1)}_b - z^{(2)}_b \rVert_2^2 \\
        v(Z) &= \frac{1}{D} \sum_j \max\bigl(0, \gamma - \sqrt{C(Z)_{jj} + \epsilon}\bigr) \\
        c(Z) &= \frac{1}{D} \sum_{i \ne j} C(Z)_{ij}^2 \\
        L &= \lambda\, s + \mu\, \tfrac{1}{2}\bigl[v(Z^{(1)}) + v(Z^{(2)})\bigr]
             + \nu \bigl[c(Z^{(1)}) + c(Z^{(2)})\bigr]

    with :math:`(\lambda, \mu, \nu)` = ``(sim, var, cov)``. This is the
    normalisation of the authors' released training code, for which the
    default coefficients 25/25/1 were tuned: the invariance term is a mean over
    all N·D entries (the paper's eq. (5) writes a sum over D, D times larger)
    and the variance term averages the two views (the paper's eq. (6) sums
    them, twice as large).

    Args:
      z1: ``[N, D]`` first-view embeddings (float).
      z2: ``[N, D]`` second-view embeddings.
      sim: invariance weight :math:`\lambda \ge 0`.
      var: variance weight :math:`\mu \ge 0`.
      cov: covariance weight :math:`\nu \ge 0`.
      gamma: target standard deviation :math:`\gamma > 0`.
      eps: :math:`\epsilon > 0` inside the square root.
      axis_name: sum the statistics over this pmap/shard_map axis (the authors
        gather the embeddings of all GPUs for the same reason).
      return_metrics: also return ``{'invariance', 'variance', 'covariance'}``,
        the three terms before weighting.

    Returns:
      The scalar loss (float32, float64 for float64 inputs), and with
      ``return_metrics`` a ``(loss, metrics)`` pair.

    Raises:
      TypeError: non-float inputs.
      ValueError: shapes differ or are not rank 2, a global batch under 2, a
        negative weight, ``gamma <= 0`` or ``eps <= 0``.

    References:
      Bardes, Ponce and LeCun, "VICReg: Variance-Invariance-Covariance
      Regularization for Self-Supervised Learning", ICLR 2022, eqs. (1)-(6).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> z = jnp.zeros((8, 4))           # collapsed: every std is 0
      >>> float(losses.vicreg(z, z, eps=1e-12))  # only the variance term: 25 * (1 + 1) / 2
      25.0
    """
    z1, z2, n = _views(z1, z2, "vicreg", axis_name)
    for value, name in ((sim, "sim"), (var, "var"), (cov, "cov")):
        check_nonnegative(value, name)
    check_positive(gamma, "gamma")
    check_positive(eps, "eps")

    d = z1.shape[1]
    diff = z1 - z2
    invariance = global_sum(jnp.sum(diff * diff), axis_name) / (n * d)

    def variance_and_covariance(z):
        zc = _centered(z, n, axis_name)
        c = global_sum(batch_contract(zc, zc), axis_name) / (n - 1)
        diag = jnp.diagonal(c)
        v = jnp.mean(jax.nn.relu(gamma - jnp.sqrt(diag + eps)))
        return v, (jnp.sum(c * c) - jnp.sum(diag * diag)) / d

    v1, c1 = variance_and_covariance(z1)
    v2, c2 = variance_and_covariance(z2)
    variance = 0.5 * (v1 + v2)
    covariance = c1 + c2
    loss = sim * invariance + var * variance + cov * covariance
    if not return_metrics:
        return loss
    metrics = {"invariance": invariance, "variance": variance, "covariance": covariance}
    return loss, jax.lax.stop_gradient(metrics)
