"""The training program: data, method, optimizer, devices, checkpoints, logs, evaluation.

:func:`run` is what ``train.py`` calls. Everything it needs is in the config
(:mod:`jaxssl.train.config`); it checks the config, the device count and the
dataset before compiling anything, resumes from the workdir's newest
checkpoint when there is one (else starts from ``config.init_from``), and
ends with an evaluation on held-out data: kNN, linear probe and k-means of a
pretrained encoder; test metrics, kNN and a pseudo-label sweep of a
fine-tuned classifier. ``method = linear_probe`` trains nothing and only
evaluates.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import sys
import threading
import time
from typing import Any

import jax
import ml_collections
import numpy as np
import optax
from tqdm.auto import tqdm

from jaxssl import methods
from jaxssl.data import datasets, text
from jaxssl.data.loader import make_loader
from jaxssl.data.subsets import Subset, label_fraction, labels_of
from jaxssl.eval.cluster import kmeans_scores
from jaxssl.eval.knn import knn_accuracy
from jaxssl.eval.metrics import classification_metrics
from jaxssl.eval.pictures import save_grid
from jaxssl.eval.probe import linear_probe
from jaxssl.eval.pseudo import pseudo_label_sweep
from jaxssl.train import config as config_lib
from jaxssl.train.checkpoint import Checkpointer, latest_checkpoint, load_pretrained
from jaxssl.train.logging import MetricWriter, open_log
from jaxssl.train.optim import make_optimizer, make_schedule
from jaxssl.train.parallel import Parallel, check_batch_size, make_mesh, select_devices
from jaxssl.train.state import TrainState, create_state
from jaxssl.train.steps import make_train_step

# Environment variables by which launchers announce a multi-process job;
# jax.distributed.initialize() reads the details itself.
_MULTIPROCESS_ENV = {
    "JAX_COORDINATOR_ADDRESS": None,
    "SLURM_NTASKS": "count",
    "OMPI_COMM_WORLD_SIZE": "count",
    "TPU_WORKER_HOSTNAMES": "list",
}


def is_multiprocess_launch(environ: dict[str, str] | None = None) -> bool:
    """Whether the environment says this is one of several processes (a pod, SLURM, MPI)."""
    env = os.environ if environ is None else environ
    for name, kind in _MULTIPROCESS_ENV.items():
        value = env.get(name)
        if not value:
            continue
        if kind is None:
            return True
        if kind == "count" and value.isdigit() and int(value) > 1:
            return True
        if kind == "list" and len([h for h in value.split(",") if h]) > 1:
            return True
    return False


def maybe_initialize_distributed() -> None:
    """``jax.distributed.initialize()`` once, when launched as several processes."""
    if is_multiprocess_launch() and not jax.distributed.is_initialized():
        jax.distributed.initialize()


def _host_transform(load_size: int, image_key: str):
    """Host-side resize of the shorter side to ``load_size`` then a centre crop (PIL)."""
    if not load_size:
        return None
    from PIL import Image

    def transform(record):
        image = np.asarray(record[image_key])
        h, w = image.shape[:2]
        scale = load_size / min(h, w)
        size = (max(load_size, round(w * scale)), max(load_size, round(h * scale)))
        pil = Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image)
        resized = np.asarray(pil.resize(size, Image.BILINEAR))
        top, left = (resized.shape[0] - load_size) // 2, (resized.shape[1] - load_size) // 2
        crop = resized[top : top + load_size, left : left + load_size]
        return {**record, image_key: crop.reshape(load_size, load_size, -1)}

    return transform


def _sample_batch(source, transform, image_key: str) -> dict:
    record = dict(source[0])
    if transform is not None:
        record = transform(record)
    return {image_key: np.asarray(record[image_key])[None], "index": np.zeros((1,), np.int64)}


class Features:
    """Runs ``fn(params, state, images)`` (a method's ``features`` or ``logits``) over a split.

    Batches are sharded over every device; the outputs come back as NumPy.
    """

    def __init__(self, fn, par: Parallel, config: ml_collections.ConfigDict, transform):
        self.par = par
        self.config = config
        self.transform = transform
        local_devices = len(par.local_devices)
        per_process = max(config.eval.batch_size // jax.process_count(), local_devices)
        self.batch_size = per_process // local_devices * local_devices
        self._fn = jax.jit(fn, out_shardings=par.replicated)

    def _batches(self, source, limit: int):
        n = min(len(source), limit) if limit else len(source)
        indices = source if n == len(source) else Subset(source, np.arange(n))
        loader = make_loader(
            indices,
            batch_size=self.batch_size,
            shuffle=False,
            num_epochs=1,
            drop_remainder=False,
            shard_by_process=jax.process_count() > 1,
            transform=self.transform,
        )
        for batch in loader:
            size = len(batch["index"])
            pad = self.batch_size - size

            def padded(x, pad=pad):
                return np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)]) if pad else x

            yield {k: padded(np.asarray(v)) for k, v in batch.items()}, size

    def __call__(self, params, state: dict, source, *, limit: int = 0, raw: bool = False):
        """``(features [n, F], labels [n])`` as NumPy, ``raw=True`` for flattened pixels."""
        key, label = self.config.image_key, self.config.label_key
        feats, labels = [], []
        params = jax.device_put(params, self.par.replicated)
        state = jax.device_put(state, self.par.replicated)
        for batch, size in self._batches(source, limit):
            if raw:
                out = batch[key].reshape(len(batch[key]), -1).astype(np.float32) / 255.0
            else:
                images = jax.make_array_from_process_local_data(self.par.sharded, batch[key])
                out = np.asarray(jax.device_get(self._fn(params, state, images)))
            feats.append(out[:size])
            if label in batch:  # text rows have none
                labels.append(batch[label][:size])
        feats = np.concatenate(feats)
        labels = np.concatenate(labels) if labels else np.zeros((len(feats),), np.int64)
        if jax.process_count() > 1:
            from jax.experimental import multihost_utils

            # Processes hold equal shards (the loader drops the remainder), so
            # the gathered arrays line up.
            feats = np.asarray(multihost_utils.process_allgather(feats, tiled=True))
            labels = np.asarray(multihost_utils.process_allgather(labels, tiled=True))
        return feats, labels


def _probe_settings(config: ml_collections.ConfigDict) -> dict:
    probe = config.eval.probe
    return {
        "epochs": probe.epochs,
        "batch_size": probe.batch_size,
        "learning_rate": probe.learning_rate,
        "seed": config.seed,
    }


def _evaluate(
    features, params, state, bank_src, eval_src, config, *, probe: bool, raw=False, kmeans=False
):
    """Scores one encoder: kNN; linear probe, k-means if asked.

    Returns ``(scores, (eval features, eval labels))``.
    """
    limit = config.eval.max_train_examples
    bank, bank_y = features(params, state, bank_src, limit=limit, raw=raw)
    query, query_y = features(params, state, eval_src, raw=raw)
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
            **_probe_settings(config),
        )
        out.update({f"linear_{k}": v for k, v in results.items()})
    if kmeans:
        out.update(kmeans_scores(query, query_y, seed=config.seed))
    return out, (query, query_y)


def _abstract(create, par: Parallel):
    shapes = jax.eval_shape(create)
    return jax.tree.map(
        lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=par.replicated), shapes
    )


def _labelled_subset(config, train_src) -> np.ndarray | None:
    """Indices of the labelled fraction of train (classifier runs), or None for all of it."""
    if config.method != "classifier" or config.finetune.label_fraction >= 1:
        return None
    labels = labels_of(train_src, config.label_key)
    return label_fraction(labels, config.finetune.label_fraction, seed=config.finetune.subset_seed)


def _save_json(workdir: str, name: str, value: dict) -> None:
    # Written to a temporary name first: an interrupted write never leaves a
    # truncated file in place of a good one.
    path = os.path.join(workdir, name)
    with open(path + ".tmp", "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
    os.replace(path + ".tmp", path)


class _StopSignals:
    """SIGTERM and SIGINT ask the loop to finish its step, save and stop.

    Installed only in the main thread (Python delivers signals there), for
    the training loop only; the previous handlers come back afterwards. A
    second Ctrl-C stops at once (``KeyboardInterrupt``); the newest complete
    checkpoint is then the one to resume from.
    """

    def __init__(self):
        self.received: str | None = None
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        del frame
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signal.Signals(signum).name

    def __exit__(self, *exc):
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)


@contextlib.contextmanager
def _closed_on_error(ckpt: Checkpointer):
    """Closes ``ckpt`` (its manager's threads) when the block raises, then re-raises."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):  # the block's error is the one to report
            ckpt.close()
        raise


def _check_workdir(workdir: str) -> None:
    """OSError naming ``workdir`` when it cannot be created or written."""
    probe = os.path.join(workdir, f".write_test_{os.getpid()}")
    try:
        os.makedirs(workdir, exist_ok=True)
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise OSError(
            f"workdir {workdir!r} is not a writable directory ({type(e).__name__}: {e}); "
            "choose another --workdir."
        ) from e


def _guard(step: int, metrics, par: Parallel, ckpt: Checkpointer, skip: bool) -> None:
    """FloatingPointError when step ``step``'s loss or gradient norm was not finite."""
    if skip or not int(jax.device_get(par.from_device(metrics)["nonfinite"])):
        return
    last = ckpt.latest_step()
    where = f"step {last} in {ckpt.directory}" if last is not None else "none"
    raise FloatingPointError(
        f"non-finite loss or gradient norm at step {step}; training stopped and nothing "
        f"after it was saved. Last good checkpoint: {where}. Lower the learning rate, clip "
        "gradients (config.optim.clip_norm) or set config.skip_nonfinite_steps=True to skip "
        "such updates."
    )


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
    """Trains (or resumes) the run ``config`` in ``workdir``; returns the final results.

    ``config.method`` is a pretraining method (``simclr``), ``classifier``
    (supervised fine-tuning, optionally on a labelled fraction, from
    ``config.init_from``) or ``linear_probe`` (no training: probes of the
    encoder in ``config.init_from``).

    Writes ``WORKDIR/config.json`` (the resolved config), ``metrics.jsonl``,
    ``tensorboard/``, ``checkpoints/`` and, at the end, ``results.json`` (every
    number of the final evaluation) and ``embeddings.npz`` (eval-split
    features, for ``python -m jaxssl.report``).

    Raises:
      ValueError: an unknown config key or bad value, a batch size that does
        not divide over the devices, a dataset smaller than one batch.
      FileNotFoundError: the dataset is not prepared (the message has the
        command that prepares it), or ``init_from`` has no checkpoint.
    """
    t0 = time.time()
    config_lib.validate(config)
    config = copy.deepcopy(config)  # filled in below (num_classes); the caller's stays as given
    maybe_initialize_distributed()
    par = Parallel(make_mesh(select_devices(config.num_devices)), config.parallel)
    if config.method != "linear_probe":  # it trains nothing: no batch to split
        check_batch_size(config.batch_size, par.num_devices, jax.process_count())
    data_dir = config.data_dir or None
    train_src = datasets.data_source(config.dataset, config.train_split, data_dir)
    if config.method in config_lib.SUPERVISED and not config.num_classes:
        config.num_classes = datasets.num_classes(train_src, config.label_key)
    need_eval = (
        config.eval.final or config.eval.knn_every_steps > 0 or config.method == "linear_probe"
    )
    eval_src = (
        datasets.data_source(config.dataset, config.eval_split, data_dir) if need_eval else None
    )
    text_baseline = None
    if config.method in config_lib.LANGUAGE:
        # packed byte-level token rows; the unigram baseline for bits per byte
        config.image_key = "tokens"
        train_rows = text.packed_rows(train_src, config.text.seq_len, config.text.text_key)
        train_src = text.TokenRows(train_rows)
        if eval_src is not None:
            eval_rows = text.packed_rows(eval_src, config.text.seq_len, config.text.text_key)
            eval_src = text.TokenRows(eval_rows)
            if config.method == "causal_lm":  # what bits per byte must beat
                text_baseline = text.unigram_bits_per_byte(train_rows, eval_rows)
    labelled = _labelled_subset(config, train_src)
    fit_src = train_src if labelled is None else Subset(train_src, labelled)
    transform = _host_transform(config.load_size, config.image_key)
    sample = _sample_batch(train_src, transform, config.image_key)
    main = jax.process_index() == 0
    if config.method == "linear_probe":
        method = methods.build(config, par.axis_name)
        return _probe_program(
            config, workdir, par, method, sample, transform, train_src, eval_src, t0
        )

    steps_per_epoch = len(fit_src) // config.batch_size
    if steps_per_epoch == 0 and not config.num_steps:
        raise ValueError(
            f"config.batch_size={config.batch_size} is larger than the {len(fit_src)} "
            f"training examples of {config.dataset}:{config.train_split}; lower it, or set "
            "config.num_steps (batches then run across epoch boundaries)."
        )
    steps_per_epoch = max(steps_per_epoch, 1)
    _check_workdir(workdir)
    ckpt = Checkpointer(
        os.path.join(workdir, "checkpoints"),
        every_steps=config.checkpoint.every_steps,
        keep=config.checkpoint.keep,
        async_save=config.checkpoint.async_save,
    )
    with _closed_on_error(ckpt):
        if config.init_from and ckpt.latest_step() is None:
            latest_checkpoint(config.init_from)  # a missing one fails now, before compiling
        total_steps = config.num_steps or config.num_epochs * steps_per_epoch
        stop = min(config.stop_at_step or total_steps, total_steps)
        method = methods.build(config, par.axis_name, num_steps=total_steps)
        schedule = make_schedule(config.optim, config.batch_size, total_steps, steps_per_epoch)
        tx = make_optimizer(config.optim, schedule)
        if hasattr(method, "optimizer"):  # several networks: one optimizer each (the GAN)
            tx = method.optimizer(tx)
        loader = make_loader(
            fit_src,
            batch_size=config.batch_size // jax.process_count(),
            seed=config.seed,
            num_epochs=None,
            worker_count=config.worker_count,
            transform=transform,
        )
        iterator = iter(loader)

        def create() -> TrainState:
            return create_state(method, tx, jax.random.key(config.seed), sample)

        restored = ckpt.restore_latest(
            _abstract(create, par), iterator, warn=lambda m: print(m, file=sys.stderr, flush=True)
        )
        if restored is not None:
            state, latest = restored
            state = par.to_device(state)
            origin = f"resumed from step {latest}"
        else:
            state = par.init(create)
            origin = "fresh"
            if config.init_from:
                host = jax.device_get(par.from_device(state))
                params, batch_stats = load_pretrained(
                    config.init_from,
                    host.params,
                    host.batch_stats,
                    getattr(method, "init_from_keys", None),
                )
                state = par.to_device(host.replace(params=params, batch_stats=batch_stats))
                origin = f"parameters from {config.init_from}"
        if main:
            _save_json(workdir, "config.json", config.to_dict())
            labels_note = "" if labelled is None else f", {len(labelled)} labelled examples"
            print(
                f"jaxssl: {config.method} on {config.dataset}{labels_note}, {par.num_devices} "
                f"device(s) ({jax.devices()[0].platform}, {config.parallel}), global batch "
                f"{config.batch_size}, {total_steps} steps, {origin}; workdir {workdir}",
                flush=True,
            )
        step_fn = par.compile_step(
            make_train_step(
                method, tx, schedule=schedule, skip_nonfinite=config.skip_nonfinite_steps
            )
        )
        ids_log = (
            open_log(os.path.join(workdir, "example_ids.jsonl"))
            if main and config.log_example_ids
            else None
        )
        writer = MetricWriter(workdir)
        features = (
            Features(method.features, par, config, transform)
            if hasattr(method, "features")
            else None
        )
        picture_images = None
        if main and hasattr(method, "pictures") and config.generative.pictures_every_steps:
            picture_images = _picture_images(eval_src or train_src, transform, config)

    start = int(jax.device_get(par.from_device(state).step))
    bar = tqdm(total=stop, initial=start, disable=not main, desc="train", unit="step")
    last_time, last_step = time.time(), start
    skip = config.skip_nonfinite_steps
    # The guard reads each step's finiteness flag one step late, so the host
    # never waits for the step it just launched; before a save it waits.
    pending = None
    with _StopSignals() as signals, _closed_on_error(ckpt):
        try:
            for step in range(start, stop):
                batch = next(iterator)
                state, metrics = step_fn(state, par.put_batch(batch))
                done = step + 1
                if ids_log is not None:
                    ids_log.write(
                        json.dumps({"step": done, "ids": np.asarray(batch["index"]).tolist()})
                    )
                    ids_log.write("\n")
                    ids_log.flush()
                if pending is not None:
                    _guard(*pending, par, ckpt, skip)
                pending = (done, metrics)
                if done % config.log_every_steps == 0 or done == stop or step == start:
                    values = jax.device_get(par.from_device(metrics))
                    now = time.time()
                    if step == start:  # includes compilation: time it, not a rate
                        values["first_step_s"] = now - last_time
                    else:  # dataset images per second; each gives two views
                        rate = (done - last_step) * config.batch_size / (now - last_time)
                        values["images_per_s"] = rate
                        bar.set_postfix(loss=f"{values['loss']:.4f}", img_s=f"{rate:.0f}")
                    last_time, last_step = now, done
                    writer.write(done, values)
                if done == stop or signals.received or ckpt.should_save(done):
                    _guard(*pending, par, ckpt, skip)  # never save a non-finite state
                    pending = None
                    force = done == stop or signals.received is not None
                    ckpt.save(done, par.from_device(state), iterator, config, force=force)
                    if signals.received:
                        ckpt.wait()
                        bar.write(
                            f"stopped by {signals.received} after step {done}: checkpoint saved in "
                            f"{ckpt.directory}; rerun the same command to resume"
                        )
                        stop = done
                        break
                    if ckpt.reached_preemption(done):
                        bar.write(
                            f"preempted: saved step {done} in {ckpt.directory}; rerun to resume"
                        )
                        stop = done
                        break
                every = config.generative.pictures_every_steps
                if every and done % every == 0 and picture_images is not None:
                    _save_pictures(
                        method, par.from_device(state), picture_images, config, workdir, done
                    )
                knn_every = config.eval.knn_every_steps if features is not None else 0
                if knn_every and done % knn_every == 0:
                    host = par.from_device(state)
                    monitor, _ = _evaluate(
                        features,
                        host.params,
                        _model_state(host),
                        fit_src,
                        eval_src,
                        config,
                        probe=False,
                    )
                    writer.write(done, monitor, prefix="eval")
                    bar.write(f"step {done}: kNN top-1 {monitor['knn_top1']:.4f}")
                bar.update(1)
            if pending is not None:
                _guard(*pending, par, ckpt, skip)
        finally:
            bar.close()
            if ids_log is not None:
                ids_log.close()
            ckpt.wait()
    results: dict[str, Any] = {"steps": stop, "total_steps": total_steps}
    if labelled is not None:
        results["labelled_examples"] = len(labelled)
    embeddings = None
    if stop == total_steps and config.eval.final:
        host = par.from_device(state)
        if config.method == "classifier":
            scores, embeddings = _classifier_eval(
                method, par, host, features, train_src, fit_src, eval_src, labelled, config
            )
        elif hasattr(method, "features"):
            scores, embeddings = _final_eval(
                method, par, host, create, features, fit_src, eval_src, config
            )
        else:  # language models: no labels to probe; held-out numbers below
            scores = {}
        if hasattr(method, "eval_terms") or hasattr(method, "pictures"):
            scores.update(_held_out_eval(method, par, host, eval_src, transform, config, workdir))
        if text_baseline is not None:
            scores["eval_unigram_bits_per_byte"] = text_baseline
        results.update(scores)
        writer.write(stop, _scalars(scores), prefix="final")
    writer.close()
    ckpt.close()
    results["wall_s"] = time.time() - t0
    if main and stop == total_steps:
        _finish(workdir, results, embeddings, config)
    if main:
        print(summary_line(results, config), flush=True)
    return results


def _scalars(scores: dict) -> dict:
    """The top-level numbers of ``scores`` (what goes to metrics.jsonl and TensorBoard)."""
    return {
        k: v for k, v in scores.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }


def _finish(workdir: str, results: dict, embeddings, config) -> None:
    _save_json(workdir, "results.json", results)
    if embeddings is not None and config.eval.embeddings:
        feats, labels = embeddings
        n = config.eval.embeddings
        np.savez_compressed(
            os.path.join(workdir, "embeddings.npz"), features=feats[:n], labels=labels[:n]
        )


def _model_state(state: TrainState) -> dict:
    return {"batch_stats": state.batch_stats, "method": state.method_state}


def _final_eval(method, par, host, create, features, bank_src, eval_src, config):
    """kNN, linear probe and k-means of the encoder (and of the baselines).

    Returns ``(scores, (eval features, eval labels))`` of the encoder itself.
    """
    options = {"probe": config.eval.linear_probe, "kmeans": config.eval.kmeans}
    candidates = [("", host.params, _model_state(host), False)]
    if config.eval.baselines:
        init = jax.jit(create)()
        candidates.append(("random_init_", init.params, _model_state(init), False))
        candidates.append(("pixels_", None, None, True))
    out, embeddings = {}, None
    for prefix, params, model_state, raw in candidates:
        scores, query = _evaluate(
            features, params, model_state, bank_src, eval_src, config, raw=raw, **options
        )
        embeddings = embeddings or query
        out.update({prefix + k: v for k, v in scores.items()})
    return out, embeddings


def _held_out_eval(method, par, host, eval_src, transform, config, workdir) -> dict:
    """Held-out means of the method's ``eval_terms``; its ``pictures`` as PNG grids.

    Returns ``{'eval_<name>': ...}``: each term's mean over the eval split's
    examples, or what the method's ``summarize`` makes of those means (ratios
    such as bits per byte); and ``'pictures': {name: path}``.
    """
    out: dict[str, Any] = {}
    if hasattr(method, "eval_terms"):
        terms = Features(method.eval_terms, par, config, transform)
        values, _ = terms(host.params, _model_state(host), eval_src)
        means = {name: float(np.mean(values[:, i])) for i, name in enumerate(method.EVAL_TERMS)}
        if hasattr(method, "summarize"):
            means = {k: float(v) for k, v in method.summarize(means).items()}
        out.update({f"eval_{k}": v for k, v in means.items()})
    if hasattr(method, "pictures"):
        images = _picture_images(eval_src, transform, config)
        if images is not None and jax.process_index() == 0:
            out["pictures"] = _save_pictures(method, host, images, config, workdir)
    return out


def _picture_images(source, transform, config) -> np.ndarray | None:
    """The first ``config.generative.pictures`` images of ``source`` (None for none)."""
    n = min(config.generative.pictures, len(source))
    if not n:
        return None
    records = [source[i] for i in range(n)]
    if transform is not None:
        records = [transform(dict(r)) for r in records]
    return np.stack([np.asarray(r[config.image_key]) for r in records])


def _save_pictures(method, host, images, config, workdir, step: int | None = None) -> dict:
    """``method.pictures`` as PNG grids: ``WORKDIR/<name>.png``, or ``pictures/<name>_<step>.png``.

    The noise is the same at every call (the run's seed), so grids from
    different steps show the same latent points.
    """
    grids = jax.jit(method.pictures)(
        host.params, _model_state(host), images, jax.random.key(config.seed)
    )
    if step is None:
        paths = {name: os.path.join(workdir, f"{name}.png") for name in grids}
    else:
        paths = {name: os.path.join(workdir, "pictures", f"{name}_{step}.png") for name in grids}
    return {name: save_grid(paths[name], np.asarray(grid), scale=4) for name, grid in grids.items()}


def _classifier_eval(method, par, host, features, train_src, fit_src, eval_src, labelled, config):
    """Test metrics of the fine-tuned classifier, kNN on its encoder, pseudo-label sweep."""
    params, model_state = host.params, _model_state(host)
    logits_of = Features(method.logits, par, config, features.transform)
    logits, test_y = logits_of(params, model_state, eval_src)
    metrics = classification_metrics(test_y, logits, num_classes=config.num_classes)
    out: dict[str, Any] = {k: metrics[k] for k in ("top1", "top5") if k in metrics}
    out["metrics"] = metrics
    scores, embeddings = _evaluate(
        features, params, model_state, fit_src, eval_src, config, probe=False
    )
    out.update(scores)
    if labelled is not None and config.finetune.pseudo_label_thresholds:
        train_logits, train_y = logits_of(params, model_state, train_src)
        train_feats, _ = features(params, model_state, train_src)
        out["pseudo_labels"] = pseudo_label_sweep(
            train_feats,
            train_y,
            labelled,
            np.asarray(jax.nn.softmax(train_logits, axis=-1)),
            embeddings[0],
            test_y,
            thresholds=tuple(config.finetune.pseudo_label_thresholds),
            num_classes=config.num_classes,
            **_probe_settings(config),
        )
    return out, embeddings


def _probe_program(
    config, workdir, par, method, sample, transform, train_src, eval_src, t0
) -> dict:
    """``method = linear_probe``: kNN, linear probe and k-means of ``init_from``'s encoder."""
    main = jax.process_index() == 0

    def create() -> TrainState:
        return create_state(method, optax.identity(), jax.random.key(config.seed), sample)

    host = jax.device_get(jax.jit(create)())
    if config.init_from:
        params, batch_stats = load_pretrained(
            config.init_from, host.params, host.batch_stats, method.init_from_keys
        )
        host = host.replace(params=params, batch_stats=batch_stats)
        origin = f"encoder from {config.init_from}"
    else:
        origin = "random-init encoder (config.init_from is empty)"
    os.makedirs(workdir, exist_ok=True)
    if main:
        _save_json(workdir, "config.json", config.to_dict())
        print(f"jaxssl: linear_probe on {config.dataset}, {origin}; workdir {workdir}", flush=True)
    features = Features(method.features, par, config, transform)
    scores, embeddings = _final_eval(
        method, par, host, create, features, train_src, eval_src, config
    )
    results = {"steps": 0, "total_steps": 0, **scores, "wall_s": time.time() - t0}
    if main:
        writer = MetricWriter(workdir)
        writer.write(0, _scalars(scores), prefix="final")
        writer.close()
        _finish(workdir, results, embeddings, config)
        print(summary_line(results, config), flush=True)
    return results


def summary_line(results: dict, config: ml_collections.ConfigDict) -> str:
    """The run's one-line result on the eval split, with baselines and wall time."""
    held_out = [k for k in results if k.startswith("eval_")]
    if "knn_top1" not in results and held_out:  # language models
        parts = ", ".join(f"{k[5:]} {results[k]:.4f}" for k in held_out)
        return (
            f"{config.method} ({config.encoder}) on {config.dataset}:{config.eval_split}: "
            f"held-out {parts} | {results['steps']} steps, {results['wall_s']:.0f} s"
        )
    if "knn_top1" not in results:
        return (
            f"stopped at step {results['steps']} of {results['total_steps']}; "
            f"{results['wall_s']:.0f} s"
        )

    def scores(prefix: str) -> str:
        parts = [f"kNN {results[prefix + 'knn_top1']:.4f}"]
        if prefix + "linear_top1" in results:
            parts.append(f"linear probe {results[prefix + 'linear_top1']:.4f}")
        if prefix + "kmeans_acc" in results:
            parts.append(f"k-means {results[prefix + 'kmeans_acc']:.4f}")
        return ", ".join(parts)

    where = f"{config.dataset}:{config.eval_split}"
    if config.method == "classifier":
        line = f"classifier on {where}: top-1 {results['top1']:.4f}"
        if "top5" in results:
            line += f", top-5 {results['top5']:.4f}"
        line += f", encoder kNN {results['knn_top1']:.4f}"
        if "labelled_examples" in results:
            line += f" | {results['labelled_examples']} labelled training examples"
        if "pseudo_labels" in results:
            sweep = results["pseudo_labels"]
            rows = ", ".join(
                f"{r['threshold']:g}: +{r['pseudo_labelled']} {r['top1']:.4f}"
                for r in sweep["rows"]
            )
            line += (
                f" | pseudo-labels (threshold: added, top-1 of a linear student): "
                f"none {sweep['labelled_only_top1']:.4f}, {rows}"
            )
    else:
        name = "encoder" if config.method == "linear_probe" else f"{config.method} encoder"
        line = f"{name} on {where}: {scores('')}"
        if held_out:
            line += " | held-out " + ", ".join(f"{k[5:]} {results[k]:.4f}" for k in held_out)
        if "pictures" in results:
            line += " | pictures: " + ", ".join(results["pictures"].values())
        if "random_init_knn_top1" in results:
            line += f" | random-init encoder: {scores('random_init_')}"
            line += f" | raw pixels: {scores('pixels_')}"
    return line + f" | {results['steps']} steps, {results['wall_s']:.0f} s"
