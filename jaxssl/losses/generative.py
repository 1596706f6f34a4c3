r"""Generative losses: GAN objectives, reconstruction, Gaussian KL and the VAE's ELBO.

Discriminator outputs are raw scores (logits, no sigmoid applied); the BCE
forms use ``softplus`` so they are exact for any logit magnitude.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxssl.losses._common import (
    REDUCTIONS,
    as_float,
    bce_with_logits,
    check_choice,
    check_min_rank,
    check_nonnegative,
    check_not_empty,
    check_same_shape,
    reduce_examples,
)

DISCRIMINATOR_KINDS = ("bce", "hinge", "least_squares")
GENERATOR_KINDS = ("non_saturating", "hinge", "least_squares")
RECONSTRUCTION_KINDS = ("mse", "bce_logits")


def gan_discriminator_loss(
    real_logits: jax.Array,
    fake_logits: jax.Array,
    *,
    kind: str = "bce",
    reduction: str = "mean",
) -> jax.Array:
    r"""Discriminator loss on scores of real and generated samples.

    With :math:`r` the scores of real and :math:`f` of generated samples:

    * ``'bce'`` (Goodfellow et al. 2014):
      :math:`-\log\sigma(r) - \log(1-\sigma(f))`, computed as
      :math:`\operatorname{softplus}(-r) + \operatorname{softplus}(f)`
    * ``'hinge'`` (Lim & Ye 2017; Miyato et al. 2018):
      :math:`\max(0, 1-r) + \max(0, 1+f)`
    * ``'least_squares'`` (LSGAN, Mao et al. 2017, targets a=0, b=1):
      :math:`\tfrac12 (r-1)^2 + \tfrac12 f^2`

    ``'mean'`` is the mean of the real terms plus the mean of the fake terms
    (the two batches may differ in size); ``'sum'`` adds the two sums;
    ``'none'`` needs equal shapes and returns the elementwise sum.

    Args:
      real_logits: float scores of real samples, any shape.
      fake_logits: float scores of generated samples.
      kind: ``'bce'``, ``'hinge'`` or ``'least_squares'``.
      reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Returns:
      The loss, float32 (float64 for float64 inputs).

    Raises:
      TypeError: non-float inputs.
      ValueError: unknown ``kind`` or ``reduction``; shapes that differ with
        ``reduction='none'``.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> float(losses.gan_discriminator_loss(jnp.zeros(4), jnp.zeros(4)))  # 2 log 2
      1.3862...
    """
    r = as_float(real_logits, "real_logits")
    f = as_float(fake_logits, "fake_logits")
    check_choice(kind, "kind", DISCRIMINATOR_KINDS)
    check_choice(reduction, "reduction", REDUCTIONS)
    if reduction == "none":
        check_same_shape(real_logits=r, fake_logits=f)
    if kind == "bce":
        real_term, fake_term = jax.nn.softplus(-r), jax.nn.softplus(f)
    elif kind == "hinge":
        real_term, fake_term = jax.nn.relu(1.0 - r), jax.nn.relu(1.0 + f)
    else:
        real_term, fake_term = 0.5 * (r - 1.0) ** 2, 0.5 * f**2
    if reduction == "none":
        return real_term + fake_term
    return reduce_examples(real_term, reduction) + reduce_examples(fake_term, reduction)


def gan_generator_loss(
    fake_logits: jax.Array, *, kind: str = "non_saturating", reduction: str = "mean"
) -> jax.Array:
    r"""Generator loss on the discriminator's scores :math:`f` of generated samples.

    * ``'non_saturating'`` (Goodfellow et al. 2014, section 3):
      :math:`-\log\sigma(f) = \operatorname{softplus}(-f)`
    * ``'hinge'`` (Miyato et al. 2018): :math:`-f`
    * ``'least_squares'`` (LSGAN, c=1): :math:`\tfrac12 (f-1)^2`

    Args:
      fake_logits: float scores of generated samples, any shape.
      kind: ``'non_saturating'``, ``'hinge'`` or ``'least_squares'``.
      reduction: ``'mean'``, ``'sum'`` or ``'none'`` (elementwise).

    Returns:
      The loss, float32 (float64 for float64 inputs).

    Raises:
      TypeError: non-float input.
      ValueError: unknown ``kind`` or ``reduction``.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> float(losses.gan_generator_loss(jnp.zeros(4)))  # log 2
      0.6931...
    """
    f = as_float(fake_logits, "fake_logits")
    check_choice(kind, "kind", GENERATOR_KINDS)
    check_choice(reduction, "reduction", REDUCTIONS)
    if kind == "non_saturating":
        per_example = jax.nn.softplus(-f)
    elif kind == "hinge":
        per_example = -f
    else:
        per_example = 0.5 * (f - 1.0) ** 2
    return reduce_examples(per_example, reduction)


def _per_example(x: jax.Array, how: str) -> jax.Array:
    axes = tuple(range(1, x.ndim))
    return jnp.sum(x, axis=axes) if how == "sum" else jnp.mean(x, axis=axes)


def _reconstruction_terms(recon, target, kind: str) -> jax.Array:
    x = as_float(recon, "recon")
    t = as_float(target, "target")
    check_min_rank(x, "recon", 1, "[B, ...]")
    check_not_empty(x, "recon")
    check_same_shape(recon=x, target=t)
    check_choice(kind, "kind", RECONSTRUCTION_KINDS)
    t = t.astype(x.dtype)
    if kind == "mse":
        return (x - t) ** 2
    return bce_with_logits(x, t)


def reconstruction_loss(
    recon: jax.Array,
    target: jax.Array,
    *,
    kind: str = "mse",
    feature_reduction: str = "mean",
    reduction: str = "mean",
) -> jax.Array:
    r"""Reconstruction error of an autoencoder, per example then over the batch.

    Elementwise terms:

    * ``'mse'``: :math:`(\hat x - x)^2`, with ``recon`` the reconstruction.
    * ``'bce_logits'``: :math:`-x \log\sigma(\hat x) - (1-x)\log(1-\sigma(\hat x))`, the
      Bernoulli negative log-likelihood with ``recon`` as logits and targets in [0, 1].

    Each example's terms are averaged (``feature_reduction='mean'``, the
    per-pixel error) or summed (``'sum'``, the negative log-likelihood of the
    whole example, as in the VAE's ELBO) over all axes after the first.

    Args:
      recon: ``[B, ...]`` float reconstructions (or logits for ``'bce_logits'``).
      target: ``[B, ...]`` targets, same shape.
      kind: ``'mse'`` or ``'bce_logits'``.
      feature_reduction: ``'mean'`` or ``'sum'`` over each example's features.
      reduction: ``'mean'`` over the batch, ``'sum'``, or ``'none'`` (``[B]``).

    Returns:
      The loss, float32 (float64 for float64 inputs).

    Raises:
      TypeError: non-float inputs.
      ValueError: shapes differ, rank 0, unknown ``kind``,
        ``feature_reduction`` or ``reduction``.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> float(losses.reconstruction_loss(jnp.ones((2, 4)), jnp.zeros((2, 4))))
      1.0
    """
    check_choice(feature_reduction, "feature_reduction", ("mean", "sum"))
    check_choice(reduction, "reduction", REDUCTIONS)
    terms = _reconstruction_terms(recon, target, kind)
    return reduce_examples(_per_example(terms, feature_reduction), reduction)


def _gaussian_kl_per_example(mean, logvar) -> jax.Array:
    mu = as_float(mean, "mean")
    lv = as_float(logvar, "logvar")
    check_min_rank(mu, "mean", 1, "[B, ...]")
    check_not_empty(mu, "mean")
    check_same_shape(mean=mu, logvar=lv)
    lv = lv.astype(mu.dtype)
    return _per_example(0.5 * (mu * mu + jnp.exp(lv) - 1.0 - lv), "sum")


def gaussian_kl(mean: jax.Array, logvar: jax.Array, *, reduction: str = "mean") -> jax.Array:
    r"""KL divergence of a diagonal Gaussian from the standard normal.

    .. math::

        \mathrm{KL}\bigl(\mathcal N(\mu, \operatorname{diag}\sigma^2) \,\|\, \mathcal N(0, I)\bigr)
          = \tfrac12 \sum_j \bigl(\mu_j^2 + \sigma_j^2 - 1 - \log\sigma_j^2\bigr)

    summed over each example's latent dimensions (all axes after the first).

    Args:
      mean: ``[B, ...]`` float means :math:`\mu`.
      logvar: ``[B, ...]`` log-variances :math:`\log\sigma^2`, same shape.
      reduction: ``'mean'`` over the batch, ``'sum'``, or ``'none'`` (``[B]``).

    Returns:
      The KL, float32 (float64 for float64 inputs).

    Raises:
      TypeError: non-float inputs.
      ValueError: shapes differ, rank 0, unknown ``reduction``.

    References:
      Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014, appendix B.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> float(losses.gaussian_kl(jnp.zeros((2, 3)), jnp.zeros((2, 3))))  # N(0, I) itself
      0.0
    """
    check_choice(reduction, "reduction", REDUCTIONS)
    return reduce_examples(_gaussian_kl_per_example(mean, logvar), reduction)


def vae_elbo(
    recon_logits: jax.Array,
    target: jax.Array,
    mean: jax.Array,
    logvar: jax.Array,
    *,
    beta: float = 1.0,
    kind: str = "bce_logits",
    reduction: str = "mean",
    return_metrics: bool = False,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
    r"""The VAE's negative ELBO (a loss to minimise), with a beta weight on the KL.

    .. math::

        \ell = \underbrace{-\log p(x \mid z)}_{\text{reconstruction}}
             + \beta\, \mathrm{KL}\bigl(q(z \mid x) \,\|\, \mathcal N(0, I)\bigr)

    per example, with the reconstruction term of :func:`reconstruction_loss`
    summed over the example's features (``'bce_logits'``: Bernoulli decoder;
    ``'mse'``: the summed squared error, a Gaussian decoder of variance 1/2 up
    to a constant) and the KL of :func:`gaussian_kl`. ``beta=1`` is the
    ELBO; other values give the beta-VAE objective.

    Args:
      recon_logits: ``[B, ...]`` decoder outputs (logits for ``'bce_logits'``).
      target: ``[B, ...]`` data, same shape (in [0, 1] for ``'bce_logits'``).
      mean: ``[B, Z]`` (or ``[B, ...]``) posterior means.
      logvar: posterior log-variances, shape of ``mean``.
      beta: KL weight, ``>= 0``.
      kind: ``'bce_logits'`` or ``'mse'``.
      reduction: ``'mean'`` over the batch, ``'sum'``, or ``'none'`` (``[B]``).
      return_metrics: also return ``{'reconstruction', 'kl'}`` (batch means).

    Returns:
      The negative ELBO (float32), and with ``return_metrics`` a
      ``(loss, metrics)`` pair.

    Raises:
      TypeError: non-float inputs.
      ValueError: shapes that differ, batch sizes that differ between the
        reconstruction and the posterior, ``beta < 0``, unknown ``kind`` or
        ``reduction``.

    References:
      Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014, eq. (10);
      Higgins et al., "beta-VAE", ICLR 2017.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> x = jnp.full((1, 4), 0.5)
      >>> float(losses.vae_elbo(jnp.zeros((1, 4)), x, jnp.zeros((1, 2)), jnp.zeros((1, 2))))
      2.7725...
    """
    check_nonnegative(beta, "beta")
    check_choice(reduction, "reduction", REDUCTIONS)
    recon = _per_example(_reconstruction_terms(recon_logits, target, kind), "sum")
    kl = _gaussian_kl_per_example(mean, logvar)
    if recon.shape != kl.shape:
        raise ValueError(
            f"recon_logits and mean must share the batch size, got {jnp.shape(recon_logits)} "
            f"and {jnp.shape(mean)}."
        )
    loss = reduce_examples(recon + beta * kl, reduction)
    if not return_metrics:
        return loss
    metrics = {"reconstruction": jnp.mean(recon), "kl": jnp.mean(kl)}
    return loss, jax.lax.stop_gradient(metrics)
