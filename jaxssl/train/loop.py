"""The training program: data, method, optimizer, devices, checkpoints, logs, evaluation.

:func:`run` is what ``train.py`` calls. Everything it needs is in the config
(:mod:`jaxssl.train.config`); it checks the config, the device count and the
dataset before compiling anything, resumes from the workdir's newest
checkpoint when there is one, and ends with a kNN and linear-probe evaluation
of the encoder on held-out data.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import jax
import ml_collections
import numpy as np
from tqdm.auto import tqdm

from jaxssl import methods
from jaxssl.data import datasets
from jaxssl.data.loader import make_loader
from jaxssl.eval.cluster import kmeans_scores
from jaxssl.eval.knn import knn_accuracy
from jaxssl.eval.probe import sklearn_linear_probe
from jaxssl.train import config as config_lib
from jaxssl.train.checkpoint import Checkpointer, restore_params
from jaxssl.train.logging import MetricWriter
from jaxssl.train.optim import make_optimizer, make_schedule
from jaxssl.train.parallel import Parallel, check_batch_size, make_mesh
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
    """Extracts a method's features (and labels) for a whole split, over every device."""

    def __init__(self, method, par: Parallel, config: ml_collections.ConfigDict, transform):
        self.par = par
        self.config = config
        self.transform = transform
        local_devices = len(par.local_devices)
        per_process = max(config.eval.batch_size // jax.process_count(), local_devices)
        self.batch_size = per_process // local_devices * local_devices
        self._fn = jax.jit(method.features, out_shardings=par.replicated)

    def _batches(self, source, limit: int):
        n = min(len(source), limit) if limit else len(source)
        indices = _Subset(source, n)
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
            labels.append(batch[label][:size])
        feats, labels = np.concatenate(feats), np.concatenate(labels)
        if jax.process_count() > 1:
            from jax.experimental import multihost_utils

            # Processes hold equal shards (the loader drops the remainder), so
            # the gathered arrays line up.
            feats = np.asarray(multihost_utils.process_allgather(feats, tiled=True))
            labels = np.asarray(multihost_utils.process_allgather(labels, tiled=True))
        return feats, labels


class _Subset:
    """The first ``n`` records of a source."""

    def __init__(self, source, n: int):
        self.source, self.n = source, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        return self.source[i]


def _evaluate(
    features, params, state, train_src, eval_src, config, *, probe: bool, raw=False, kmeans=False
):
    limit = config.eval.max_train_examples
    bank, bank_y = features(params, state, train_src, limit=limit, raw=raw)
    query, query_y = features(params, state, eval_src, raw=raw)
    num_classes = int(max(bank_y.max(), query_y.max())) + 1
    out = {
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
        out["linear_top1"] = sklearn_linear_probe(bank, bank_y, query, query_y)
    if kmeans:
        out.update(kmeans_scores(query, query_y, seed=config.seed))
    return out


def _abstract(create, par: Parallel):
    shapes = jax.eval_shape(create)
    return jax.tree.map(
        lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=par.replicated), shapes
    )


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
    """Trains (or resumes) the run ``config`` in ``workdir``; returns the final results.

    Writes ``WORKDIR/config.json``, ``metrics.jsonl``, ``tensorboard/``,
    ``checkpoints/`` and, after the last step, ``results.json``.

    Raises:
      ValueError: an unknown config key or bad value, a batch size that does
        not divide over the devices, a dataset smaller than one batch.
      FileNotFoundError: the dataset is not prepared (the message has the
        command that prepares it).
    """
    t0 = time.time()
    config_lib.validate(config)
    maybe_initialize_distributed()
    par = Parallel(make_mesh(), config.parallel)
    check_batch_size(config.batch_size, par.num_devices, jax.process_count())
    data_dir = config.data_dir or None
    train_src = datasets.data_source(config.dataset, config.train_split, data_dir)
    need_eval = config.eval.final or config.eval.knn_every_steps > 0
    eval_src = (
        datasets.data_source(config.dataset, config.eval_split, data_dir) if need_eval else None
    )
    steps_per_epoch = len(train_src) // config.batch_size
    if steps_per_epoch == 0:
        raise ValueError(
            f"config.batch_size={config.batch_size} is larger than the {len(train_src)} "
            f"examples of {config.dataset}:{config.train_split}."
        )
    total_steps = config.num_steps or config.num_epochs * steps_per_epoch
    stop = min(config.stop_at_step or total_steps, total_steps)
    schedule = make_schedule(config.optim, config.batch_size, total_steps, steps_per_epoch)
    tx = make_optimizer(config.optim, schedule)
    method = methods.build(config, par.axis_name)
    transform = _host_transform(config.load_size, config.image_key)
    loader = make_loader(
        train_src,
        batch_size=config.batch_size // jax.process_count(),
        seed=config.seed,
        num_epochs=None,
        worker_count=config.worker_count,
        transform=transform,
    )
    iterator = iter(loader)
    sample = _sample_batch(train_src, transform, config.image_key)

    def create() -> TrainState:
        return create_state(method, tx, jax.random.key(config.seed), sample)

    main = jax.process_index() == 0
    os.makedirs(workdir, exist_ok=True)
    ckpt = Checkpointer(
        os.path.join(workdir, "checkpoints"),
        every_steps=config.checkpoint.every_steps,
        keep=config.checkpoint.keep,
        async_save=config.checkpoint.async_save,
    )
    latest = ckpt.latest_step()
    if latest is not None:
        state = par.to_device(ckpt.restore(latest, _abstract(create, par), iterator))
        origin = f"resumed from step {latest}"
    else:
        state = par.init(create)
        origin = "fresh"
        if config.init_from:
            host = par.from_device(state)
            params = restore_params(config.init_from, jax.device_get(host.params))
            state = par.to_device(host.replace(params=params))
            origin = f"parameters from {config.init_from}"
    if main:
        with open(os.path.join(workdir, "config.json"), "w") as f:
            json.dump(config.to_dict(), f, indent=2, sort_keys=True)
        print(
            f"jaxssl: {config.method} on {config.dataset}, {par.num_devices} device(s) "
            f"({jax.devices()[0].platform}, {config.parallel}), global batch {config.batch_size}, "
            f"{total_steps} steps, {origin}; workdir {workdir}",
            flush=True,
        )
    step_fn = par.compile_step(make_train_step(method, tx, schedule=schedule))
    writer = MetricWriter(workdir)
    features = Features(method, par, config, transform)

    start = int(jax.device_get(par.from_device(state).step))
    bar = tqdm(total=stop, initial=start, disable=not main, desc="train", unit="step")
    last_time, last_step = time.time(), start
    try:
        for step in range(start, stop):
            state, metrics = step_fn(state, par.put_batch(next(iterator)))
            done = step + 1
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
            if done == stop or ckpt.should_save(done):
                ckpt.save(done, par.from_device(state), iterator, config, force=done == stop)
                if ckpt.reached_preemption(done):
                    bar.write(f"preempted: saved step {done} in {ckpt.directory}; rerun to resume")
                    stop = done
                    break
            if config.eval.knn_every_steps and done % config.eval.knn_every_steps == 0:
                host = par.from_device(state)
                monitor = _evaluate(
                    features,
                    host.params,
                    _model_state(host),
                    train_src,
                    eval_src,
                    config,
                    probe=False,
                )
                writer.write(done, monitor, prefix="eval")
                bar.write(f"step {done}: kNN top-1 {monitor['knn_top1']:.4f}")
            bar.update(1)
    finally:
        bar.close()
        ckpt.wait()
    results: dict[str, Any] = {"steps": stop, "total_steps": total_steps}
    if stop == total_steps and config.eval.final:
        scores = _final_eval(method, par, state, create, features, train_src, eval_src, config)
        results.update(scores)
        writer.write(stop, scores, prefix="final")
    writer.close()
    ckpt.close()
    results["wall_s"] = time.time() - t0
    if main and stop == total_steps:
        with open(os.path.join(workdir, "results.json"), "w") as f:
            json.dump(results, f, indent=2, sort_keys=True)
    if main:
        print(summary_line(results, config), flush=True)
    return results


def _model_state(state: TrainState) -> dict:
    return {"batch_stats": state.batch_stats, "method": state.method_state}


def _final_eval(method, par, state, create, features, train_src, eval_src, config) -> dict:
    """kNN, linear probe and k-means of the trained encoder (and of the baselines)."""
    options = {"probe": config.eval.linear_probe, "kmeans": config.eval.kmeans}
    host = par.from_device(state)
    candidates = [("", host.params, _model_state(host), False)]
    if config.eval.baselines:
        init = jax.jit(create)()
        candidates.append(("random_init_", init.params, _model_state(init), False))
        candidates.append(("pixels_", None, None, True))
    out = {}
    for prefix, params, model_state, raw in candidates:
        scores = _evaluate(
            features, params, model_state, train_src, eval_src, config, raw=raw, **options
        )
        out.update({prefix + k: v for k, v in scores.items()})
    return out


def summary_line(results: dict, config: ml_collections.ConfigDict) -> str:
    """The run's one-line result: kNN and linear probe on the eval split, baselines, wall time."""
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

    line = f"{config.method} encoder on {config.dataset}:{config.eval_split}: {scores('')}"
    if "random_init_knn_top1" in results:
        line += f" | random-init encoder: {scores('random_init_')}"
        line += f" | raw pixels: {scores('pixels_')}"
    return line + f" | {results['steps']} steps, {results['wall_s']:.0f} s"
