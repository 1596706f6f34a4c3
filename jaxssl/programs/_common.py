"""Evaluation pieces several programs share: encoder scores, baselines, held-out terms, pictures.

Each is a function of the trained state and the run's sources; none knows a
method by name. What a method offers is asked through
:mod:`jaxssl.methods.protocol`.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import ml_collections
import numpy as np

from jaxssl.data.subsets import check_labels
from jaxssl.eval.cluster import kmeans_scores
from jaxssl.eval.knn import knn_accuracy
from jaxssl.eval.pictures import save_grid
from jaxssl.eval.probe import linear_probe
from jaxssl.methods import protocol
from jaxssl.train.features import Features
from jaxssl.train.loop import Context, Hook, model_state
from jaxssl.train.state import TrainState


def probe_epochs(probe: ml_collections.ConfigDict, num_examples: int) -> int:
    """``probe.epochs``, or fewer where they would take more than ``probe.max_steps`` steps.

    A step is one batch of ``probe.batch_size`` of the ``num_examples``
    train features (the final fit's; the fits that choose the weight decay
    see fewer); at least one epoch.
    """
    per_epoch = max(num_examples // min(probe.batch_size, max(num_examples, 1)), 1)
    if not probe.max_steps or probe.epochs * per_epoch <= probe.max_steps:
        return probe.epochs
    return max(probe.max_steps // per_epoch, 1)


def probe_settings(config: ml_collections.ConfigDict, num_examples: int) -> dict:
    """The linear probe's optimisation settings (``config.eval.probe``) and seed.

    ``num_examples``: the train features the probe sees; the epochs are
    capped by ``probe.max_steps`` (:func:`probe_epochs`).
    """
    probe = config.eval.probe
    return {
        "epochs": probe_epochs(probe, num_examples),
        "batch_size": probe.batch_size,
        "learning_rate": probe.learning_rate,
        "seed": config.seed,
    }


def evaluate(
    features: Features,
    params,
    state,
    bank_src,
    eval_src,
    config: ml_collections.ConfigDict,
    *,
    probe: bool,
    raw: bool = False,
    kmeans: bool = False,
):
    """Scores one encoder: kNN; linear probe, k-means if asked.

    Returns ``(scores, (eval features, eval labels))``.
    """
    limit = config.eval.max_train_examples
    bank, bank_y = features(params, state, bank_src, limit=limit, raw=raw)
    query, query_y = features(params, state, eval_src, raw=raw)
    if config.num_classes:
        check_labels(bank_y, config.num_classes, f"{config.dataset}:{config.train_split}")
        check_labels(query_y, config.num_classes, f"{config.dataset}:{config.eval_split}")
    num_classes = config.num_classes or int(max(bank_y.max(), query_y.max())) + 1
    out: dict[str, Any] = {
        "knn_top1": knn_accuracy(
            bank,
            bank_y,
            query,
            query_y,
            num_classes=num_classes,
            k=config.eval.knn_k,
            temperature=config.eval.knn_temperature,
        )
    }
    if probe:
        results, _ = linear_probe(
            bank,
            bank_y,
            query,
            query_y,
            num_classes=num_classes,
            weight_decays=tuple(config.eval.probe.weight_decays),
            val_fraction=config.eval.probe.val_fraction,
            **probe_settings(config, len(bank_y)),
        )
        out.update({f"linear_{k}": v for k, v in results.items()})
    if kmeans:
        out.update(kmeans_scores(query, query_y, seed=config.seed))
    return out, (query, query_y)


def encoder_eval(ctx: Context, features: Features, host: TrainState, create, bank_src):
    """kNN, linear probe and k-means of the encoder (and of the baselines).

    With ``eval.baselines`` the random-init encoder and raw pixels are scored
    too (keys prefixed ``random_init_`` and ``pixels_``).

    Returns ``(scores, (eval features, eval labels))`` of the encoder itself.
    """
    config = ctx.config
    options = {"probe": config.eval.linear_probe, "kmeans": config.eval.kmeans}
    candidates = [("", host.params, model_state(host), False)]
    if config.eval.baselines:
        init = jax.jit(create, out_shardings=ctx.par.replicated)()  # on every process's devices
        candidates.append(("random_init_", init.params, model_state(init), False))
        candidates.append(("pixels_", None, None, True))
    out, embeddings = {}, None
    for prefix, params, state, raw in candidates:
        scores, query = evaluate(
            features, params, state, bank_src, ctx.eval_src, config, raw=raw, **options
        )
        embeddings = embeddings or query
        out.update({prefix + k: v for k, v in scores.items()})
    return out, embeddings


def knn_monitor(ctx: Context, features: Features) -> Hook:
    """Every ``eval.knn_every_steps``: kNN top-1 of the encoder on the eval split."""

    def monitor(step, host, report):
        scores, _ = evaluate(
            features,
            host.params,
            model_state(host),
            ctx.fit_src,
            ctx.eval_src,
            ctx.config,
            probe=False,
        )
        report.metrics(step, scores, prefix="eval")
        report.print(f"step {step}: kNN top-1 {scores['knn_top1']:.4f}")

    return Hook(ctx.config.eval.knn_every_steps, monitor)


def held_out_eval(ctx: Context, method, host: TrainState) -> dict:
    """Held-out means of the method's ``eval_terms``; its ``pictures`` as PNG grids.

    Returns ``{'eval_<name>': ...}``: each term's mean over the eval split's
    examples, or what the method's ``summarize`` makes of those means (ratios
    such as bits per byte); and ``'pictures': {name: path}``.
    """
    config = ctx.config
    out: dict[str, Any] = {}
    if protocol.has(method, protocol.EvalTerms):
        terms = Features(method.eval_terms, ctx.par, config, ctx.transform)
        values, _ = terms(host.params, model_state(host), ctx.eval_src)
        means = {name: float(np.mean(values[:, i])) for i, name in enumerate(method.EVAL_TERMS)}
        if protocol.has(method, protocol.Summarize):
            means = {k: float(v) for k, v in method.summarize(means).items()}
        out.update({f"eval_{k}": v for k, v in means.items()})
    if protocol.has(method, protocol.Pictures):
        images = picture_images(ctx, ctx.eval_src)
        if images is not None and ctx.main:
            out["pictures"] = save_pictures(ctx, method, host, images)
    return out


def picture_images(ctx: Context, source) -> np.ndarray | None:
    """The first ``config.generative.pictures`` images of ``source`` (None for none)."""
    config = ctx.config
    n = min(config.generative.pictures, len(source))
    if not n:
        return None
    records = [source[i] for i in range(n)]
    if ctx.transform is not None:
        records = [ctx.transform(dict(r)) for r in records]
    return np.stack([np.asarray(r[config.image_key]) for r in records])


def save_pictures(ctx: Context, method, host, images, step: int | None = None) -> dict:
    """``method.pictures`` as PNG grids: ``WORKDIR/<name>.png``, or ``pictures/<name>_<step>.png``.

    The noise is the same at every call (the run's seed), so grids from
    different steps show the same latent points.
    """
    grids = jax.jit(method.pictures)(
        host.params, model_state(host), images, jax.random.key(ctx.config.seed)
    )
    workdir = ctx.workdir
    if step is None:
        paths = {name: os.path.join(workdir, f"{name}.png") for name in grids}
    else:
        paths = {name: os.path.join(workdir, "pictures", f"{name}_{step}.png") for name in grids}
    return {name: save_grid(paths[name], np.asarray(grid), scale=4) for name, grid in grids.items()}


def stopped_line(results: dict) -> str:
    """The summary of a run that stopped before its final evaluation (or made none)."""
    return (
        f"stopped at step {results['steps']} of {results['total_steps']}; {results['wall_s']:.0f} s"
    )


def scores_text(results: dict, prefix: str = "") -> str:
    """``kNN 0.98, linear probe 0.99, k-means 0.88`` of one encoder (``prefix``)."""
    parts = [f"kNN {results[prefix + 'knn_top1']:.4f}"]
    if prefix + "linear_top1" in results:
        parts.append(f"linear probe {results[prefix + 'linear_top1']:.4f}")
    if prefix + "kmeans_acc" in results:
        parts.append(f"k-means {results[prefix + 'kmeans_acc']:.4f}")
    return ", ".join(parts)


def held_out_text(results: dict) -> str:
    """``nll 1.2345, ...`` of the ``eval_`` numbers ('' when there are none)."""
    held_out = [k for k in results if k.startswith("eval_")]
    return ", ".join(f"{k[5:]} {results[k]:.4f}" for k in held_out)


def encoder_line(name: str, results: dict, config: ml_collections.ConfigDict) -> str:
    """The summary of an evaluated encoder: its scores, held-out numbers, pictures, baselines."""
    line = f"{name} on {config.dataset}:{config.eval_split}: {scores_text(results)}"
    held_out = held_out_text(results)
    if held_out:
        line += " | held-out " + held_out
    if "pictures" in results:
        line += " | pictures: " + ", ".join(results["pictures"].values())
    if "random_init_knn_top1" in results:
        line += f" | random-init encoder: {scores_text(results, 'random_init_')}"
        line += f" | raw pixels: {scores_text(results, 'pixels_')}"
    return line + steps_text(results)


def pretrained_line(results: dict, config: ml_collections.ConfigDict) -> str:
    """``simclr encoder on digits:test: ...``, or the stopped line before a final evaluation."""
    if "knn_top1" not in results:
        return stopped_line(results)
    return encoder_line(f"{config.method} encoder", results, config)


def steps_text(results: dict) -> str:
    """`` | 600 steps, 148 s``."""
    return f" | {results['steps']} steps, {results['wall_s']:.0f} s"
