"""Fine-tuning: the loss's formula, the frozen variant, the encoder's own learning rate."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxssl import models
from jaxssl.data import augment
from jaxssl.methods import Classifier, SimCLR
from jaxssl.train import create_state, make_finetune_step, make_optimizer, make_schedule
from tests.train.conftest import load_config


def _classifier(batch_norm=False, **kwargs):
    if batch_norm:  # a one-block ResNet: BatchNorm statistics, which a frozen encoder keeps
        encoder = models.get_model("resnet18", stage_sizes=(1,), stem="cifar")
    else:
        encoder = models.get_model("small_cnn", features=(8,), dense_features=16)
    head = models.get_model("linear", num_classes=10)
    kwargs.setdefault("augment", augment.digits(8))
    return Classifier(encoder=encoder, head=head, **kwargs)


def _batch(rng, n=16):
    return {
        "image": rng.integers(0, 256, size=(n, 8, 8, 1), dtype=np.uint8),
        "label": rng.integers(0, 10, size=n),
        "index": np.arange(n),
    }


def _optimizer(**overrides):
    config = load_config("finetune_digits")
    config.optim.warmup_epochs = 0
    config.optim.update(overrides)
    schedule = make_schedule(config.optim, 64, 10, 5)
    return make_optimizer(config.optim, schedule), schedule


def _reference_loss(logits, labels, alpha):
    """Label-smoothed cross-entropy, Szegedy et al. 2016: q = (1-a) one_hot + a/C."""
    logits = np.asarray(logits, np.float64)
    total = 0.0
    for row, label in zip(logits, labels, strict=True):
        log_p = row - row.max() - np.log(np.sum(np.exp(row - row.max())))
        q = np.full(len(row), alpha / len(row))
        q[label] += 1 - alpha
        total -= np.sum(q * log_p)
    return total / len(labels)


@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_loss_is_smoothed_cross_entropy(rng, alpha):
    method = _classifier(label_smoothing=alpha, augment=None)
    batch = _batch(rng)
    variables = jax.jit(method.init)(jax.random.key(0), batch)
    state = {"batch_stats": variables.get("batch_stats", {}), "method": {}}
    loss_fn = jax.jit(method.loss_fn)
    loss, (_, metrics) = loss_fn(variables["params"], state, batch, jax.random.key(1))
    # the logits of the same forward pass in training mode
    forward = jax.jit(partial(method.net.apply, train=True, mutable=["batch_stats"]))
    (_, logits), _ = forward(variables, augment.to_unit_float(batch["image"]))
    np.testing.assert_allclose(loss, _reference_loss(logits, batch["label"], alpha), rtol=1e-5)
    assert metrics["top1"] == np.mean(np.argmax(logits, -1) == batch["label"])


def test_frozen_encoder_changes_nothing_but_the_head(rng):
    method = _classifier(batch_norm=True, freeze_encoder=True)
    tx, _ = _optimizer(encoder_lr_mult=0.0)
    batch = _batch(rng)
    state = jax.jit(lambda: create_state(method, tx, jax.random.key(0), batch))()
    step = jax.jit(make_finetune_step(method, tx))
    new, _ = step(state, batch)
    new, _ = step(new, batch)
    same = jax.tree.map(np.array_equal, state.params["encoder"], new.params["encoder"])
    assert all(jax.tree.leaves(same)), "the encoder moved"
    stats = jax.tree.map(np.array_equal, state.batch_stats, new.batch_stats)
    assert jax.tree.leaves(state.batch_stats) and all(jax.tree.leaves(stats))
    assert not np.array_equal(
        state.params["head"]["Dense_0"]["kernel"], new.params["head"]["Dense_0"]["kernel"]
    )


def test_full_fine_tune_moves_the_encoder_at_its_own_rate(rng):
    """With plain SGD (no momentum, no decay) the encoder's step is mult x the head's rule."""
    method = _classifier()
    batch = _batch(rng)
    mult = 0.1
    tx, schedule = _optimizer(name="sgd", momentum=0.0, weight_decay=0.0, encoder_lr_mult=mult)
    state = jax.jit(lambda: create_state(method, tx, jax.random.key(0), batch))()
    step = make_finetune_step(method, tx, schedule=schedule)
    new, metrics = jax.jit(step)(state, batch)
    key = jax.random.fold_in(state.key, 0)  # the step's key: the same augmented views
    aux = {"batch_stats": state.batch_stats, "method": {}}
    grads = jax.jit(jax.grad(lambda p: method.loss_fn(p, aux, batch, key)[0]))(state.params)
    lr = float(metrics["lr"])
    for part, scale in (("encoder", mult), ("head", 1.0)):
        moved = jax.tree.map(lambda a, b: b - a, state.params[part], new.params[part])
        expected = jax.tree.map(lambda g, s=scale: -lr * s * g, grads[part])
        leaves = zip(
            jax.tree.leaves(moved),
            jax.tree.leaves(expected),
            jax.tree.leaves(state.params[part]),
            strict=True,
        )
        for got, want, param in leaves:
            # `got` is a difference of two float32 parameters: it carries their rounding,
            # two units in the last place of the largest parameter
            ulp = float(np.spacing(np.abs(np.asarray(param)).max()))
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=2 * ulp)


def test_finetune_step_refuses_a_pretraining_method():
    simclr = SimCLR(encoder=None, head=None, augment=None)
    with pytest.raises(TypeError, match="classifier must be a classification method"):
        make_finetune_step(simclr, optax.sgd(0.1))


def test_logits_and_features_in_inference_mode(rng):
    method = _classifier()
    batch = _batch(rng, 4)
    variables = jax.jit(method.init)(jax.random.key(0), batch)
    state = {"batch_stats": variables.get("batch_stats", {}), "method": {}}
    feats = jax.jit(method.features)(variables["params"], state, jnp.asarray(batch["image"]))
    logits = jax.jit(method.logits)(variables["params"], state, jnp.asarray(batch["image"]))
    head = variables["params"]["head"]["Dense_0"]
    np.testing.assert_allclose(logits, feats @ head["kernel"] + head["bias"], rtol=1e-5, atol=1e-6)


def test_unaugmented_training_inputs_are_scaled_like_evaluation(rng):
    """augment_train=False: the loss is the cross-entropy of the evaluation logits.

    The small CNN has no BatchNorm or dropout, so training and inference mode
    agree; any difference would be the input scaling (the preset's mean/std).
    """
    method = _classifier(augment=augment.simclr(8), augment_train=False)
    batch = _batch(rng, 8)
    variables = jax.jit(method.init)(jax.random.key(0), batch)
    state = {"batch_stats": {}, "method": {}}
    loss, _ = jax.jit(method.loss_fn)(variables["params"], state, batch, jax.random.key(1))
    logits = jax.jit(method.logits)(variables["params"], state, jnp.asarray(batch["image"]))
    np.testing.assert_allclose(loss, _reference_loss(logits, batch["label"], 0.0), rtol=1e-5)
