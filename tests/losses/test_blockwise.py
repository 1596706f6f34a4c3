"""Blockwise (chunk_size) NT-Xent and InfoNCE: same values and gradients, far less memory.

The chunked forms are also in the case table (tests/losses/cases.py), so they
get the float64 reference, jit, vmap, float64 finite-difference gradients and
every multi-device mode. Here: chunked against dense across sizes, chunk
sizes and dtypes, the metrics from the blocks, queues, and compiled memory.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxssl import losses
from tests.losses import reference as ref


def _views(rng, n, d, dtype=np.float32, noise=0.5):
    z1 = rng.standard_normal((n, d)).astype(np.float32)
    z2 = z1 + noise * rng.standard_normal((n, d)).astype(np.float32)  # correlated pairs
    return jnp.asarray(z1, dtype), jnp.asarray(z2, dtype)


def _value_and_grads(fn, z1, z2):
    # compiled: the sweep compares the two paths' math, and eager dispatch of
    # the blockwise loop cost seconds per case (eager is covered in test_transforms)
    return jax.jit(jax.value_and_grad(fn, argnums=(0, 1)))(z1, z2)


F32_EPS = float(np.finfo(np.float32).eps)


def _assert_same(dense, chunked, temperature, rtol=1e-5, atol=1e-6):
    # The loss is lse - positive logit, two numbers of size up to 1/temperature
    # that cancel when the loss is near 0: the two paths round them
    # differently, so the loss gets an absolute tolerance of a few float32
    # ulps of 1/temperature on top of rtol.
    (loss_d, grads_d), (loss_c, grads_c) = dense, chunked
    np.testing.assert_allclose(loss_c, loss_d, rtol=rtol, atol=4 * F32_EPS / temperature)
    for g_c, g_d in zip(grads_c, grads_d, strict=True):
        np.testing.assert_allclose(
            np.asarray(g_c, np.float32), np.asarray(g_d, np.float32), rtol=rtol, atol=atol
        )


# (N, D, K): K dividing 2N, not dividing it, K = 1, K > 2N.
SWEEP = [(2, 4, 1), (7, 16, 3), (32, 8, 16), (33, 32, 10), (64, 128, 48), (20, 8, 1000)]


@pytest.mark.parametrize(("n", "d", "k"), SWEEP)
@pytest.mark.parametrize("temperature", [0.05, 0.5])
def test_nt_xent_chunked_equals_dense(n, d, k, temperature, rng):
    z1, z2 = _views(rng, n, d)
    dense = _value_and_grads(lambda a, b: losses.nt_xent(a, b, temperature=temperature), z1, z2)
    chunked = _value_and_grads(
        lambda a, b: losses.nt_xent(a, b, temperature=temperature, chunk_size=k), z1, z2
    )
    _assert_same(dense, chunked, temperature)
    expected = ref.nt_xent(np.asarray(z1), np.asarray(z2), temperature)
    np.testing.assert_allclose(chunked[0], expected, rtol=1e-5, atol=4 * F32_EPS / temperature)


@pytest.mark.parametrize(("n", "d", "k"), SWEEP)
@pytest.mark.parametrize(("queue", "in_batch"), [(0, True), (13, True), (13, False)])
def test_info_nce_chunked_equals_dense(n, d, k, queue, in_batch, rng):
    q, key = _views(rng, n, d)
    negatives = jnp.asarray(rng.standard_normal((queue, d)), jnp.float32) if queue else None

    def loss(chunk_size):
        return lambda a, b: losses.info_nce(
            a,
            b,
            negatives=negatives,
            temperature=0.2,
            in_batch_negatives=in_batch,
            chunk_size=chunk_size,
        )

    _assert_same(_value_and_grads(loss(None), q, key), _value_and_grads(loss(k), q, key), 0.2)


def test_gradient_reaches_the_queue(rng):
    q, key = _views(rng, 6, 8)
    queue = jnp.asarray(rng.standard_normal((9, 8)), jnp.float32)

    def grad_wrt_queue(chunk_size):
        return jax.jit(  # one compile, not one per op
            jax.grad(
                lambda m: losses.info_nce(
                    q, key, negatives=m, temperature=0.1, chunk_size=chunk_size
                )
            )
        )(queue)

    dense, chunked = grad_wrt_queue(None), grad_wrt_queue(4)
    scale = float(np.abs(np.asarray(dense)).max())
    assert scale > 1e-3
    # near-zero entries are cancellations of terms up to `scale`: float32 error scales with it
    np.testing.assert_allclose(chunked, dense, rtol=1e-5, atol=1e-6 * scale)


@pytest.mark.parametrize("k", [5, 64])
def test_bf16_inputs_chunked_equals_dense(k, rng):
    # Both paths cast bf16 to float32 before anything else, so they agree to
    # float32 rounding; gradients come back in bf16 (the inputs' dtype), whose
    # 8-bit mantissa sets the gradient tolerance.
    z1, z2 = _views(rng, 40, 16, jnp.bfloat16)
    dense = _value_and_grads(lambda a, b: losses.nt_xent(a, b), z1, z2)
    chunked = _value_and_grads(lambda a, b: losses.nt_xent(a, b, chunk_size=k), z1, z2)
    assert chunked[0].dtype == jnp.float32
    assert chunked[1][0].dtype == jnp.bfloat16
    _assert_same(dense, chunked, 0.1, rtol=1e-2, atol=1e-4)
    np.testing.assert_allclose(chunked[0], dense[0], rtol=1e-5)


@pytest.mark.parametrize("k", [1, 7, 64])
def test_metrics_from_blocks_equal_dense(k, rng):
    z1, z2 = _views(rng, 24, 8, noise=1.5)
    metrics = jax.jit(  # one compile each, not one per op
        lambda a, b, chunk_size: losses.nt_xent(a, b, return_metrics=True, chunk_size=chunk_size)[
            1
        ],
        static_argnums=2,
    )
    dense, chunked = metrics(z1, z2, None), metrics(z1, z2, k)
    assert dense.keys() == chunked.keys()
    for name in dense:
        np.testing.assert_allclose(chunked[name], dense[name], rtol=1e-5, atol=1e-6, err_msg=name)
    assert 0.0 < float(dense["top1"]) < 1.0  # a non-trivial accuracy is compared
    acc_d = losses.contrastive_accuracy(z1, z2, top_k=(1, 3))
    acc_c = losses.contrastive_accuracy(z1, z2, top_k=(1, 3), chunk_size=k)
    assert {name: float(v) for name, v in acc_c.items()} == pytest.approx(
        {name: float(v) for name, v in acc_d.items()}
    )


def test_positive_never_outranks_itself_in_blocks():
    # Identical embeddings: every candidate ties with the positive. The chunked
    # rank skips the positive's own column by index, so float noise between
    # its matmul logit and the elementwise positive logit cannot cost a rank.
    z = jnp.ones((6, 3)) + jnp.arange(3.0) * 1e-3
    _, metrics = losses.nt_xent(z, z, chunk_size=4, return_metrics=True)
    assert float(metrics["top1"]) == 1.0


def _temp_bytes(fn, *specs):
    compiled = jax.jit(jax.value_and_grad(fn, argnums=(0, 1))).lower(*specs).compile()
    return compiled.memory_analysis().temp_size_in_bytes


def test_chunked_needs_under_a_tenth_of_dense_memory_at_4096():
    # Compile-time temporary bytes of forward + backward, nothing is run.
    spec = jax.ShapeDtypeStruct((4096, 128), jnp.float32)
    dense = _temp_bytes(lambda a, b: losses.nt_xent(a, b), spec, spec)
    chunked = _temp_bytes(lambda a, b: losses.nt_xent(a, b, chunk_size=256), spec, spec)
    full_matrix = (2 * 4096) ** 2 * 4
    assert dense >= full_matrix  # the dense path holds at least one [2N, 2N] f32 matrix
    assert chunked < 0.1 * dense, (chunked, dense)


@pytest.mark.parametrize("explicit", [False, True])
def test_sharded_jit_keeps_blocks_row_sharded(explicit):
    # Under plain jit with inputs sharded over 'data' (8 devices), each device
    # must hold only its rows of each block: per-device temporary memory far
    # below one full [2N, 2N] matrix and below the (row-sharded) dense path.
    n, d = 4096, 128
    axis_type = AxisType.Explicit if explicit else AxisType.Auto
    mesh = jax.make_mesh((8,), ("data",), axis_types=(axis_type,))
    spec = jax.ShapeDtypeStruct((n, d), jnp.float32, sharding=NamedSharding(mesh, P("data")))

    def measure(chunk_size):
        fn = lambda a, b: losses.nt_xent(a, b, chunk_size=chunk_size)  # noqa: E731
        if explicit:
            with jax.set_mesh(mesh):
                return _temp_bytes(fn, spec, spec)
        return _temp_bytes(fn, spec, spec)

    chunked, dense = measure(512), measure(None)
    full_matrix = (2 * n) ** 2 * 4
    assert chunked < 0.1 * full_matrix, (chunked, full_matrix)
    assert chunked < 0.5 * dense, (chunked, dense)


def test_chunked_sharded_jit_value_and_gradient_match_one_device(rng):
    z1, z2 = _views(rng, 64, 8)
    mesh = jax.make_mesh((8,), ("data",), axis_types=(AxisType.Auto,))
    sharded = [jax.device_put(z, NamedSharding(mesh, P("data"))) for z in (z1, z2)]

    def fn(a, b):
        return losses.nt_xent(a, b, chunk_size=24)

    single = _value_and_grads(fn, z1, z2)
    multi = jax.jit(jax.value_and_grad(fn, argnums=(0, 1)))(*sharded)
    assert multi[1][0].sharding.spec == P("data")  # gradients stay with their rows
    _assert_same(single, multi, 0.1, rtol=2e-5)
