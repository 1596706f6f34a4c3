"""Linear evaluation of frozen features, trained on device.

The linear-evaluation protocol of SimCLR/MoCo/BYOL: a softmax regression on
the frozen encoder's features, its L2 penalty chosen on a validation split
carved from the training set, then refitted on the whole training set and
scored on the test set.

The features are extracted once (see ``jaxssl.train.features.Features``); the
classifiers for every candidate weight decay are fitted at once, ``vmap``-ed
over the penalty, by minibatch SGD (Nesterov momentum, cosine decay) inside
one ``lax.scan``: one compilation, no host round-trip per step. scikit-learn's
``LogisticRegression`` gives the same kind of model but runs on the host, one
penalty at a time, and does not scale to ImageNet-sized feature sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from jaxssl.eval.metrics import classification_metrics

WEIGHT_DECAYS = (0.0, 1e-5, 1e-4, 1e-3, 1e-2)


@partial(jax.jit, static_argnames=("num_classes", "epochs", "batch_size"))
def fit_linear(
    x: jax.Array,
    y: jax.Array,
    weight_decays: jax.Array,
    key: jax.Array,
    *,
    num_classes: int,
    epochs: int = 100,
    batch_size: int = 256,
    learning_rate: float = 0.1,
) -> dict:
    """Softmax regressions on ``x [N, F]``, labels ``y [N]``, one per weight decay ``[K]``.

    Minimises ``mean cross-entropy + wd/2 * ||W||^2`` (the bias is not
    penalised) by SGD with Nesterov momentum 0.9 and a cosine-decayed
    learning rate, over ``epochs`` shuffled passes of ``min(batch_size, N)``
    examples (the last incomplete batch of each pass is dropped). Standardise
    ``x`` first.

    Returns:
      ``{'w': [K, F, C], 'b': [K, C]}``.
    """
    n, f = x.shape
    batch = min(batch_size, n)
    per_epoch = n // batch
    tx = optax.sgd(
        optax.cosine_decay_schedule(learning_rate, epochs * per_epoch), 0.9, nesterov=True
    )

    def loss(params, xb, yb, wd):
        logits = xb @ params["w"] + params["b"]
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()
        return ce + 0.5 * wd * jnp.sum(params["w"] ** 2)

    def fit_one(wd):
        params = {"w": jnp.zeros((f, num_classes)), "b": jnp.zeros((num_classes,))}

        def step(carry, idx):
            params, opt = carry
            grads = jax.grad(loss)(params, x[idx], y[idx], wd)
            updates, opt = tx.update(grads, opt, params)
            return (optax.apply_updates(params, updates), opt), None

        def epoch(carry, e):
            order = jax.random.permutation(jax.random.fold_in(key, e), n)
            carry, _ = lax.scan(step, carry, order[: per_epoch * batch].reshape(per_epoch, batch))
            return carry, None

        (params, _), _ = lax.scan(epoch, (params, tx.init(params)), jnp.arange(epochs))
        return params

    return jax.vmap(fit_one)(jnp.asarray(weight_decays, jnp.float32))


def validation_split(labels: np.ndarray, fraction: float, seed: int = 0):
    """``(fit, val)`` index arrays: a stratified ``fraction`` of the examples held out.

    Falls back to an unstratified split when a class is too small to appear
    on both sides.
    """
    from sklearn.model_selection import train_test_split

    index = np.arange(len(labels))
    try:
        fit, val = train_test_split(index, test_size=fraction, random_state=seed, stratify=labels)
    except ValueError:
        fit, val = train_test_split(index, test_size=fraction, random_state=seed)
    return np.sort(fit), np.sort(val)


def _standardiser(x: np.ndarray):
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std = np.where(std > 1e-6, std, 1.0)  # constant features (dead units) stay 0
    return lambda z: ((np.asarray(z, np.float32) - mean) / std).astype(np.float32)


def _logits(params: dict, x: np.ndarray) -> np.ndarray:
    return np.asarray(jnp.einsum("nf,kfc->knc", x, params["w"]) + params["b"][:, None])


def linear_probe(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    *,
    num_classes: int | None = None,
    weight_decays: Sequence[float] = WEIGHT_DECAYS,
    val_fraction: float = 0.2,
    epochs: int = 100,
    batch_size: int = 256,
    learning_rate: float = 0.1,
    seed: int = 0,
) -> tuple[dict, np.ndarray]:
    """Linear evaluation with the weight decay chosen on a validation split of train.

    1. Hold out a stratified ``val_fraction`` of the training examples.
    2. Fit one classifier per weight decay on the rest (standardised with its
       statistics); keep the decay with the best validation top-1 (the first
       on ties, in the order given).
    3. Refit with that decay on every training example; score the test set.

    Args:
      train_x: features ``[N, F]``.
      train_y: integer labels ``[N]``.
      test_x: features ``[M, F]``.
      test_y: labels ``[M]``.
      num_classes: default ``max label + 1``.
      weight_decays: the candidates (L2 penalty on the weights).
      val_fraction: share of train held out for the choice; 0 skips the
        sweep and uses ``weight_decays[0]``.
      epochs: SGD passes over the data (see :func:`fit_linear`).
      batch_size: SGD batch.
      learning_rate: SGD's initial learning rate.
      seed: the split and the shuffling.

    Returns:
      ``(results, test_logits [M, C])``; ``results`` holds ``top1``, ``top5``
      (when C > 5), ``weight_decay``, ``val_top1`` (per candidate) and
      ``metrics`` (:func:`~jaxssl.eval.metrics.classification_metrics`).
    """
    train_x, test_x = np.asarray(train_x, np.float32), np.asarray(test_x, np.float32)
    train_y, test_y = np.asarray(train_y, np.int32), np.asarray(test_y, np.int32)
    if train_x.ndim != 2 or test_x.ndim != 2 or train_x.shape[1] != test_x.shape[1]:
        raise ValueError(
            f"train_x and test_x must be [N, F] and [M, F], got {train_x.shape} and {test_x.shape}."
        )
    if train_y.shape != train_x.shape[:1] or test_y.shape != test_x.shape[:1]:
        raise ValueError("train_y and test_y must have one label per row of train_x and test_x.")
    if not weight_decays or min(weight_decays) < 0:
        raise ValueError(f"weight_decays must be non-negative values, got {weight_decays!r}.")
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}.")
    num_classes = num_classes or int(max(train_y.max(), test_y.max())) + 1
    fit = partial(
        fit_linear,
        num_classes=num_classes,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
    )
    key = jax.random.key(seed)
    decays = [float(w) for w in weight_decays]
    val_top1 = {}
    if val_fraction > 0 and len(decays) > 1:
        fit_idx, val_idx = validation_split(train_y, val_fraction, seed)
        scale = _standardiser(train_x[fit_idx])
        params = fit(scale(train_x[fit_idx]), train_y[fit_idx], np.asarray(decays), key)
        pred = _logits(params, scale(train_x[val_idx])).argmax(-1)
        accs = (pred == train_y[val_idx]).mean(axis=1)
        val_top1 = {str(w): float(a) for w, a in zip(decays, accs, strict=True)}
        best = decays[int(np.argmax(accs))]
    else:
        best = decays[0]
    scale = _standardiser(train_x)
    params = fit(scale(train_x), train_y, np.asarray([best]), key)
    logits = _logits(params, scale(test_x))[0]
    metrics = classification_metrics(test_y, logits, num_classes=num_classes)
    results = {
        "top1": metrics["top1"],
        "weight_decay": best,
        "val_top1": val_top1,
        "metrics": metrics,
    }
    if "top5" in metrics:
        results["top5"] = metrics["top5"]
    return results, logits
