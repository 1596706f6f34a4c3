"""Optimizer policy: LARS masks (You et al. 2017), learning-rate scaling and schedule."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxssl.train import config as config_lib
from jaxssl.train.optim import decay_mask, make_optimizer, make_schedule, peak_learning_rate


def _params(rng):
    return {
        "dense": {"kernel": rng.normal(size=(3, 4)), "bias": rng.normal(size=(4,))},
        "bn": {"scale": 1 + 0.1 * rng.normal(size=(4,)), "bias": rng.normal(size=(4,))},
    }


def _optim(**kw):
    optim = config_lib.default_config().optim
    optim.update(kw)
    return optim


def test_lars_masks_biases_and_norm_parameters(rng):
    """One LARS step from the paper's formula, with the SimCLR exclusions.

    Weights: u = g + wd*w, scaled by the trust ratio eta*|w|/|u|, then -lr.
    Biases and norm parameters: neither decay nor trust ratio, so -lr*g.
    """
    params = jax_tree(_params(rng))
    grads = jax_tree(_params(rng))
    lr, wd, eta = 0.5, 0.1, 0.001
    tx = make_optimizer(
        _optim(name="lars", weight_decay=wd, trust_coefficient=eta), optax.constant_schedule(lr)
    )
    updates, _ = tx.update(grads, tx.init(params), params)

    w, g = np.asarray(params["dense"]["kernel"]), np.asarray(grads["dense"]["kernel"])
    u = g + wd * w
    want_kernel = -lr * eta * np.linalg.norm(w) / np.linalg.norm(u) * u
    np.testing.assert_allclose(updates["dense"]["kernel"], want_kernel, rtol=1e-5)
    for path in (("dense", "bias"), ("bn", "scale"), ("bn", "bias")):
        got = updates[path[0]][path[1]]
        np.testing.assert_allclose(got, -lr * np.asarray(grads[path[0]][path[1]]), rtol=1e-6)

    # optax's default (no masks) treats the bias like a weight: the masks matter.
    plain = optax.lars(lr, weight_decay=wd, trust_coefficient=eta)
    plain_updates, _ = plain.update(grads, plain.init(params), params)
    assert not np.allclose(plain_updates["dense"]["bias"], updates["dense"]["bias"], rtol=1e-3)


@pytest.mark.parametrize("name", ["lars", "sgd", "adamw"])
def test_zero_gradient_decays_only_weights(rng, name):
    params = jax_tree(_params(rng))
    zeros = jax_tree(
        {k: {n: np.zeros_like(v) for n, v in d.items()} for k, d in _params(rng).items()}
    )
    tx = make_optimizer(_optim(name=name, weight_decay=0.5), optax.constant_schedule(0.1))
    updates, _ = tx.update(zeros, tx.init(params), params)
    assert np.all(np.abs(updates["dense"]["kernel"]) > 0)
    for leaf in (updates["dense"]["bias"], updates["bn"]["scale"], updates["bn"]["bias"]):
        np.testing.assert_array_equal(leaf, 0.0)


def test_decay_mask_by_rank():
    mask = decay_mask({"k": jnp.zeros((2, 3)), "conv": jnp.zeros((3, 3, 1, 4)), "b": jnp.zeros(3)})
    assert mask == {"k": True, "conv": True, "b": False}


def test_clip_norm(rng):
    params = jax_tree(_params(rng))
    grads = jax.tree.map(lambda x: 100 * x, jax_tree(_params(rng)))
    tx = make_optimizer(
        _optim(name="sgd", momentum=0.0, weight_decay=0.0, clip_norm=1.0),
        optax.constant_schedule(1.0),
    )
    updates, _ = tx.update(grads, tx.init(params), params)
    assert optax.tree.norm(updates) == pytest.approx(1.0, rel=1e-5)


def test_learning_rate_scaling():
    assert peak_learning_rate(_optim(base_lr=0.3, lr_scaling="linear"), 4096) == pytest.approx(4.8)
    assert peak_learning_rate(_optim(base_lr=0.075, lr_scaling="sqrt"), 4096) == pytest.approx(4.8)
    assert peak_learning_rate(_optim(base_lr=0.1, lr_scaling="none"), 4096) == 0.1


def test_warmup_then_cosine():
    optim = _optim(base_lr=0.4, lr_scaling="linear", warmup_epochs=2, end_lr_fraction=0.0)
    sched = make_schedule(optim, batch_size=512, total_steps=100, steps_per_epoch=10)
    peak = 0.8
    assert float(sched(0)) == 0.0
    assert float(sched(10)) == pytest.approx(peak / 2)
    assert float(sched(20)) == pytest.approx(peak)
    # cosine from step 20 to 100: halfway (step 60) is half the peak
    assert float(sched(60)) == pytest.approx(peak * 0.5 * (1 + math.cos(math.pi * 0.5)), abs=1e-6)
    assert float(sched(100)) == pytest.approx(0.0, abs=1e-7)


def jax_tree(tree):
    return jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), tree)


def test_a_warmup_longer_than_the_run_is_warned_about():
    from jaxssl.train.optim import warmup_warning

    optim = _optim(warmup_epochs=10.0)
    assert warmup_warning(optim, total_steps=600, steps_per_epoch=5) is None  # 50 of 600
    # the issue's case: digits' 10 epochs on 60,000 images at batch 256 (234 per epoch)
    message = warmup_warning(optim, total_steps=350, steps_per_epoch=234)
    assert message.startswith("warning: config.optim.warmup_epochs=10 is 2,340 steps")
    assert "the run has 350" in message and "warmup_epochs=0.15" in message  # 35 / 234
    # where the warning applies, the schedule indeed never decays: it rises to the last step
    schedule = make_schedule(optim, 256, 350, 234)
    lrs = np.array([float(schedule(s)) for s in range(350)])
    assert (np.diff(lrs) > 0).all()
