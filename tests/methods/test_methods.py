"""Pretraining methods: EMA and queue mechanics, a short run of each on digits, 8 devices = 1."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl import methods
from jaxssl.methods import ema
from jaxssl.methods.inpainting import square_masks
from jaxssl.methods.jigsaw import _tiles, permutation_set
from jaxssl.methods.moco import enqueue
from jaxssl.methods.rotation import rotations
from jaxssl.train import Parallel, create_state, make_mesh, make_train_step
from jaxssl.train.optim import make_optimizer, make_schedule
from tests.methods.conftest import digit_images, random_batches
from tests.train.conftest import assert_tree_close, load_config

NEW_METHODS = ["moco", "byol", "simsiam", "barlow_twins", "vicreg", "rotation", "triplet"]
NEW_METHODS += ["jigsaw", "inpainting", "multitask"]


def test_ema_update_is_the_moving_average(rng):
    target = {"w": rng.normal(size=(3, 4)), "b": {"c": rng.normal(size=5)}}
    online = {"w": rng.normal(size=(3, 4)), "b": {"c": rng.normal(size=5)}}
    m = 0.9
    got = ema.ema_update(
        jax.tree.map(jnp.float32, target), jax.tree.map(jnp.float32, online), jnp.float32(m)
    )
    for t, o, g in zip(
        jax.tree.leaves(target), jax.tree.leaves(online), jax.tree.leaves(got), strict=True
    ):
        np.testing.assert_allclose(g, m * t + (1 - m) * o, rtol=1e-6, atol=1e-7)


def test_momentum_schedules():
    base, total = 0.996, 100

    def cosine(t):
        return float(ema.momentum_at(t, base=base, num_steps=total, schedule="cosine"))

    # BYOL, section 3.2: m_t = 1 - (1 - m_0) (cos(pi t / T) + 1) / 2
    assert cosine(0) == pytest.approx(base, abs=1e-7)
    assert cosine(total // 2) == pytest.approx(1 - (1 - base) / 2, abs=1e-7)
    assert cosine(total) == pytest.approx(1.0, abs=1e-7)
    assert cosine(2 * total) == pytest.approx(1.0, abs=1e-7)  # stays at 1 after T
    t = 17
    want = 1 - (1 - base) * (math.cos(math.pi * t / total) + 1) / 2
    assert cosine(t) == pytest.approx(want, abs=1e-7)
    for t in (0, 50, 1000):
        assert float(ema.momentum_at(t, base=0.99, num_steps=total)) == pytest.approx(0.99)
    with pytest.raises(ValueError, match="base"):
        ema.momentum_at(0, base=1.5, num_steps=total)
    with pytest.raises(ValueError, match="schedule must be one of"):
        ema.momentum_at(0, base=0.99, num_steps=total, schedule="linear")


def test_queue_is_fifo_and_wraps():
    queue, ptr = jnp.zeros((5, 2)), jnp.int32(0)
    queue, ptr = enqueue(queue, ptr, jnp.array([[1.0, 1], [2, 2], [3, 3]]))
    np.testing.assert_array_equal(queue[:, 0], [1, 2, 3, 0, 0])
    assert int(ptr) == 3
    # the next three fill the two free rows, then replace the oldest (1)
    queue, ptr = enqueue(queue, ptr, jnp.array([[4.0, 4], [5, 5], [6, 6]]))
    np.testing.assert_array_equal(queue[:, 0], [6, 2, 3, 4, 5])
    assert int(ptr) == 1
    queue, ptr = enqueue(queue, ptr, jnp.array([[7.0, 7], [8, 8]]))
    np.testing.assert_array_equal(queue[:, 0], [6, 7, 8, 4, 5])  # 2 and 3 were oldest
    with pytest.raises(ValueError, match="keys must be"):
        enqueue(queue, ptr, jnp.zeros((6, 2)))


def test_rotations_are_quarter_turns_with_their_labels():
    x = np.arange(2 * 3 * 3).reshape(2, 3, 3, 1)
    turned, labels = rotations(jnp.asarray(x))
    np.testing.assert_array_equal(labels, [0, 0, 1, 1, 2, 2, 3, 3])
    np.testing.assert_array_equal(turned[:2], x)
    # one quarter turn counter-clockwise: out[i, j] = in[j, W - 1 - i]
    quarter = np.empty_like(x)
    for i in range(3):
        for j in range(3):
            quarter[:, i, j] = x[:, j, 2 - i]
    np.testing.assert_array_equal(turned[2:4], quarter)
    half = x[:, ::-1, ::-1]  # two quarter turns: upside down
    np.testing.assert_array_equal(turned[4:6], half)
    with pytest.raises(ValueError, match="square"):
        rotations(jnp.zeros((2, 3, 4, 1)))


def test_jigsaw_permutations_are_spread_and_tiles_are_the_shuffled_cells():
    perms = permutation_set(3, 30)
    assert len({tuple(p) for p in perms}) == 30 and perms[0].tolist() == list(range(9))

    def hamming(a, b):
        return int((np.asarray(a) != np.asarray(b)).sum())

    # greedy farthest points: each pick's distance to those before it is the
    # largest any permutation has, so those distances never increase, and no
    # two picks are closer than the last pick is to the rest
    every = np.array(list(itertools.permutations(range(9))), np.int8)
    gaps = []
    for i in range(1, 4):  # brute force over all 9! for the first picks
        best = (every[:, None, :] != perms[None, :i, :]).sum(-1).min(1).max()
        gap = min(hamming(perms[i], q) for q in perms[:i])
        assert gap == best, (i, gap, best)
        gaps.append(gap)
    assert gaps == sorted(gaps, reverse=True) and gaps[0] == 9
    last = min(hamming(perms[-1], q) for q in perms[:-1])
    assert min(hamming(a, b) for i, a in enumerate(perms) for b in perms[i + 1 :]) >= last
    with pytest.raises(ValueError, match=r"num_permutations must be in \[1, 24\]"):
        permutation_set(2, 25)

    # jitter 0, 2x2 cells of 3 px from a 6x6 image: tile t of the output is cell
    # perm[t], standardised, then resized to 6x6 (a linear resize of a 3x3 patch
    # to 6x6 keeps the patch's mean)
    rng = np.random.default_rng(0)
    image = jnp.asarray(rng.uniform(size=(6, 6, 1)), jnp.float32)
    table = jnp.asarray(permutation_set(2, 24))
    tiles, label = _tiles(image, jax.random.key(3), table, 2, 0)
    assert tiles.shape == (4, 6, 6, 1)
    cells = [
        np.asarray(image)[r * 3 : r * 3 + 3, c * 3 : c * 3 + 3] for r in (0, 1) for c in (0, 1)
    ]
    for t, source in enumerate(np.asarray(table[label])):
        cell = cells[source]
        standard = (cell - cell.mean()) / np.sqrt(cell.var() + 1e-5)
        small = jax.image.resize(jnp.asarray(standard), (6, 6, 1), "linear")
        np.testing.assert_allclose(tiles[t], small, atol=1e-5)


def test_inpainting_masks_are_squares_inside_the_image():
    keys = jax.random.split(jax.random.key(0), 50)
    masks = np.asarray(square_masks(keys, 7, 9, 3, random=True))[..., 0]
    assert set(np.unique(masks)) == {0.0, 1.0} and np.all(masks.sum(axis=(1, 2)) == 9)
    for m in masks:  # one 3x3 block: its rows and columns are 3 consecutive ones
        r, c = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
        assert r.tolist() == list(range(r[0], r[0] + 3)) and c.tolist() == list(
            range(c[0], c[0] + 3)
        )
    assert len({(int(np.argmax(m.any(1))), int(np.argmax(m.any(0)))) for m in masks}) > 10
    centre = np.asarray(square_masks(keys[:1], 7, 9, 3, random=False))[0, ..., 0]
    assert centre[2:5, 3:6].all() and centre.sum() == 9


def test_multitask_weights_follow_kendall_et_al(digit_batches):
    # Kendall et al. 2018 eq. 7 with s = log sigma^2: sum 1/2 exp(-s_i) L_i + 1/2 s_i.
    # At s = 0 the total is half the sum of the losses; at any s, the formula.
    config = _config("multitask")
    method = methods.build(config)
    batch = {k: jnp.asarray(v) for k, v in digit_batches[0].items()}
    variables = method.init(jax.random.key(0), batch)
    state = {"batch_stats": variables["batch_stats"], "method": {}}
    params = variables["params"]
    np.testing.assert_array_equal(params["log_var"], [0.0, 0.0])
    value_and_grad = jax.jit(  # one compile for both s
        jax.value_and_grad(
            lambda p: method.loss_fn(p, state, batch, jax.random.key(1)), has_aux=True
        )
    )
    for s in ([0.0, 0.0], [0.7, -1.2]):
        params = dict(params, log_var=jnp.asarray(s, jnp.float32))
        (loss, (_, m)), grad = value_and_grad(params)
        w = 0.5 * np.exp(-np.asarray(s))
        np.testing.assert_allclose([m["weight_simclr"], m["weight_rotation"]], w, rtol=1e-6)
        task_losses = np.array([m["loss_simclr"], m["loss_rotation"]])
        np.testing.assert_allclose(loss, w @ task_losses + 0.5 * sum(s), rtol=1e-6)
        # d/ds_i = 1/2 (1 - exp(-s_i) L_i): zero where exp(s_i) = L_i
        np.testing.assert_allclose(grad["log_var"], 0.5 - w * task_losses, rtol=1e-5, atol=1e-7)
    config.multitask.weighting = "fixed"
    config.multitask.weights = (2.0, 0.5)
    fixed = methods.build(config)
    variables = fixed.init(jax.random.key(0), batch)
    assert "log_var" not in variables["params"]
    loss, (_, m) = jax.jit(fixed.loss_fn)(variables["params"], state, batch, jax.random.key(1))
    np.testing.assert_allclose(loss, 2.0 * m["loss_simclr"] + 0.5 * m["loss_rotation"], rtol=1e-6)


BATCH = 64
STEPS = 30
# float32 sums over 8 shards instead of 1 (see tests/train/test_steps.py)
F32_RTOL = 1e-4
# Barlow Twins and VICReg centre the projections, and BYOL's and SimSiam's
# predictor starts with BatchNorm: the head's last BatchNorm shift has an exact
# gradient of 0 and drifts by float32 noise (~1e-8) only. Parameters here are
# of order 0.1-1, so 1e-6 is far below any real difference.
ATOL = 1e-6


def _config(name):
    config = load_config("tiny")
    config.method = name
    # A queue of one batch and a fast key encoder: over 30 steps a 0.999
    # momentum and a long queue of stale keys make the loss rise before it falls.
    config.moco.queue_size = BATCH
    config.moco.momentum = 0.9
    config.byol.momentum = 0.99
    # Not the tiny config's AdamW: Adam's update is about lr * sign(g) wherever
    # g is near 0, so float32 rounding of an almost-zero gradient on 8 devices
    # can flip a whole step; LARS's update is proportional to g.
    config.optim.name = "lars"
    config.optim.base_lr = 0.2
    # 8x8 digits: 2x2 cells of 4 px, tiles of 3; all 24 orders of the 4 tiles
    config.jigsaw.grid, config.jigsaw.num_permutations = 2, 24
    config.inpainting.decoder_features = (16,)  # one upsampling: a cheaper compile
    return config


@pytest.fixture(scope="module")
def digit_batches():
    return random_batches(digit_images(), STEPS, BATCH)


def _train(name, par, batches, axis_name=None, initial=None):
    """``(method, [host state after each step], [metrics of each step])``.

    ``initial``: a host state to start from (compiling the initialisation
    costs as much as a step; the pmap run reuses the one-device run's).
    """
    config = _config(name)
    method = methods.build(config, axis_name, num_steps=STEPS)
    tx = make_optimizer(config.optim, make_schedule(config.optim, BATCH, STEPS, 1))
    sample = {k: v[:1] for k, v in batches[0].items()}
    if initial is None:
        state = par.init(lambda: create_state(method, tx, jax.random.key(0), sample))
    else:
        state = par.to_device(initial)
    step = par.compile_step(make_train_step(method, tx))
    states, history = [jax.device_get(par.from_device(state))], []
    for batch in batches:
        state, metrics = step(state, par.put_batch(batch))
        states.append(jax.device_get(par.from_device(state)))
        history.append(jax.device_get(par.from_device(metrics)))
    return method, states, history


@pytest.mark.slow
@pytest.mark.parametrize("name", NEW_METHODS)
def test_method_trains_and_eight_devices_equal_one(name, digit_batches):
    method, states, history = _train(name, Parallel(make_mesh(jax.devices()[:1])), digit_batches)
    losses = np.array([h["loss"] for h in history])
    assert np.all(np.isfinite(losses))
    assert losses[-5:].mean() < losses[:5].mean(), losses
    final = history[-1]
    if "z_std" in final:
        # collapse guard: a collapsed embedding has spread 0, an isotropic one
        # 1/sqrt(D); demand half of the latter
        dim = _config(name).head.output_dim
        assert final["z_std"] > 0.5 / math.sqrt(dim), final["z_std"]
    if name == "rotation":
        assert np.mean([h["top1"] for h in history[-5:]]) > 0.3  # chance: 0.25

    if name in ("moco", "byol"):
        # the target moves only by the EMA of the online parameters, never by
        # gradients: after the first step it is exactly
        # m * (its copy of the initial parameters) + (1 - m) * (the new ones)
        m = float(method.momentum)  # MoCo's is constant, BYOL's cosine starts there
        initial = {k: states[0].params[k] for k in ema.TARGET_KEYS}
        online = {k: states[1].params[k] for k in ema.TARGET_KEYS}
        want = jax.tree.map(lambda t, o: m * t + (1 - m) * o, initial, online)
        assert_tree_close(states[1].method_state["target"], want, 1e-6)

    # 8 devices under pmap (per-device losses with axis_name) = 1 device, 2 steps
    _, pmap_states, pmap_history = _train(
        name,
        Parallel(make_mesh(), mode="pmap"),
        digit_batches[:2],
        axis_name="data",
        initial=states[0],
    )
    got, want = pmap_states[2], states[2]
    assert_tree_close(got.params, want.params, F32_RTOL, ATOL)
    assert_tree_close(got.batch_stats, want.batch_stats, F32_RTOL, ATOL)
    assert_tree_close(got.method_state, want.method_state, F32_RTOL, ATOL)
    # SimSiam's loss starts near 0: an absolute tolerance too
    np.testing.assert_allclose(
        [h["loss"] for h in pmap_history], losses[:2], rtol=1e-5, atol=1e-6, err_msg="loss"
    )
    if name == "moco":
        # the queue (64 keys) was replaced twice, each time by the keys of the
        # global batch, gathered from all 8 devices in global order
        queue = got.method_state["queue"]
        assert int(got.method_state["queue_ptr"]) == 0
        assert not np.any(np.all(np.isclose(queue[:, None], states[0].method_state["queue"]), -1))
        np.testing.assert_allclose(np.linalg.norm(queue, axis=-1), 1.0, rtol=1e-5)


def test_unknown_method_and_bad_method_settings():
    from jaxssl.train import config as config_lib

    config = _config("moco")
    config.moco.queue_size = BATCH - 1
    with pytest.raises(ValueError, match=r"moco\.queue_size must be >= config\.batch_size"):
        config_lib.validate(config)
    config = _config("byol")
    config.byol.momentum = 1.2
    with pytest.raises(ValueError, match=r"byol.momentum must be in \[0, 1\]"):
        config_lib.validate(config)
    config = _config("triplet")
    config.triplet.mining = "easy"
    with pytest.raises(ValueError, match=r"triplet\.mining must be one of"):
        config_lib.validate(config)
    config = _config("inpainting")
    config.inpainting.decoder_features = (8, 8, 8, 8)
    with pytest.raises(ValueError, match=r"config\.image_size must be divisible by 16; got 8"):
        config_lib.validate(config)
    config = _config("multitask")
    config.multitask.weights = (1.0, -1.0)
    with pytest.raises(ValueError, match=r"multitask\.weights must be two finite numbers >= 0"):
        config_lib.validate(config)
    config = _config("jigsaw")
    config.jigsaw.num_permutations = 25  # a 2x2 grid has 24 orders
    with pytest.raises(ValueError, match=r"num_permutations must be in \[1, 24\] for a 2x2"):
        methods.build(config)
    with pytest.raises(ValueError, match="BYOL needs a predictor module"):
        methods.BYOL(encoder=None, head=None, augment=None)
    config.method = "swav"
    with pytest.raises(ValueError, match=r"config\.method must be one of"):
        methods.build(config)
