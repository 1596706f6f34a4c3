"""Barlow Twins, VICReg, classification and generative losses: sweeps and edge cases."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl import losses
from tests.losses import reference as ref
from tests.losses.test_transforms import host


def _pair(rng, n, d):
    return tuple(jnp.asarray(rng.standard_normal((n, d)), jnp.float32) for _ in range(2))


@pytest.mark.parametrize("lambda_", [0.0, 5e-3, 0.5])
@pytest.mark.parametrize("n,d", [(2, 3), (9, 4), (32, 8)])
def test_barlow_twins_reference_sweep(lambda_, n, d, rng):
    z1, z2 = _pair(rng, n, d)
    expected = ref.barlow_twins(*host([z1, z2]), lambda_, 1e-5)
    got = losses.barlow_twins(z1, z2, lambda_=lambda_)
    np.testing.assert_allclose(got, expected, rtol=5e-5, atol=1e-5)


def test_barlow_twins_metrics_are_its_two_terms(rng):
    z1, z2 = _pair(rng, 12, 5)
    loss, m = losses.barlow_twins(z1, z2, lambda_=0.01, return_metrics=True)
    np.testing.assert_allclose(loss, m["on_diagonal"] + 0.01 * m["off_diagonal"], rtol=1e-6)
    np.testing.assert_allclose(
        m["on_diagonal"], ref.barlow_twins(*host([z1, z2]), 0.0, 1e-5), rtol=5e-5
    )


@pytest.mark.parametrize(
    "coeffs", [(25.0, 25.0, 1.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)]
)
@pytest.mark.parametrize("n,d", [(2, 3), (9, 4), (32, 8)])
def test_vicreg_reference_sweep(coeffs, n, d, rng):
    z1, z2 = _pair(rng, n, d)
    sim, var, cov = coeffs
    expected = ref.vicreg(*host([z1, z2]), sim, var, cov)
    got = losses.vicreg(z1, z2, sim=sim, var=var, cov=cov)
    np.testing.assert_allclose(got, expected, rtol=5e-5, atol=1e-6)


def test_vicreg_metrics_are_its_three_terms(rng):
    z1, z2 = _pair(rng, 10, 4)
    loss, m = losses.vicreg(z1, z2, sim=2.0, var=3.0, cov=4.0, return_metrics=True)
    np.testing.assert_allclose(
        loss, 2 * m["invariance"] + 3 * m["variance"] + 4 * m["covariance"], rtol=1e-6
    )
    np.testing.assert_allclose(m["invariance"], ref.vicreg(*host([z1, z2]), 1, 0, 0), rtol=1e-5)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 1.0])
def test_softmax_cross_entropy_smoothing_and_label_forms_agree(smoothing, rng):
    logits = jnp.asarray(3 * rng.standard_normal((6, 5)), jnp.float32)
    labels = jnp.asarray(rng.integers(0, 5, 6), jnp.int32)
    from_int = losses.softmax_cross_entropy(logits, labels, label_smoothing=smoothing)
    from_onehot = losses.softmax_cross_entropy(
        logits, jax.nn.one_hot(labels, 5), label_smoothing=smoothing
    )
    expected = ref.softmax_cross_entropy(
        np.asarray(logits, np.float64), np.asarray(labels), smoothing
    )
    np.testing.assert_allclose(from_int, expected, rtol=2e-5)
    np.testing.assert_allclose(from_onehot, expected, rtol=2e-5)


def test_softmax_cross_entropy_where_mask(rng):
    logits = jnp.asarray(rng.standard_normal((2, 4, 6)), jnp.float32)
    labels = jnp.asarray(rng.integers(0, 6, (2, 4)), jnp.int32)
    where = jnp.asarray(rng.uniform(size=(2, 4)) < 0.5).at[0, 0].set(True)
    expected = ref.softmax_cross_entropy(
        np.asarray(logits, np.float64), np.asarray(labels), where=np.asarray(where)
    )
    got = losses.softmax_cross_entropy(logits, labels, where=where)
    np.testing.assert_allclose(got, expected, rtol=2e-5)


def test_masked_lm_with_nothing_masked_is_zero_not_nan(rng):
    logits = jnp.asarray(rng.standard_normal((2, 3, 7)), jnp.float32)
    targets = jnp.full((2, 3), -1, jnp.int32)  # padding ids everywhere
    mask = jnp.zeros((2, 3), bool)
    fn = lambda x: losses.masked_lm_loss(x, targets, mask)  # noqa: E731
    loss, grad = jax.value_and_grad(fn)(logits)
    assert float(loss) == 0.0 and np.isfinite(grad).all() and not np.any(grad)
    _, metrics = losses.masked_lm_loss(logits, targets, mask, return_metrics=True)
    assert float(metrics["accuracy"]) == 0.0


def test_masked_lm_accuracy_counts_masked_positions_only():
    logits = jax.nn.one_hot(jnp.array([[1, 2, 3, 0]]), 5) * 10.0  # predicts 1, 2, 3, 0
    targets = jnp.array([[1, 2, 4, 4]])
    mask = jnp.array([[True, True, True, False]])
    _, metrics = losses.masked_lm_loss(logits, targets, mask, return_metrics=True)
    np.testing.assert_allclose(metrics["accuracy"], 2 / 3, rtol=1e-6)


def test_bce_forms_are_stable_at_extreme_logits():
    logits = jnp.array([-200.0, -30.0, 0.0, 30.0, 200.0])
    targets = jnp.array([1.0, 0.0, 0.5, 1.0, 0.0])
    got = losses.sigmoid_binary_cross_entropy(logits, targets, reduction="none")
    np.testing.assert_allclose(
        got, ref.sigmoid_bce(np.asarray(logits), np.asarray(targets), reduction="none"), rtol=1e-6
    )
    d = losses.gan_discriminator_loss(logits, -logits, reduction="none")
    assert np.isfinite(d).all()
    # The 200/-200 entry is 2.8e-87 in float64, below float32's smallest
    # subnormal (1.4e-45): 0 is its correctly rounded float32 value.
    np.testing.assert_allclose(
        d,
        ref.gan_discriminator(np.asarray(logits), -np.asarray(logits), "bce", "none"),
        rtol=1e-6,
        atol=1.4e-45,
    )


def test_reconstruction_sum_is_mean_times_features(rng):
    recon, target = (jnp.asarray(rng.uniform(size=(3, 4, 5)), jnp.float32) for _ in range(2))
    for kind in ("mse", "bce_logits"):
        mean = losses.reconstruction_loss(recon, target, kind=kind, reduction="none")
        total = losses.reconstruction_loss(
            recon, target, kind=kind, feature_reduction="sum", reduction="none"
        )
        np.testing.assert_allclose(total, 20 * mean, rtol=1e-6)


def test_vae_elbo_is_reconstruction_plus_beta_kl(rng):
    logits = jnp.asarray(rng.standard_normal((4, 6)), jnp.float32)
    x = jnp.asarray(rng.uniform(size=(4, 6)), jnp.float32)
    mean, logvar = (jnp.asarray(rng.standard_normal((4, 2)), jnp.float32) for _ in range(2))
    for beta in (0.0, 1.0, 4.0):
        loss, m = losses.vae_elbo(logits, x, mean, logvar, beta=beta, return_metrics=True)
        np.testing.assert_allclose(loss, m["reconstruction"] + beta * m["kl"], rtol=1e-6)
        np.testing.assert_allclose(m["kl"], losses.gaussian_kl(mean, logvar), rtol=1e-6)
    mse = losses.vae_elbo(logits, x, mean, logvar, kind="mse")
    expected = ref.vae_elbo(*host([logits, x, mean, logvar]), 1.0, "mse")
    np.testing.assert_allclose(mse, expected, rtol=2e-5)
