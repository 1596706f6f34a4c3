"""NT-Xent, InfoNCE, SupCon and contrastive accuracy: sweeps, invariants, cross-checks."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxssl import losses
from tests.losses import reference as ref
from tests.losses.test_transforms import host

TEMPERATURES = (0.05, 0.5, 5.0)
SIZES = ((2, 3), (7, 16), (24, 5))  # (N, D): smallest valid batch first


def _pair(rng, n, d, dtype=jnp.float32):
    return tuple(jnp.asarray(rng.standard_normal((n, d)), dtype) for _ in range(2))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16], ids=["f32", "bf16"])
@pytest.mark.parametrize("n,d", SIZES)
@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_nt_xent_reference_sweep(temperature, n, d, dtype, rng):
    z1, z2 = _pair(rng, n, d, dtype)
    got = losses.nt_xent(z1, z2, temperature=temperature)
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(got, ref.nt_xent(*host([z1, z2]), temperature), rtol=2e-5)


@pytest.mark.parametrize("n,d", SIZES)
@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_info_nce_reference_sweep_with_queue(temperature, n, d, rng):
    q, k = _pair(rng, n, d)
    queue = jnp.asarray(rng.standard_normal((6, d)), jnp.float32)
    for in_batch in (True, False):
        got = losses.info_nce(
            q, k, negatives=queue, temperature=temperature, in_batch_negatives=in_batch
        )
        expected = ref.info_nce(*host([q, k]), temperature, np.asarray(queue, np.float64), in_batch)
        np.testing.assert_allclose(got, expected, rtol=2e-5)


@pytest.mark.parametrize("n,d", SIZES)
@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_sup_con_reference_sweep(temperature, n, d, rng):
    z = jnp.asarray(rng.standard_normal((n, d)), jnp.float32)
    labels = jnp.asarray(rng.integers(0, max(n // 3, 1), n), jnp.int32)
    expected = ref.sup_con(np.asarray(z, np.float64), np.asarray(labels), temperature)
    got = losses.sup_con(z, labels, temperature=temperature)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-6)


def test_nt_xent_is_symmetric_in_the_views(rng):
    z1, z2 = _pair(rng, 9, 4)
    np.testing.assert_allclose(losses.nt_xent(z1, z2), losses.nt_xent(z2, z1), rtol=1e-6)


def test_nt_xent_is_invariant_to_permuting_pairs(rng):
    z1, z2 = _pair(rng, 11, 4)
    perm = rng.permutation(11)
    np.testing.assert_allclose(
        losses.nt_xent(z1[perm], z2[perm]), losses.nt_xent(z1, z2), rtol=1e-6
    )
    per_example = losses.nt_xent(z1, z2, reduction="none")
    np.testing.assert_allclose(
        losses.nt_xent(z1[perm], z2[perm], reduction="none"), per_example[perm], rtol=1e-6
    )


def test_nt_xent_is_invariant_to_embedding_scale(rng):
    z1, z2 = _pair(rng, 6, 4)
    np.testing.assert_allclose(
        losses.nt_xent(3.0 * z1, 0.1 * z2), losses.nt_xent(z1, z2), rtol=1e-5
    )


@pytest.mark.parametrize("n", [2, 5, 64])
@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_nt_xent_identical_embeddings_give_log_2n_minus_1(n, temperature, rng):
    # Every logit is 1/τ, so each anchor's softmax over 2N-1 equal candidates
    # gives its positive probability 1/(2N-1), whatever τ is.
    z = jnp.tile(jnp.asarray(rng.standard_normal((1, 6)), jnp.float32), (n, 1))
    np.testing.assert_allclose(
        losses.nt_xent(z, z, temperature=temperature), math.log(2 * n - 1), rtol=1e-6
    )


@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_nt_xent_equals_optax_ntxent_on_concatenated_views(temperature, rng):
    z1, z2 = _pair(rng, 12, 8)
    labels = jnp.concatenate([jnp.arange(12), jnp.arange(12)])
    theirs = optax.losses.ntxent(jnp.concatenate([z1, z2]), labels, temperature=temperature)
    np.testing.assert_allclose(losses.nt_xent(z1, z2, temperature=temperature), theirs, rtol=1e-5)


def test_sup_con_with_distinct_labels_equals_nt_xent(rng):
    z1, z2 = _pair(rng, 10, 6)
    labels = jnp.concatenate([jnp.arange(10), jnp.arange(10)])
    np.testing.assert_allclose(
        losses.sup_con(jnp.concatenate([z1, z2]), labels, temperature=0.3),
        losses.nt_xent(z1, z2, temperature=0.3),
        rtol=1e-5,
    )


def test_sup_con_skips_anchors_without_positive(rng):
    z = jnp.asarray(rng.standard_normal((5, 3)), jnp.float32)
    labels = jnp.array([0, 0, 1, 2, 3])  # only anchors 0 and 1 have a positive
    per_anchor = losses.sup_con(z, labels, temperature=0.5, reduction="none")
    np.testing.assert_array_equal(per_anchor[2:], 0.0)
    np.testing.assert_allclose(
        losses.sup_con(z, labels, temperature=0.5), jnp.mean(per_anchor[:2]), rtol=1e-6
    )
    distinct = jnp.arange(5)
    assert float(losses.sup_con(z, distinct, temperature=0.5)) == 0.0
    grads = jax.jit(jax.grad(lambda x: losses.sup_con(x, distinct, temperature=0.5)))(z)
    assert np.isfinite(grads).all()


def test_info_nce_without_in_batch_negatives_uses_only_the_queue(rng):
    q, k = _pair(rng, 4, 3)
    queue = jnp.asarray(rng.standard_normal((5, 3)), jnp.float32)
    # Row i alone: its own key and the queue, independent of the other rows.
    alone = losses.info_nce(
        q[:1], k[:1], negatives=queue, temperature=0.1, in_batch_negatives=False
    )
    batched = losses.info_nce(
        q, k, negatives=queue, temperature=0.1, in_batch_negatives=False, reduction="none"
    )
    np.testing.assert_allclose(batched[0], alone, rtol=1e-6)


@pytest.mark.parametrize("top_k", [1, 2, 5])
def test_contrastive_accuracy_matches_reference(top_k, rng):
    z1 = jnp.asarray(rng.standard_normal((12, 4)), jnp.float32)
    z2 = z1 + jnp.asarray(rng.standard_normal((12, 4)), jnp.float32)
    got = losses.contrastive_accuracy(z1, z2, top_k=top_k)[f"top{top_k}"]
    expected = ref.contrastive_accuracy(*host([z1, z2]), top_k)
    assert 0 < expected < 1  # an informative batch, not all right or all wrong
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_nt_xent_metrics_match_references(rng):
    z1 = jnp.asarray(rng.standard_normal((10, 5)), jnp.float32)
    z2 = z1 + 0.9 * jnp.asarray(rng.standard_normal((10, 5)), jnp.float32)
    loss, metrics = losses.nt_xent(z1, z2, temperature=0.3, return_metrics=True)
    np.testing.assert_allclose(loss, losses.nt_xent(z1, z2, temperature=0.3), rtol=1e-7)
    args = host([z1, z2])
    pos_sim, neg_sim = ref.pair_similarities(*args)
    np.testing.assert_allclose(metrics["top1"], ref.contrastive_accuracy(*args, 1), rtol=1e-6)
    np.testing.assert_allclose(metrics["top5"], ref.contrastive_accuracy(*args, 5), rtol=1e-6)
    np.testing.assert_allclose(metrics["pos_sim"], pos_sim, rtol=1e-5)
    np.testing.assert_allclose(metrics["neg_sim"], neg_sim, rtol=1e-4, atol=1e-6)


def test_nt_xent_has_no_nan_at_extreme_temperature(rng):
    z1, z2 = _pair(rng, 6, 4)
    loss, grads = jax.value_and_grad(lambda a: losses.nt_xent(a, z2, temperature=1e-4))(z1)
    assert np.isfinite(loss) and np.isfinite(grads).all()
    # A zero embedding is normalised with the 1e-6 floor, not divided by zero.
    zero = z1.at[0].set(0.0)
    loss, grads = jax.value_and_grad(lambda a: losses.nt_xent(a, z2))(zero)
    assert np.isfinite(loss) and np.isfinite(grads).all()


def test_temperature_may_be_traced(rng):
    z1, z2 = _pair(rng, 5, 3)
    traced = jax.jit(lambda t: losses.nt_xent(z1, z2, temperature=t))(0.5)
    np.testing.assert_allclose(traced, losses.nt_xent(z1, z2, temperature=0.5), rtol=1e-6)
