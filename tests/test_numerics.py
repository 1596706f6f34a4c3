"""jaxssl._src.numerics: the one home of normalisation, gathering, global means and keys.

Each function against NumPy written from its definition, on one array and
under pmap over the 8 simulated devices; then the callers that moved onto it
against the definitions they had before (copied here), bit for bit.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxssl._src import numerics
from jaxssl.data import augment
from jaxssl.losses import _common
from jaxssl.methods import base, moco

N_DEV = 8
AXIS = "d"


def _rows(rng, n=24, d=16):
    """float32 rows of varied length, with a zero row and rows below both floors' scale."""
    x = rng.normal(size=(n, d)) * rng.uniform(0.1, 10.0, size=(n, 1))
    x[0] = 0.0
    x[1] *= 1e-8  # norm ~4e-8: below the losses' floor 1e-6, above 1e-12
    x[2] *= 1e-15  # norm ~4e-15: below both
    return x.astype(np.float32)


def _per_device(x):
    return x.reshape(N_DEV, -1, *x.shape[1:])


# --- the home functions against their definitions ----------------------------------


@pytest.mark.parametrize("form", numerics.NORM_FORMS)
@pytest.mark.parametrize("eps", [1e-6, 1e-12])
def test_l2_normalize_is_x_over_clamped_norm(rng, form, eps):
    x = _rows(rng)
    x64 = x.astype(np.float64)
    want = x64 / np.maximum(np.sqrt(np.sum(x64 * x64, axis=-1, keepdims=True)), eps)
    for fn in (numerics.l2_normalize, jax.jit(numerics.l2_normalize, static_argnames="form")):
        got = np.asarray(fn(jnp.asarray(x), eps=eps, form=form))
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-30)
        assert np.all(got[0] == 0.0)  # a zero row stays exactly zero, no NaN
    # the floor decides: rows shorter than eps come out with norm ||x|| / eps, the rest unit;
    # the ~4e-8 row is shrunk by 1e-6 but made unit by 1e-12
    length = np.linalg.norm(x64, axis=-1)
    np.testing.assert_allclose(np.linalg.norm(got, axis=-1), np.minimum(1, length / eps), rtol=1e-5)
    assert (length[1] < eps) == (eps == 1e-6) and length[2] < eps


def test_l2_normalize_batched_axes_and_bad_arguments(rng):
    x = rng.normal(size=(2, 3, 5)).astype(np.float32)
    want = x / np.linalg.norm(x, axis=-1, keepdims=True)
    np.testing.assert_allclose(numerics.l2_normalize(jnp.asarray(x), eps=1e-6), want, rtol=1e-6)
    with pytest.raises(ValueError, match="eps must be > 0"):
        numerics.l2_normalize(jnp.asarray(x), eps=0.0)
    with pytest.raises(ValueError, match="form must be one of"):
        numerics.l2_normalize(jnp.asarray(x), eps=1e-6, form="sqrt")


def test_the_two_forms_agree_to_rounding(rng):
    # the reason both exist: same formula, not the same float32 bits
    x = jnp.asarray(rng.normal(size=(512, 64)).astype(np.float32))
    a = numerics.l2_normalize(x, eps=1e-6, form="rsqrt")
    b = numerics.l2_normalize(x, eps=1e-6, form="divide")
    np.testing.assert_allclose(a, b, rtol=0, atol=2.5e-7)


def test_gather_rows_under_pmap_is_the_concatenation_in_device_order(rng):
    x = rng.normal(size=(N_DEV * 3, 4)).astype(np.float32)
    rows, offset = jax.pmap(lambda a: numerics.gather_rows(a, AXIS), axis_name=AXIS)(_per_device(x))
    for device in range(N_DEV):
        np.testing.assert_array_equal(rows[device], x)  # every device: all rows, device 0 first
    np.testing.assert_array_equal(offset, 3 * np.arange(N_DEV))
    same, zero = numerics.gather_rows(jnp.asarray(x), None)
    np.testing.assert_array_equal(same, x)
    assert zero == 0


def test_gather_rows_replicates_explicitly_sharded_rows(rng):
    x = rng.normal(size=(N_DEV * 2, 4)).astype(np.float32)
    mesh = jax.make_mesh((N_DEV,), ("data",))  # Explicit axes
    with jax.set_mesh(mesh):
        sharded = jax.device_put(x, NamedSharding(mesh, P("data")))
        rows, offset = jax.jit(lambda a: numerics.gather_rows(a, None))(sharded)
        assert numerics.explicitly_sharded(sharded)
        assert not numerics.explicitly_sharded(rows)
    np.testing.assert_array_equal(rows, x)
    assert offset == 0


def test_global_means_under_pmap_equal_the_single_array_mean(rng):
    x = rng.normal(size=(N_DEV * 5, 3)).astype(np.float32)
    flags = x[:, 0] > 0

    def stats(a, f):
        return {
            "devices": numerics.axis_size(AXIS),
            "sum": numerics.global_sum(jnp.sum(a), AXIS),
            "mean": numerics.global_mean(a, AXIS),
            "fraction": numerics.global_mean(f, AXIS),
            "rows": numerics.global_mean_rows(a, AXIS),
        }

    got = jax.pmap(stats, axis_name=AXIS)(_per_device(x), _per_device(flags))
    one = {
        "mean": numerics.global_mean(jnp.asarray(x), None),
        "fraction": numerics.global_mean(jnp.asarray(flags), None),
        "rows": numerics.global_mean_rows(jnp.asarray(x), None),
    }
    x64 = x.astype(np.float64)
    np.testing.assert_array_equal(got["devices"], N_DEV)
    for out in (got, one):
        np.testing.assert_allclose(out["mean"], np.mean(x64), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(out["fraction"], np.mean(flags), rtol=1e-6)
        np.testing.assert_allclose(
            out["rows"], np.broadcast_to(x64.mean(0), out["rows"].shape), rtol=1e-5, atol=1e-7
        )
    np.testing.assert_allclose(got["sum"], np.sum(x64), rtol=1e-5, atol=1e-6)
    assert one["fraction"].dtype == jnp.float32
    assert numerics.axis_size(None) == 1


def test_example_keys_are_fold_in_of_the_index(key):
    indices = np.array([5, 0, 17, 3, 1000, 2, 9, 11])

    def data(keys):
        return np.asarray(jax.random.key_data(keys))

    no_view = [jax.random.fold_in(key, int(i)) for i in indices]
    view_3 = [jax.random.fold_in(jax.random.fold_in(key, 3), int(i)) for i in indices]
    view_0 = [jax.random.fold_in(jax.random.fold_in(key, 0), int(i)) for i in indices]
    idx = jnp.asarray(indices)
    np.testing.assert_array_equal(
        data(numerics.example_keys(key, idx, view=None)), data(jnp.stack(no_view))
    )
    np.testing.assert_array_equal(data(numerics.example_keys(key, idx, 3)), data(jnp.stack(view_3)))
    np.testing.assert_array_equal(data(numerics.example_keys(key, idx)), data(jnp.stack(view_0)))
    # split over devices: each example keeps its key
    split = jax.pmap(lambda i: numerics.example_keys(key, i, view=None))(idx.reshape(N_DEV, 1))
    np.testing.assert_array_equal(data(split).reshape(len(indices), -1), data(jnp.stack(no_view)))


# --- the moved callers compute what they computed before -----------------------------


def _old_unit(x):  # methods.base.unit before
    return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _old_loss_normalize(x):  # losses._common.l2_normalize before
    sq = jnp.sum(x * x, axis=-1, keepdims=True)
    return x * lax.rsqrt(jnp.maximum(sq, 1e-6**2))


def _old_global_mean_rows(x, axis_name):  # methods.base.global_mean_rows before
    total, count = jnp.sum(x, axis=0), x.shape[0]
    if axis_name is not None:
        total, count = lax.psum(total, axis_name), count * lax.axis_size(axis_name)
    return total / count


def _old_global_mean(x, axis_name):  # methods.base.global_mean before
    return _old_global_mean_rows(base.as_float32(x).reshape(-1), axis_name)


def _old_reduce_mean(per_example, axis_name):  # losses._common.reduce_examples('mean') before
    total = per_example.sum() if axis_name is None else lax.psum(jnp.sum(per_example), axis_name)
    return total / (per_example.size * (1 if axis_name is None else lax.axis_size(axis_name)))


def _old_embedding_std(z, axis_name):
    z = _old_unit(z.astype(jnp.float32))
    mean = _old_global_mean_rows(z, axis_name)
    return jnp.mean(jnp.sqrt(_old_global_mean_rows(jnp.square(z - mean), axis_name)))


def _bits(tree):
    return [np.asarray(leaf) for leaf in jax.tree.leaves(jax.device_get(tree))]


def _assert_bits_equal(got, want):
    for g, w in zip(_bits(got), _bits(want), strict=True):
        np.testing.assert_array_equal(g, w)


def test_normalisations_are_bit_identical_to_the_old_ones(rng):
    x = jnp.asarray(_rows(rng, n=64, d=32))
    for fn in (lambda f: f, jax.jit):
        # the losses (nt_xent, info_nce, sup_con, cosine, BYOL; eval's kNN)
        _assert_bits_equal(fn(_common.l2_normalize)(x), fn(_old_loss_normalize)(x))
        # triplet's embeddings and the z_std monitor
        new_unit = fn(lambda a: numerics.l2_normalize(a, eps=1e-12, form="divide"))
        _assert_bits_equal(new_unit(x), fn(_old_unit)(x))
    # MoCo's queue, keys and metrics now use the losses' normalisation
    _assert_bits_equal(jax.jit(moco._normalize)(x), jax.jit(_common.l2_normalize)(x))


def test_means_gathers_and_keys_are_bit_identical_to_the_old_ones(rng, key):
    per_example = rng.normal(size=(N_DEV * 6,)).astype(np.float32)
    flags = per_example > 0.3
    z = rng.normal(size=(N_DEV * 6, 16)).astype(np.float32)

    def new(p, f, z):
        return {
            "mean": numerics.global_mean(p, AXIS),
            "fraction": numerics.global_mean(f, AXIS),
            "reduce": _common.reduce_examples(p, "mean", axis_name=AXIS),
            "z_std": base.embedding_std(z, AXIS),
            "rows": numerics.gather_rows(z, AXIS)[0],
        }

    def old(p, f, z):
        return {
            "mean": _old_global_mean(p, AXIS),
            "fraction": _old_global_mean(f, AXIS),
            "reduce": _old_reduce_mean(p, AXIS),
            "z_std": _old_embedding_std(z, AXIS),
            "rows": lax.all_gather(z, AXIS, tiled=True),
        }

    args = (_per_device(per_example), _per_device(flags), _per_device(z))
    _assert_bits_equal(jax.pmap(new, axis_name=AXIS)(*args), jax.pmap(old, axis_name=AXIS)(*args))
    one = (jnp.asarray(per_example), jnp.asarray(flags), jnp.asarray(z))
    _assert_bits_equal(numerics.global_mean(one[0], None), _old_global_mean(one[0], None))
    _assert_bits_equal(_common.reduce_examples(one[0], "mean"), _old_reduce_mean(one[0], None))
    _assert_bits_equal(base.embedding_std(one[2], None), _old_embedding_std(one[2], None))

    # keys: the old methods.base.index_keys and the old augment.example_keys
    assert augment.example_keys is numerics.example_keys
    idx = jnp.arange(10) * 7
    old_index_keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(idx)
    view_key = jax.random.fold_in(key, 1)
    old_example_keys = jax.vmap(lambda i: jax.random.fold_in(view_key, i))(idx)
    _assert_bits_equal(
        jax.random.key_data(numerics.example_keys(key, idx, view=None)),
        jax.random.key_data(old_index_keys),
    )
    _assert_bits_equal(
        jax.random.key_data(augment.example_keys(key, idx, 1)),
        jax.random.key_data(old_example_keys),
    )
