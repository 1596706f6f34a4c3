"""Cross-example losses on 8 simulated devices equal one device on the global batch.

The gradient checks use the recipe the library documents, on a parameter as a
user would have it: embeddings z = x @ W with W replicated and x sharded over
'data'; differentiate the loss w.r.t. W, then `lax.pmean` the gradient. The
result must equal the single-device gradient of the global-batch loss.
"""

import functools
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxssl import losses
from tests.losses.cases import CROSS_EXAMPLE
from tests.losses.test_transforms import make_inputs

AXIS = "data"
N_DEV = 8
MODES = ["jit_sharded", "jit_sharded_explicit", "pmap", "shard_map", "shard_map_unchecked"]


def auto_mesh():
    return jax.make_mesh((N_DEV,), (AXIS,), axis_types=(AxisType.Auto,))


def objective(case, w, arrays, axis_name=None):
    args = [a @ w if i in case.float_args else a for i, a in enumerate(arrays)]
    return case.fn(*args, axis_name=axis_name)


def value_and_grad_in(mode, case, w, arrays):
    """Loss and dL/dW computed the way `mode` runs it; one (loss, grad) for all devices."""
    k = len(arrays)
    if mode == "single":  # jitted: one compile instead of one per op (eager is tested elsewhere)
        return jax.jit(jax.value_and_grad(lambda w: objective(case, w, arrays)))(w)
    if mode.startswith("jit_sharded"):
        explicit = mode.endswith("explicit")
        mesh = jax.make_mesh((N_DEV,), (AXIS,)) if explicit else auto_mesh()
        sharded = [jax.device_put(a, NamedSharding(mesh, P(AXIS))) for a in arrays]
        assert len(sharded[0].addressable_shards) == N_DEV
        w_rep = jax.device_put(w, NamedSharding(mesh, P()))
        f = jax.jit(jax.value_and_grad(lambda w, *xs: objective(case, w, xs)))
        if explicit:
            with jax.set_mesh(mesh):
                return f(w_rep, *sharded)
        return f(w_rep, *sharded)

    def step(w, *local):
        loss, grad = jax.value_and_grad(lambda w: objective(case, w, local, AXIS))(w)
        return loss, lax.pmean(grad, AXIS)

    if mode == "pmap":
        split = [a.reshape(N_DEV, a.shape[0] // N_DEV, *a.shape[1:]) for a in arrays]
        loss, grad = jax.pmap(step, axis_name=AXIS, in_axes=(None,) + (0,) * k)(w, *split)
        np.testing.assert_array_equal(loss, np.broadcast_to(loss[0], loss.shape))
        np.testing.assert_array_equal(grad, np.broadcast_to(grad[0], grad.shape))
        return loss[0], grad[0]
    mesh = auto_mesh()
    f = jax.shard_map(
        step,
        mesh=mesh,
        in_specs=(P(),) + (P(AXIS),) * k,
        out_specs=(P(), P()),
        check_vma=(mode == "shard_map"),
    )
    return jax.jit(f)(w, *arrays)


@functools.cache
def _one_device(name: str):
    """A case's inputs, W, and the one-device loss and gradient: once per case, not per mode.

    Seeded by the case's name, so every mode of a case sees the same inputs and
    the one-device reference is computed once per test process.
    """
    case = next(c for c in CROSS_EXAMPLE if c.name == name)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    n_global = 16  # 2 examples per device
    arrays = make_inputs(case, rng, n_global)
    d = arrays[case.float_args[0]].shape[1]
    w = jnp.asarray(np.eye(d) + 0.3 * rng.standard_normal((d, d)), jnp.float32)
    return arrays, w, *value_and_grad_in("single", case, w, arrays)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CROSS_EXAMPLE, ids=lambda c: c.name)
def test_loss_and_parameter_gradient_match_one_device(case, mode):
    arrays, w, loss_1, grad_1 = _one_device(case.name)
    loss_n, grad_n = value_and_grad_in(mode, case, w, arrays)
    np.testing.assert_allclose(loss_n, loss_1, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(grad_n, grad_1, rtol=1e-4, atol=2e-6)
    assert np.abs(np.asarray(grad_1)).max() > 1e-3  # the check compares real gradients


def _nt_xent_sharded(mode, z1, z2, **kw):
    """nt_xent run per device under `mode`; returns per-device outputs stacked."""
    fn = lambda a, b: losses.nt_xent(a, b, axis_name=AXIS, **kw)  # noqa: E731
    if mode == "pmap":
        split = [a.reshape(N_DEV, -1, a.shape[1]) for a in (z1, z2)]
        return jax.pmap(fn, axis_name=AXIS)(*split)
    return jax.jit(
        jax.shard_map(fn, mesh=auto_mesh(), in_specs=(P(AXIS), P(AXIS)), out_specs=P(AXIS))
    )(z1, z2)


@pytest.mark.parametrize("mode", ["pmap", "shard_map"])
def test_nt_xent_one_example_per_device_and_per_example_losses(mode, rng):
    # N = 8 over 8 devices: every device holds a single pair, the smallest case
    # that still has negatives (from the other devices).
    z1, z2 = (jnp.asarray(rng.standard_normal((N_DEV, 4)), jnp.float32) for _ in range(2))
    expected = losses.nt_xent(z1, z2, temperature=0.2, reduction="none")
    got = _nt_xent_sharded(mode, z1, z2, temperature=0.2, reduction="none")
    np.testing.assert_allclose(np.ravel(got), expected, rtol=2e-5)


@pytest.mark.parametrize("mode", ["pmap", "shard_map"])
def test_nt_xent_metrics_match_one_device(mode, rng):
    z1, z2 = (jnp.asarray(rng.standard_normal((16, 4)), jnp.float32) for _ in range(2))
    _, expected = losses.nt_xent(z1, z2, return_metrics=True)

    def fn(a, b):
        return losses.nt_xent(a, b, axis_name=AXIS, return_metrics=True)[1]

    if mode == "pmap":
        got = jax.pmap(fn, axis_name=AXIS)(z1.reshape(N_DEV, 2, 4), z2.reshape(N_DEV, 2, 4))
        got = {k: v[0] for k, v in got.items()}
    else:
        got = jax.jit(jax.shard_map(fn, mesh=auto_mesh(), in_specs=P(AXIS), out_specs=P()))(z1, z2)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=2e-5, err_msg=name)


@pytest.mark.parametrize("mode", ["pmap", "shard_map"])
def test_contrastive_accuracy_over_global_batch(mode, rng):
    z1 = jnp.asarray(rng.standard_normal((16, 3)), jnp.float32)
    z2 = z1 + 0.8 * jnp.asarray(rng.standard_normal((16, 3)), jnp.float32)
    expected = losses.contrastive_accuracy(z1, z2, top_k=(1, 3))

    def fn(a, b):
        return losses.contrastive_accuracy(a, b, top_k=(1, 3), axis_name=AXIS)

    if mode == "pmap":
        got = jax.pmap(fn, axis_name=AXIS)(z1.reshape(N_DEV, 2, 3), z2.reshape(N_DEV, 2, 3))
        got = {k: v[0] for k, v in got.items()}
    else:
        got = jax.jit(jax.shard_map(fn, mesh=auto_mesh(), in_specs=P(AXIS), out_specs=P()))(z1, z2)
    assert 0 < float(expected["top1"]) < 1  # a batch where the metric is informative
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-6, err_msg=name)


def test_info_nce_with_replicated_queue_under_shard_map(rng):
    q, k = (jnp.asarray(rng.standard_normal((16, 5)), jnp.float32) for _ in range(2))
    queue = jnp.asarray(rng.standard_normal((7, 5)), jnp.float32)
    expected = losses.info_nce(q, k, negatives=queue, temperature=0.2)
    fn = jax.shard_map(
        lambda a, b, m: losses.info_nce(a, b, negatives=m, temperature=0.2, axis_name=AXIS),
        mesh=auto_mesh(),
        in_specs=(P(AXIS), P(AXIS), P()),
        out_specs=P(),
    )
    np.testing.assert_allclose(jax.jit(fn)(q, k, queue), expected, rtol=2e-5)


def test_input_gradient_semantics_documented_in_the_module(rng):
    """Gradient w.r.t. each device's own embeddings, as the module docstring states.

    shard_map (check_vma=True): exactly dL/dz. pmap: each device differentiates
    its replica of the global loss, so n_devices * dL/dz (pmean of parameter
    gradients removes the factor).
    """
    z1, z2 = (jnp.asarray(rng.standard_normal((16, 4)), jnp.float32) for _ in range(2))
    exact = jax.grad(losses.nt_xent, argnums=(0, 1))(z1, z2)
    loss = lambda a, b: losses.nt_xent(a, b, axis_name=AXIS)  # noqa: E731
    grad_fn = jax.grad(loss, argnums=(0, 1))

    checked = jax.jit(
        jax.shard_map(grad_fn, mesh=auto_mesh(), in_specs=P(AXIS), out_specs=P(AXIS))
    )(z1, z2)
    split = [a.reshape(N_DEV, 2, 4) for a in (z1, z2)]
    pmapped = jax.pmap(grad_fn, axis_name=AXIS)(*split)
    for e, c, p in zip(exact, checked, pmapped, strict=True):
        # An entry near zero is a cancellation of terms as large as the largest
        # entry, so its float32 error scales with that (the summation order
        # differs between the sharded and the single-device programs and
        # between CPUs): absolute tolerance 1e-6 of the largest entry.
        scale = float(np.abs(e).max())
        np.testing.assert_allclose(c, e, rtol=1e-5, atol=1e-6 * scale)
        np.testing.assert_allclose(
            np.reshape(p, e.shape), N_DEV * e, rtol=1e-5, atol=1e-6 * N_DEV * scale
        )


def test_per_device_mean_then_pmean_under_shard_map_is_n_times_too_large(rng):
    """The pitfall the module docstring warns about, shown so the warning stays true."""
    x1, x2 = (jnp.asarray(rng.standard_normal((16, 4)), jnp.float32) for _ in range(2))
    w = jnp.eye(4)
    exact = jax.grad(lambda w: losses.nt_xent(x1 @ w, x2 @ w))(w)

    def pitfall(w, a, b):
        local = lambda w: jnp.mean(  # noqa: E731
            losses.nt_xent(a @ w, b @ w, axis_name=AXIS, reduction="none")
        )
        return lax.pmean(jax.grad(local)(w), AXIS)

    got = jax.jit(
        jax.shard_map(pitfall, mesh=auto_mesh(), in_specs=(P(), P(AXIS), P(AXIS)), out_specs=P())
    )(w, x1, x2)
    np.testing.assert_allclose(got, N_DEV * exact, rtol=1e-4, atol=1e-6)
