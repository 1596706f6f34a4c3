"""Triplet losses: norms, optax cross-check, edge cases of mining."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxssl import losses
from tests.losses import reference as ref
from tests.losses.test_transforms import host


def _triplets(rng, n, d):
    return tuple(jnp.asarray(rng.standard_normal((n, d)), jnp.float32) for _ in range(3))


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("margin", [0.0, 0.5, 2.0])
def test_triplet_margin_matches_reference_for_each_norm(p, margin, rng):
    a, pos, neg = _triplets(rng, 7, 5)
    expected = ref.triplet_margin(*host([a, pos, neg]), margin, p)
    got = losses.triplet_margin(a, pos, neg, margin=margin, p=p)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-6)


def test_triplet_margin_p2_equals_optax(rng):
    a, pos, neg = _triplets(rng, 16, 8)
    theirs = optax.losses.triplet_margin_loss(a, pos, neg, norm_degree=2, margin=1.0)
    # optax adds eps=1e-6 under the square root: each distance moves by at most
    # 1e-6 / (2 * distance), and these distances are >= 0.5, so < 1e-6.
    dists = np.linalg.norm(np.concatenate([a - pos, a - neg]), axis=1)
    assert dists.min() > 0.5
    ours = losses.triplet_margin(a, pos, neg, margin=1.0, p=2.0, reduction="none")
    np.testing.assert_allclose(ours, theirs, atol=3e-6)


def test_triplet_margin_has_zero_gradient_where_points_coincide(rng):
    a, _, neg = _triplets(rng, 3, 4)
    for p in (1.0, 2.0, 3.0):
        grad = jax.grad(lambda x, p=p: losses.triplet_margin(a, x, neg, margin=5.0, p=p))(a)
        assert np.isfinite(grad).all()


def test_batch_triplet_without_valid_anchor_is_zero_with_finite_gradient(rng):
    z = jnp.asarray(rng.standard_normal((4, 3)), jnp.float32)
    same = jnp.zeros(4, jnp.int32)  # no negatives anywhere
    distinct = jnp.arange(4)  # no positives anywhere
    for labels in (same, distinct):
        for mining in ("hard", "semi-hard", "all"):
            fn = lambda x, labels=labels, mining=mining: losses.batch_triplet(  # noqa: E731
                x, labels, mining=mining
            )
            loss, grad = jax.jit(jax.value_and_grad(fn))(z)  # one compile, not one per op
            assert float(loss) == 0.0
            assert np.isfinite(grad).all() and not np.any(grad)


@pytest.mark.parametrize("mining", ["hard", "semi-hard", "all"])
def test_batch_triplet_sum_is_sum_of_per_anchor(mining, rng):
    z = jnp.asarray(rng.standard_normal((10, 3)), jnp.float32)
    labels = jnp.asarray(rng.integers(0, 3, 10), jnp.int32)
    per_anchor = losses.batch_triplet(z, labels, mining=mining, reduction="none")
    np.testing.assert_allclose(
        losses.batch_triplet(z, labels, mining=mining, reduction="sum"),
        jnp.sum(per_anchor),
        rtol=1e-6,
    )


def test_batch_triplet_semi_hard_prefers_closest_farther_negative():
    # One anchor at 0 with a positive at 1; negatives at 0.5 (closer than the
    # positive: not semi-hard), 1.5 (closest farther) and 4.
    z = jnp.array([[0.0], [1.0], [0.5], [1.5], [4.0]])
    labels = jnp.array([0, 0, 1, 1, 1])
    per_anchor = losses.batch_triplet(z, labels, margin=1.0, mining="semi-hard", reduction="none")
    # Anchor 0: d_ap = 1, chosen d_an = 1.5 -> 1 - 1.5 + 1 = 0.5.
    np.testing.assert_allclose(per_anchor[0], 0.5, rtol=1e-6)
    np.testing.assert_allclose(
        per_anchor,
        ref.batch_triplet(np.asarray(z), np.asarray(labels), 1.0, "semi-hard", reduction="none"),
        rtol=1e-6,
    )
