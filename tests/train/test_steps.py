"""The generic train step over devices: 8 devices = 1 device, pmap = jit, one trace."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl import methods
from jaxssl.train import Parallel, create_state, make_mesh, make_train_step
from jaxssl.train.optim import make_optimizer, make_schedule
from tests.train.conftest import assert_tree_close as _assert_close
from tests.train.conftest import load_config

BATCH = 32


def _setup(axis_name=None, optimizer="lars", dtype=jnp.float32):
    """The tiny config's SimCLR (SmallCNN, SimCLR v2 head with BatchNorm), in ``dtype``."""
    config = load_config("tiny")
    config.optim.name = optimizer
    config.optim.base_lr = 0.1
    config.optim.lr_scaling = "none"
    method = methods.build(config, axis_name)
    if dtype != jnp.float32:
        method = dataclasses.replace(
            method,
            encoder=method.encoder.clone(dtype=dtype, param_dtype=dtype),
            head=method.head.clone(dtype=dtype, param_dtype=dtype),
        )
    tx = make_optimizer(config.optim, make_schedule(config.optim, BATCH, 10, 1))
    return method, tx


def _batches(rng, steps):
    return [
        {
            "image": rng.integers(0, 256, size=(BATCH, 8, 8, 1), dtype=np.uint8),
            "index": rng.choice(10_000, size=BATCH, replace=False).astype(np.int64),
        }
        for _ in range(steps)
    ]


def _train(par, method, tx, batches, stats_dtype=None):
    sample = {k: v[:1] for k, v in batches[0].items()}

    def create():
        state = create_state(method, tx, jax.random.key(3), sample)
        if stats_dtype is None:
            return state
        # BatchNorm keeps its statistics in float32 and a float64 step
        # promotes them: start them in the step's dtype (one trace, not two)
        return state.replace(
            batch_stats=jax.tree.map(lambda x: x.astype(stats_dtype), state.batch_stats)
        )

    state = par.init(create)
    step = par.compile_step(make_train_step(method, tx))
    losses = []
    for batch in batches:
        state, metrics = step(state, par.put_batch(batch))
        losses.append(float(par.from_device(metrics)["loss"]))
    return jax.device_get(par.from_device(state)), losses


class _Counting:
    """A method wrapper that counts how often its loss is traced."""

    def __init__(self, method):
        self.method, self.axis_name, self.traces = method, method.axis_name, 0

    def init(self, *args):
        return self.method.init(*args)

    def loss_fn(self, *args):
        self.traces += 1
        return self.method.loss_fn(*args)


STEPS = 5


@pytest.fixture(scope="module")
def one_device():
    batches = _batches(np.random.default_rng(0), STEPS)
    method, tx = _setup()
    state, losses = _train(Parallel(make_mesh(jax.devices()[:1])), method, tx, batches)
    return batches, state, losses


# float32: summing over 8 shards instead of 1 reorders additions, and the
# BatchNorm backward cancels large terms; measured leaf-relative differences
# after 5 steps are ~1e-5 (jit) and ~3e-5 (pmap). The float64 test below
# checks pmap to 1e-9, where a real difference could not hide.
F32_RTOL = 1e-4


@pytest.mark.slow
def test_eight_devices_equal_one(one_device):
    """Sharded jit on 8 devices, float32; pmap is the float64 test's (one compile fewer)."""
    batches, want, want_losses = one_device
    method, tx = _setup()
    counting = _Counting(method)
    got, losses = _train(Parallel(make_mesh()), counting, tx, batches)
    assert counting.traces == 1, "the step must compile once"
    assert int(got.step) == STEPS
    _assert_close(got.params, want.params, F32_RTOL)
    _assert_close(got.batch_stats, want.batch_stats, F32_RTOL)
    np.testing.assert_allclose(losses, want_losses, rtol=1e-5)
    # the steps did something: every parameter moved from its initial value
    sample = {k: v[:1] for k, v in batches[0].items()}
    init = jax.jit(method.init)(jax.random.fold_in(jax.random.key(3), 0), sample)  # not op by op
    init = jax.device_get(init["params"])
    moved = jax.tree.map(lambda a, b: float(np.max(np.abs(a - b))), got.params, init)
    assert min(jax.tree.leaves(moved)) > 0
    assert jax.tree.leaves(got.batch_stats), "the tiny model must have BatchNorm"


@pytest.mark.slow
def test_pmap_on_eight_devices_equals_one_float64():
    """pmap with per-device losses over the global batch = one device, to 1e-9 in float64.

    Sharded jit on 8 devices is checked in float32 by test_eight_devices_equal_one.
    """
    batches = _batches(np.random.default_rng(1), 3)
    with jax.enable_x64(True):
        results, losses = {}, {}
        for name, devices, mode in (("one", jax.devices()[:1], "jit"), ("pmap", None, "pmap")):
            method, tx = _setup("data" if mode == "pmap" else None, dtype=jnp.float64)
            counting = _Counting(method)
            par = Parallel(make_mesh(devices), mode)
            results[name], losses[name] = _train(par, counting, tx, batches, jnp.float64)
            assert counting.traces == 1, f"the {mode} step must compile once"
    want = results["one"]
    assert jax.tree.leaves(want.params)[0].dtype == np.float64
    assert int(results["pmap"].step) == 3
    _assert_close(results["pmap"].params, want.params, rtol=1e-9)
    _assert_close(results["pmap"].batch_stats, want.batch_stats, rtol=1e-9)
    np.testing.assert_allclose(losses["pmap"], losses["one"], rtol=1e-12)


@pytest.mark.slow
def test_pmap_without_axis_name_differs(one_device):
    """Per-device BN statistics and negatives are not the global batch's: not equal."""
    batches, want, _ = one_device
    method, tx = _setup(axis_name=None)
    got, _ = _train(Parallel(make_mesh(), mode="pmap"), method, tx, batches)
    with pytest.raises(AssertionError):
        _assert_close(got.batch_stats, want.batch_stats, F32_RTOL)


def test_bfloat16_compute_keeps_float32_parameters_and_loss(rng):
    config = load_config("tiny")
    config.dtype = "bfloat16"
    method = methods.build(config)
    tx = make_optimizer(config.optim, make_schedule(config.optim, BATCH, 10, 1))
    batches = _batches(rng, 2)
    sample = {k: v[:1] for k, v in batches[0].items()}
    state = jax.jit(lambda: create_state(method, tx, jax.random.key(0), sample))()
    apply = jax.jit(lambda variables, x: method.net.apply(variables, x, train=False))
    projections = apply(
        {"params": state.params, "batch_stats": state.batch_stats}, np.zeros((4, 8, 8, 1))
    )[1]
    assert projections.dtype == jnp.bfloat16  # the compute really is bf16
    step = jax.jit(make_train_step(method, tx))
    for batch in batches:
        state, metrics = step(state, batch)
    assert metrics["loss"].dtype == jnp.float32 and np.isfinite(metrics["loss"])
    assert {leaf.dtype for leaf in jax.tree.leaves(state.params)} == {jnp.dtype(jnp.float32)}
    assert {leaf.dtype for leaf in jax.tree.leaves(state.batch_stats)} == {jnp.dtype(jnp.float32)}


class _Linear:
    """A method small enough to compile in a blink: loss = mean(x) * w, one weight."""

    axis_name = None

    def init(self, rng, sample):
        del rng, sample
        return {"params": {"w": jnp.ones((), jnp.float32)}}

    def loss_fn(self, params, state, batch, rng):
        del rng
        return jnp.mean(batch["x"]) * params["w"], (state, {})


def test_an_update_that_overflows_is_nonfinite_and_skipped():
    """A finite loss and gradient, then w - lr * g overflows float32: not a good step.

    The loss and gradient norm are computed before the update, so only a
    check of the updated state sees this (SGD, lr 1e38, gradient 10).
    """
    import optax

    method, tx = _Linear(), optax.sgd(1e38)
    batch = {"x": np.full((4,), 10.0, np.float32)}
    state = create_state(method, tx, jax.random.key(0), batch)
    for skip in (False, True):
        new, metrics = jax.jit(make_train_step(method, tx, skip_nonfinite=skip))(state, batch)
        assert np.isfinite(metrics["loss"]) and np.isfinite(metrics["grad_norm"])
        assert int(metrics["nonfinite"]) == 1
        w = float(new.params["w"])
        assert (w == 1.0) if skip else not np.isfinite(w)  # skipped: the old weight is kept
        assert int(new.skipped_steps) == int(skip) and int(new.step) == 1
    # a learning rate that fits float32 is a good step
    tx = optax.sgd(1e-2)
    new, metrics = jax.jit(make_train_step(method, tx, skip_nonfinite=True))(
        create_state(method, tx, jax.random.key(0), batch), batch
    )
    assert int(metrics["nonfinite"]) == 0 and float(new.params["w"]) == pytest.approx(0.9)
