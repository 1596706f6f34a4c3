"""Autoencoder and VAE: losses against their formulas, short training runs, train.py end to end."""

import json
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from jaxssl import methods
from jaxssl.eval.pictures import image_grid
from jaxssl.train import Parallel, create_state, make_mesh, make_train_step, run
from jaxssl.train.optim import make_optimizer, make_schedule
from tests.methods.conftest import digit_images, random_batches
from tests.train.conftest import load_config

BATCH, STEPS = 32, 30


def _np_bce(logits, x):
    """Bernoulli NLL of x under sigmoid(logits), elementwise, stable form, float64."""
    logits, x = np.asarray(logits, np.float64), np.asarray(x, np.float64)
    return np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))


@pytest.fixture(scope="module")
def digits():
    return digit_images()


def _batches(images):
    return random_batches(images, STEPS, BATCH)


def _method(name, **generative):
    config = load_config(f"{'ae' if name == 'autoencoder' else 'vae'}_digits")
    config.generative.update(generative)
    return config, methods.build(config)


def test_autoencoder_loss_is_per_pixel_bce(digits):
    _, ae = _method("autoencoder")
    batch = {"image": digits[:16], "index": np.arange(16)}
    params = jax.jit(ae.init)(jax.random.key(0), batch)["params"]
    x = digits[:16].astype(np.float64) / 255
    logits = jax.jit(ae.net.apply)({"params": params}, jnp.asarray(x, jnp.float32))
    loss, (_, metrics) = jax.jit(ae.loss_fn)(params, {}, batch, jax.random.key(1))
    np.testing.assert_allclose(loss, _np_bce(logits, x).mean(), rtol=1e-5)
    mse = ((1 / (1 + np.exp(-np.asarray(logits, np.float64))) - x) ** 2).mean()
    np.testing.assert_allclose(metrics["mse"], mse, rtol=1e-5)
    assert ae.features(params, {}, batch["image"]).shape == (16, 2 * 2 * 64)


def test_vae_loss_is_the_negative_elbo(digits):
    beta = 2.5
    _, vae = _method("vae", beta=beta)
    batch = {"image": digits[:16], "index": np.arange(100, 116)}
    params = jax.jit(vae.init)(jax.random.key(0), batch)["params"]
    rng = jax.random.key(3)
    loss, (_, metrics) = jax.jit(vae.loss_fn)(params, {}, batch, rng)
    # the formula: z = mu + exp(logvar / 2) * eps with each example's eps drawn
    # from fold_in(rng, its index); -log p(x|z) summed over pixels (Bernoulli)
    # + beta * 1/2 sum(mu^2 + exp(logvar) - 1 - logvar) (Kingma & Welling, app. B)
    x = digits[:16].astype(np.float64) / 255
    net = vae.net(x.shape[1:])
    mu, lv = jax.jit(partial(net.apply, method="encode"))(
        {"params": params}, jnp.asarray(x, jnp.float32)
    )
    mu, lv = np.asarray(mu, np.float64), np.asarray(lv, np.float64)
    eps = np.stack(
        [np.asarray(jax.random.normal(jax.random.fold_in(rng, i), (16,))) for i in batch["index"]]
    )
    z = mu + np.exp(lv / 2) * eps
    logits = jax.jit(partial(net.apply, method="decode"))(
        {"params": params}, jnp.asarray(z, jnp.float32)
    )
    recon = _np_bce(logits, x).sum(axis=(1, 2, 3))
    kl = 0.5 * (mu**2 + np.exp(lv) - 1 - lv).sum(axis=1)
    np.testing.assert_allclose(loss, (recon + beta * kl).mean(), rtol=1e-5)
    np.testing.assert_allclose(metrics["kl"], kl.mean(), rtol=1e-5)
    np.testing.assert_allclose(metrics["neg_elbo"], (recon + kl).mean(), rtol=1e-5)
    # each example's noise depends on its index only: two half batches give the
    # same mean (what makes pmap's per-device batches equal jit's global one)
    halves = [{k: v[i : i + 8] for k, v in batch.items()} for i in (0, 8)]
    parts = [jax.jit(vae.loss_fn)(params, {}, h, rng)[0] for h in halves]
    np.testing.assert_allclose(np.mean(parts), loss, rtol=1e-6)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        methods.VAE(beta=-1.0)


# the VAE trains in test_train_py_runs_the_vae_and_saves_pictures below
@pytest.mark.parametrize("name", ["autoencoder"])
def test_trains_on_digits(name, digits):
    config, method = _method(name)
    batches = _batches(digits)
    tx = make_optimizer(config.optim, make_schedule(config.optim, BATCH, STEPS, 1))
    par = Parallel(make_mesh(jax.devices()[:1]))
    sample = {k: v[:1] for k, v in batches[0].items()}
    state = par.init(lambda: create_state(method, tx, jax.random.key(0), sample))
    step = par.compile_step(make_train_step(method, tx))
    history = []
    for batch in batches:
        state, metrics = step(state, par.put_batch(batch))
        history.append(jax.device_get(metrics))
    losses = np.array([h["loss"] for h in history])
    assert np.all(np.isfinite(losses))
    assert losses[-5:].mean() < losses[:5].mean(), losses
    if name == "autoencoder":
        # all-0.5 output costs log 2 per pixel; the digits are mostly black, so
        # even 30 steps must beat that clearly
        assert losses[-1] < 0.9 * np.log(2), losses


@pytest.mark.slow
def test_train_py_runs_the_vae_and_saves_pictures(data_dir, tmp_path):
    config = load_config("vae_digits")
    config.data_dir = data_dir
    config.num_devices = 1
    config.num_epochs, config.num_steps = 1, 40
    # half the config's widths and batch: a quarter of the work per step
    config.generative.features, config.batch_size = (16, 32), 64
    config.log_every_steps = 10
    config.eval.baselines = False
    config.eval.linear_probe = False  # kNN stands for the encoder's evaluation here
    config.eval.kmeans = False
    config.eval.max_train_examples = 512
    config.generative.pictures = 16
    results = run(config, str(tmp_path))
    saved = json.loads((tmp_path / "results.json").read_text())
    logged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    losses = [row["loss"] for row in logged if "loss" in row]
    assert len(losses) >= 4 and np.all(np.isfinite(losses)), losses
    assert losses[-1] < losses[0], losses
    for key in ("eval_neg_elbo", "eval_reconstruction", "eval_kl", "knn_top1"):
        assert np.isfinite(saved[key]), key
    assert saved["eval_neg_elbo"] == pytest.approx(saved["eval_reconstruction"] + saved["eval_kl"])
    # below the 64 log 2 nats of an all-0.5 decoder after 40 steps
    assert saved["eval_neg_elbo"] < 64 * np.log(2)
    assert set(results["pictures"]) == {"reconstructions", "samples"}
    # 8 per row, 8x8 digits with 1-pixel borders, each pixel 4x4: 16 samples
    # make 2 rows; 16 originals with their 16 reconstructions make 4
    for name, rows in (("samples", 2), ("reconstructions", 4)):
        picture = np.asarray(Image.open(results["pictures"][name]))
        assert picture.shape == (4 * (rows * 9 + 1), 4 * (8 * 9 + 1)), name


def test_image_grid_layout():
    images = np.zeros((3, 2, 2, 1), np.float32)
    images[1] = 1.0
    grid = image_grid(images, per_row=2, pad=1)
    assert grid.shape == (2 * 3 + 1, 2 * 3 + 1, 1) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid[1:3, 1:3, 0], 0)  # image 0, top left
    np.testing.assert_array_equal(grid[1:3, 4:6, 0], 255)  # image 1, top right
    np.testing.assert_array_equal(grid[4:6, 1:3, 0], 0)  # image 2, second row
    np.testing.assert_array_equal(grid[4:6, 4:6, 0], 255)  # the empty slot stays white
    assert np.all(grid[0] == 255) and np.all(grid[:, 3] == 255)  # borders
    with pytest.raises(ValueError, match="images must have shape"):
        image_grid(np.zeros((2, 2)))


def _gan_step_by_hand(gan, state, batch, rng, lr):
    """One D step then one G step with plain SGD, written out from the algorithm.

    D: gradient of its loss on real images and G(z) from the old generator;
    G: gradient of its loss through the *updated* discriminator.
    """
    x = batch["image"].astype(jnp.float32) / 127.5 - 1.0
    gen, disc = gan.nets(x.shape[1:])
    p, s = state.params, state.batch_stats
    z = jnp.stack(
        [
            jax.random.normal(jax.random.fold_in(rng, i), (gan.latent_dim,))
            for i in range(batch["image"].shape[0])  # the batch's indices are 0..B-1
        ]
    )
    g_vars = {"params": p["generator"], "batch_stats": s["generator"]}
    fake, _ = gen.apply(g_vars, z, train=True, mutable=["batch_stats"])

    def d_loss(d):
        real_logits, v = disc.apply(
            {"params": d, "batch_stats": s["discriminator"]}, x, train=True, mutable=["batch_stats"]
        )
        fake_logits, v = disc.apply(
            {"params": d, "batch_stats": v["batch_stats"]},
            fake,
            train=True,
            mutable=["batch_stats"],
        )
        # non-saturating GAN, D side: BCE with real -> 1, fake -> 0
        return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits)), v

    d_grads, d_stats = jax.grad(d_loss, has_aux=True)(p["discriminator"])
    d_new = jax.tree.map(lambda w, g: w - lr * g, p["discriminator"], d_grads)

    def g_loss(g):
        images, _ = gen.apply(
            {"params": g, "batch_stats": s["generator"]}, z, train=True, mutable=["batch_stats"]
        )
        logits, _ = disc.apply(
            {"params": d_new, "batch_stats": d_stats.get("batch_stats", {})},
            images,
            train=True,
            mutable=["batch_stats"],
        )
        return jnp.mean(jax.nn.softplus(-logits))  # -log D(G(z))

    g_new = jax.tree.map(lambda w, g: w - lr * g, p["generator"], jax.grad(g_loss)(p["generator"]))
    return g_new, d_new


def test_gan_step_updates_each_network_from_its_own_loss(digits):
    import optax

    from jaxssl.methods.gan import per_network

    config = load_config("gan_digits")
    gan = methods.build(config)
    lr = 0.05
    tx = per_network(optax.sgd(lr))
    batch = {"image": digits[:32], "index": np.arange(32)}
    sample = {k: v[:2] for k, v in batch.items()}
    state = jax.jit(lambda: create_state(gan, tx, jax.random.key(0), sample))()
    rng = jax.random.fold_in(state.key, state.step)  # what the train step passes
    new_state, metrics = jax.jit(make_train_step(gan, tx))(state, batch)
    by_hand = jax.jit(_gan_step_by_hand, static_argnums=(0, 4))
    g_want, d_want = by_hand(gan, state, batch, rng, lr)
    # D moved by its own gradient only (the G step that follows left it as it
    # was), and G by the gradient through the updated D (nothing of D's step)
    for got, want in (
        (new_state.params["discriminator"], d_want),
        (new_state.params["generator"], g_want),
    ):
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    for net in ("generator", "discriminator"):
        moved = [
            np.abs(a - b).max()
            for a, b in zip(
                jax.tree.leaves(new_state.params[net]),
                jax.tree.leaves(state.params[net]),
                strict=True,
            )
        ]
        assert max(moved) > 1e-4, net
    assert metrics["loss"] == pytest.approx(float(metrics["d_loss"] + metrics["g_loss"]))
    assert 0 <= float(metrics["d_accuracy"]) <= 1 and float(metrics["diversity"]) > 0
    with pytest.raises(ValueError, match="loss must be one of"):
        methods.GAN(loss="wasserstein")


def test_gan_trains_on_digits(digits):
    config = load_config("gan_digits")
    config.optim.base_lr = 1e-3
    gan = methods.build(config)
    tx = gan.optimizer(make_optimizer(config.optim, make_schedule(config.optim, BATCH, STEPS, 1)))
    batches = _batches(digits)
    sample = {k: v[:1] for k, v in batches[0].items()}
    state = jax.jit(lambda: create_state(gan, tx, jax.random.key(0), sample))()
    step = jax.jit(make_train_step(gan, tx))
    history = []
    for batch in batches:
        state, metrics = step(state, batch)
        history.append(jax.device_get(metrics))
    for key in ("d_loss", "g_loss"):
        assert np.all(np.isfinite([h[key] for h in history])), key
    # an untrained D scores everything near 0: accuracy about 0.5; it must learn
    accuracy = np.array([h["d_accuracy"] for h in history])
    assert np.max(np.abs(accuracy[5:] - 0.5)) > 0.15, accuracy
    assert history[-1]["diversity"] > 0.1  # not collapsed to one image in 30 steps
    pictures = gan.pictures(
        state.params, {"batch_stats": state.batch_stats}, digits[:4], jax.random.key(0)
    )
    samples = np.asarray(pictures["samples"])
    assert samples.shape == (4, 8, 8, 1) and samples.min() >= 0 and samples.max() <= 1
