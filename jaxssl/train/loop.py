"""The shared pieces of every program: devices and data, the step loop, the run's files.

A program (:mod:`jaxssl.programs`) is built from three calls:

1. :func:`setup`: distributed start-up, the device mesh, the batch-size
   check, the train and eval sources (with the program's own ``prepare``
   step: packed text rows, a labelled subset), the host transform and a
   sample batch. Returns a :class:`Context`.
2. :func:`train`: the checkpointer (resume from the workdir's newest
   checkpoint, else ``config.init_from``, else fresh), the method built for
   the run's length, the optimizer, ``config.json``, the compiled step, and
   the loop itself with metrics, the non-finite guard, SIGTERM/SIGINT,
   preemption and the program's periodic :class:`Hook` s. Returns a
   :class:`Trained`.
3. :func:`finish`: the final numbers to ``metrics.jsonl``/TensorBoard,
   ``results.json``, ``embeddings.npz`` and the summary line.

Nothing here knows a method or a program by name; what a method can do is
asked through :mod:`jaxssl.methods.protocol`.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import ml_collections
import numpy as np
import optax
from jax.experimental import multihost_utils
from tqdm.auto import tqdm

from jaxssl.data import datasets
from jaxssl.data.host import resize_center_crop, sample_batch
from jaxssl.data.loader import make_loader
from jaxssl.data.subsets import check_labels
from jaxssl.methods import protocol
from jaxssl.train import config as config_lib
from jaxssl.train.checkpoint import Checkpointer, latest_checkpoint, load_pretrained
from jaxssl.train.launch import maybe_initialize_distributed
from jaxssl.train.logging import MetricWriter, open_log
from jaxssl.train.optim import make_optimizer, make_schedule, warmup_warning
from jaxssl.train.parallel import (
    Parallel,
    check_batch_size,
    check_mode,
    make_mesh,
    select_devices,
)
from jaxssl.train.state import TrainState, create_state
from jaxssl.train.steps import make_train_step


@dataclasses.dataclass
class Context:
    """What every program starts from.

    Attributes:
      config: the run's config (a copy; programs fill in ``num_classes`` etc.).
      workdir: the run directory.
      par: devices and how the step is compiled.
      train_src: the training split (after the program's ``prepare``).
      eval_src: the evaluation split, or None when nothing is evaluated.
      fit_src: what the loop trains on (``train_src`` or a labelled subset of it).
      transform: the host transform of records (None: images as stored).
      sample: a one-example batch, for ``init`` shapes.
      main: whether this is process 0 (logs, results, pictures).
      t0: the run's start (``time.time()``), for ``wall_s``.
      extras: what the program's ``prepare`` returned besides the sources.
    """

    config: ml_collections.ConfigDict
    workdir: str
    par: Parallel
    train_src: Any
    eval_src: Any
    fit_src: Any
    transform: Callable | None
    sample: dict
    main: bool
    t0: float
    extras: dict = dataclasses.field(default_factory=dict)

    @property
    def record(self) -> ml_collections.ConfigDict:
        """The config as the run records it (``config.json``, checkpoints): its method's part."""
        return config_lib.method_config(self.config)


# prepare(config, train_src, eval_src) -> (train_src, eval_src, fit_src, extras)
Prepare = Callable[[ml_collections.ConfigDict, Any, Any], tuple[Any, Any, Any, dict]]


def setup(
    config: ml_collections.ConfigDict,
    workdir: str,
    t0: float,
    *,
    trains: bool = True,
    need_eval: bool,
    num_classes_from_data: bool = False,
    prepare: Prepare | None = None,
) -> Context:
    """Devices, sources, host transform and sample batch of a run (see the module docstring).

    Args:
      config: the validated run config; changed in place (``num_classes``,
        whatever ``prepare`` sets).
      workdir: the run directory (not created here).
      t0: the run's start time.
      trains: False for a program that trains nothing (no batch to split).
      need_eval: whether the eval split is read.
      num_classes_from_data: fill ``config.num_classes`` from the dataset's
        metadata when it is 0.
      prepare: the program's own data step.
    """
    maybe_initialize_distributed(config.heartbeat_timeout_s)
    check_mode(config.parallel, jax.process_count())
    par = Parallel(make_mesh(select_devices(config.num_devices)), config.parallel)
    if trains:
        check_batch_size(config.batch_size, par.num_devices, jax.process_count())
    data_dir = config.data_dir or None
    if data_dir is not None and os.path.exists(data_dir) and not os.path.isdir(data_dir):
        raise ValueError(f"config.data_dir must be a directory, got {data_dir!r} (a file).")
    train_src = _open_split(config, "train_split", data_dir)
    if need_eval and not getattr(train_src, "labelled", True):  # an unlabelled image folder
        if jax.process_index() == 0:
            print(
                f"jaxssl: {config.dataset} is unlabelled (no class folders): the kNN monitor "
                "and the final evaluation (kNN, linear probe, k-means) are skipped.",
                file=sys.stderr,
                flush=True,
            )
        config.eval.final, config.eval.knn_every_steps, need_eval = False, 0, False
    if num_classes_from_data:
        _check_num_classes(config, train_src)
    eval_src = _open_split(config, "eval_split", data_dir) if need_eval else None
    fit_src, extras = train_src, {}
    if prepare is not None:
        train_src, eval_src, fit_src, extras = prepare(config, train_src, eval_src)
    transform = resize_center_crop(config.load_size, config.image_key)
    return Context(
        config=config,
        workdir=workdir,
        par=par,
        train_src=train_src,
        eval_src=eval_src,
        fit_src=fit_src,
        transform=transform,
        sample=sample_batch(train_src, transform, config.image_key),
        main=jax.process_index() == 0,
        t0=t0,
        extras=extras,
    )


def _open_split(config: ml_collections.ConfigDict, key: str, data_dir: str | None):
    """The data source of ``config[key]`` (a split name); a bad split names the key."""
    split = config[key]
    try:
        return datasets.data_source(
            config.dataset, split, data_dir, config.idx_dir or None, any_size=bool(config.load_size)
        )
    except ValueError as error:  # TFDS: "Unknown split 'validation'. Should be one of [...]"
        if "split" not in str(error).lower():
            raise  # not about the split (a damaged idx file names itself)
        raise ValueError(f"config.{key}={split!r} of {config.dataset!r}: {error}") from None


def _check_num_classes(config: ml_collections.ConfigDict, train_src) -> None:
    """Fills ``config.num_classes`` from the data (when 0); ValueError when it is too small.

    Labels at or above ``num_classes`` would be silently dropped by the one-hot
    cross-entropy, and the confusion matrix would have too few rows.
    """
    if not config.num_classes:
        config.num_classes = datasets.num_classes(train_src, config.label_key)
        return
    try:
        count = datasets.num_classes(train_src, config.label_key)
    except ValueError:  # no metadata to compare with (a folder without it, say)
        return
    if config.num_classes < count:
        raise ValueError(
            f"config.num_classes={config.num_classes} is below the {count} classes of "
            f"{config.dataset}:{config.train_split} ({config.label_key!r}); set it to "
            f"{count}, or 0 to take it from the data."
        )


def model_state(state: TrainState) -> dict:
    """The ``state`` argument of a method's functions: BatchNorm statistics and method state."""
    return {"batch_stats": state.batch_stats, "method": state.method_state}


def save_json(workdir: str, name: str, value: dict) -> None:
    """``WORKDIR/name`` as indented JSON, written atomically."""
    # Written to a temporary name first: an interrupted write never leaves a
    # truncated file in place of a good one.
    path = os.path.join(workdir, name)
    with open(path + ".tmp", "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
    os.replace(path + ".tmp", path)


def scalars(scores: dict) -> dict:
    """The top-level numbers of ``scores`` (what goes to metrics.jsonl and TensorBoard)."""
    return {
        k: v for k, v in scores.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }


def _init_from_keys(method) -> tuple[str, ...] | None:
    """What ``config.init_from`` copies into ``method``: its declared keys, or everything."""
    return method.init_from_keys if protocol.has(method, protocol.InitFromKeys) else None


def _abstract(create, par: Parallel):
    shapes = jax.eval_shape(create)
    return jax.tree.map(
        lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=par.replicated), shapes
    )


@contextlib.contextmanager
def _on_stop_signals(handle):
    """``handle(signum, frame)`` for SIGTERM and SIGINT inside the block, then the old ones.

    Main thread only (Python delivers signals there); elsewhere nothing changes.
    With several processes SIGTERM is left to JAX (see :class:`_StopSignals`).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = (signal.SIGTERM, signal.SIGINT) if jax.process_count() == 1 else (signal.SIGINT,)
    previous = {sig: signal.signal(sig, handle) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _StopSignals:
    """SIGTERM and SIGINT ask the loop to finish its step, save and stop.

    Installed only in the main thread, for the training loop only; the
    previous handlers come back afterwards. A second Ctrl-C stops at once
    (``KeyboardInterrupt``); the newest complete checkpoint is then the one
    to resume from.

    With several processes the stop must come at one step in all of them,
    though a signal may reach them at different steps, or reach one alone:
    SIGTERM is left to JAX's preemption service (``jax.distributed`` installs
    its handler), which agrees on a step with every process, and the loop
    stops there (``Checkpointer.reached_preemption``); SIGINT is turned into a
    SIGTERM of this process, so Ctrl-C takes the same way.
    """

    def __init__(self):
        self.received: str | None = None
        self._asked = False
        self._several = jax.process_count() > 1
        self._installed = _on_stop_signals(self._handle)

    def __enter__(self):
        self._installed.__enter__()
        return self

    def _handle(self, signum, frame):
        del frame
        if self._asked and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self._asked = True
        if self._several:  # to JAX's handler; the step comes from reached_preemption
            os.kill(os.getpid(), signal.SIGTERM)
        else:
            self.received = signal.Signals(signum).name

    def __exit__(self, *exc):
        return self._installed.__exit__(*exc)


def explained_stop(what: str, kept: str):
    """SIGTERM or SIGINT during ``what`` (nothing to save there): say so, then stop.

    The message names ``what`` was interrupted and what is ``kept``, and that
    the same command finishes the work. SIGTERM then exits with status 143
    (what it would have without a word); SIGINT raises ``KeyboardInterrupt``.
    Main thread only, like :class:`_StopSignals`; the handlers come back after.
    """

    def handle(signum, frame):
        del frame
        print(
            f"stopped by {signal.Signals(signum).name} during {what}: {kept}; rerun the same "
            "command to finish",
            file=sys.stderr,
            flush=True,
        )
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    return _on_stop_signals(handle)


@contextlib.contextmanager
def _closed_on_error(ckpt: Checkpointer):
    """Closes ``ckpt`` (its manager's threads) when the block raises, then re-raises."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):  # the block's error is the one to report
            ckpt.close()
        raise


def _check_resume(ckpt: Checkpointer, record: ml_collections.ConfigDict, workdir: str) -> dict:
    """ValueError when the run's checkpoints were written with a config that differs.

    Before anything is restored or moved: a changed optimizer, model, batch
    size... is refused by name (see :func:`jaxssl.train.config.check_resume`);
    returns the deliberate changes (``resume_override``) to record.
    """
    step = ckpt.latest_step()
    if step is None:
        return {}
    saved = ckpt.saved_config(step)
    if saved is None:  # an unreadable checkpoint: config.json of the run's last start
        try:
            with open(os.path.join(workdir, "config.json")) as f:
                saved = json.load(f)
        except (OSError, ValueError):
            return {}
    return config_lib.check_resume(saved, record, f"{workdir} (step {step})")


def _record_changes(workdir: str, step: int, changes: dict) -> None:
    """Appends a deliberate resume change to ``WORKDIR/resume_history.jsonl`` and says so."""
    row = {
        "step": step,
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "changes": {k: list(v) for k, v in changes.items()},
    }
    with open(os.path.join(workdir, "resume_history.jsonl"), "a") as f:
        f.write(json.dumps(row) + "\n")
    shown = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changes.items())
    print(f"resuming from step {step} with changed keys (resume_override): {shown}", flush=True)


class _Guard:
    """Stops the run on a non-finite step, or on too many skipped ones.

    Without ``skip``: ``FloatingPointError`` at the first step whose loss,
    gradient norm or updated state was not finite. With ``skip`` such steps
    are dropped by the step itself, and the guard stops the run when more
    than ``max_fraction`` of the last :attr:`WINDOW` steps were dropped: a run
    that skips most of its updates is failing, not training.
    """

    WINDOW = 100

    def __init__(self, par: Parallel, ckpt: Checkpointer, skip: bool, max_fraction: float):
        self.par, self.ckpt, self.skip, self.max_fraction = par, ckpt, skip, max_fraction
        self.recent = collections.deque(maxlen=self.WINDOW)

    def __call__(self, step: int, metrics) -> None:
        bad = int(jax.device_get(self.par.from_device(metrics)["nonfinite"]))
        if self.skip:
            self.recent.append(bad)
            skipped = sum(self.recent)
            if skipped <= self.max_fraction * self.WINDOW:
                return
            what = (
                f"{skipped} of the last {len(self.recent)} steps up to step {step} were skipped "
                f"(non-finite loss, gradient norm or updated state), more than "
                f"config.max_skipped_fraction={self.max_fraction} of {self.WINDOW}"
            )
        elif not bad:
            return
        else:
            what = f"non-finite loss, gradient norm or updated state at step {step}"
        last = self.ckpt.latest_step()
        where = f"step {last} in {self.ckpt.directory}" if last is not None else "none"
        advice = "" if self.skip else " or set config.skip_nonfinite_steps=True to skip them"
        raise FloatingPointError(
            f"{what}; training stopped and nothing after it was saved. Last good "
            f"checkpoint: {where}. Lower the learning rate or clip gradients "
            f"(config.optim.clip_norm){advice}."
        )


class Report:
    """What a hook may write to: ``metrics.jsonl``/TensorBoard and the console (above the bar)."""

    def __init__(self, writer: MetricWriter, bar):
        self.writer = writer
        self._bar = bar

    def metrics(self, step: int, values: dict, prefix: str) -> None:
        """Records ``values`` at ``step`` under ``prefix``."""
        self.writer.write(step, values, prefix=prefix)

    def print(self, message: str) -> None:
        """A line on the console that does not break the progress bar."""
        self._bar.write(message)


@dataclasses.dataclass(frozen=True)
class Hook:
    """Something a program does every ``every`` steps during training (0: never).

    ``fn(step, host_state, report)`` gets the step just finished, the state
    on the host (:class:`TrainState`) and a :class:`Report`.
    """

    every: int
    fn: Callable[[int, TrainState, Report], None]


@dataclasses.dataclass
class Trained:
    """What :func:`train` leaves for the program's final evaluation.

    Attributes:
      method: the method built for the run.
      state: the final state, on the devices.
      stop: the last step taken (``total_steps`` unless stopped early).
      total_steps: the schedule's length.
      create: ``() -> TrainState``, the fresh state (the random-init baseline).
      writer: the metric writer (closed by :func:`finish`).
      ckpt: the checkpointer (closed by :func:`finish`).
    """

    method: Any
    state: TrainState
    stop: int
    total_steps: int
    create: Callable[[], TrainState]
    writer: MetricWriter
    ckpt: Checkpointer

    @property
    def complete(self) -> bool:
        """Whether the run reached the end of its schedule."""
        return self.stop == self.total_steps


def train(
    ctx: Context,
    build: Callable[[int], Any],
    *,
    hooks: Callable[[Any], Sequence[Hook]] = lambda method: (),
    note: str = "",
) -> Trained:
    """Trains (or resumes) ``ctx``'s run; see the module docstring.

    The caller holds the workdir (:class:`jaxssl.train.workdir.WorkdirLock`,
    which has also checked that every process can write it).

    Args:
      ctx: from :func:`setup`.
      build: ``num_steps -> method``, called once the run's length is known.
      hooks: ``method -> hooks``, the program's periodic work (built after
        the method, before the first step).
      note: added to the start-up line after the dataset (``", 14 labelled
        examples"``).
    """
    config, workdir, par = ctx.config, ctx.workdir, ctx.par
    steps_per_epoch = len(ctx.fit_src) // config.batch_size
    if steps_per_epoch == 0 and not config.num_steps:
        raise ValueError(
            f"config.batch_size={config.batch_size} is larger than the {len(ctx.fit_src)} "
            f"training examples of {config.dataset}:{config.train_split}; lower it, or set "
            "config.num_steps (batches then run across epoch boundaries)."
        )
    steps_per_epoch = max(steps_per_epoch, 1)
    ckpt = Checkpointer(
        os.path.join(workdir, "checkpoints"),
        every_steps=config.checkpoint.every_steps,
        keep=config.checkpoint.keep,
        async_save=config.checkpoint.async_save,
    )
    record = ctx.record
    with _closed_on_error(ckpt):
        if config.init_from and ckpt.latest_step() is None:
            latest_checkpoint(config.init_from)  # a missing one fails now, before compiling
        total_steps = config.num_steps or config.num_epochs * steps_per_epoch
        stop = min(config.stop_at_step or total_steps, total_steps)
        method = build(total_steps)
        schedule = make_schedule(config.optim, config.batch_size, total_steps, steps_per_epoch)
        tx = make_optimizer(config.optim, schedule)
        if protocol.has(method, protocol.OwnUpdate):  # several networks: one optimizer each
            tx = method.optimizer(tx)

        def create() -> TrainState:
            return create_state(method, tx, jax.random.key(config.seed), ctx.sample)

        changes = _check_resume(ckpt, record, workdir)
        restored = ckpt.restore_latest(
            _abstract(create, par), warn=lambda m: print(m, file=sys.stderr, flush=True)
        )
        # the data position is the step: the loader restarts at the batch the
        # checkpoint's step would read next (see jaxssl.train.checkpoint)
        loader = make_loader(
            ctx.fit_src,
            batch_size=config.batch_size // jax.process_count(),
            seed=config.seed,
            num_epochs=None,
            worker_count=config.worker_count,
            read_threads=config.read_threads,
            transform=ctx.transform,
            start_batch=restored[1] if restored is not None else 0,
        )
        iterator = iter(loader)
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
                    config.init_from, host.params, host.batch_stats, _init_from_keys(method)
                )
                state = par.to_device(host.replace(params=params, batch_stats=batch_stats))
                origin = f"parameters from {config.init_from}"
        if ctx.main:
            if restored is not None and changes:
                _record_changes(workdir, restored[1], changes)
            save_json(workdir, "config.json", record.to_dict())
            print(
                f"jaxssl: {config.method} on {config.dataset}{note}, {par.num_devices} "
                f"device(s) ({jax.devices()[0].platform}, {config.parallel}), global batch "
                f"{config.batch_size}, {total_steps} steps, {origin}; workdir {workdir}",
                flush=True,
            )
            warning = warmup_warning(config.optim, total_steps, steps_per_epoch)
            if warning:
                print(warning, file=sys.stderr, flush=True)
        step_fn = par.compile_step(
            make_train_step(
                method, tx, schedule=schedule, skip_nonfinite=config.skip_nonfinite_steps
            )
        )
        ids_log = (
            open_log(os.path.join(workdir, "example_ids.jsonl"))
            if ctx.main and config.log_example_ids
            else None
        )
        writer = MetricWriter(workdir)
        periodic = [hook for hook in hooks(method) if hook.every]

    start = int(jax.device_get(par.from_device(state).step))
    bar = tqdm(total=stop, initial=start, disable=not ctx.main, desc="train", unit="step")
    report = Report(writer, bar)
    last_time, last_step = time.time(), start
    guard = _Guard(par, ckpt, config.skip_nonfinite_steps, config.max_skipped_fraction)
    # The guard reads each step's finiteness flag one step late, so the host
    # never waits for the step it just launched; before a save it waits.
    pending = None
    # Each batch's labels are checked on the host (a comparison of B integers)
    # where the run has a class count: a label beyond it would train silently.
    labelled = config.num_classes > 0
    split = f"{config.dataset}:{config.train_split}"
    with _StopSignals() as signals, _closed_on_error(ckpt):
        try:
            for step in range(start, stop):
                batch = next(iterator)
                if labelled and config.label_key in batch:
                    check_labels(batch[config.label_key], config.num_classes, split)
                state, metrics = step_fn(state, par.put_batch(batch))
                done = step + 1
                if config.log_example_ids:
                    ids = np.asarray(batch["index"])
                    if jax.process_count() > 1:  # every process's slice, in global order
                        ids = multihost_utils.process_allgather(ids, tiled=True)
                if ids_log is not None:
                    ids_log.write(json.dumps({"step": done, "ids": ids.tolist()}))
                    ids_log.write("\n")
                    ids_log.flush()
                if pending is not None:
                    guard(*pending)
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
                    guard(*pending)  # never save a non-finite state
                    pending = None
                    force = done == stop or signals.received is not None
                    ckpt.save(done, par.from_device(state), record, force=force)
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
                due = [hook for hook in periodic if done % hook.every == 0]
                if due:
                    host = par.from_device(state)
                    for hook in due:
                        hook.fn(done, host, report)
                bar.update(1)
            if pending is not None:
                guard(*pending)
        finally:
            bar.close()
            if ids_log is not None:
                ids_log.close()
            ckpt.wait()
    return Trained(method, state, stop, total_steps, create, writer, ckpt)


def finish(
    ctx: Context,
    trained: Trained | None,
    results: dict[str, Any],
    scores: dict[str, Any] | None,
    embeddings,
    summary: Callable[[dict, ml_collections.ConfigDict], str],
) -> dict[str, Any]:
    """Records the final evaluation and prints the summary line; returns ``results``.

    Args:
      ctx: the run.
      trained: from :func:`train`; None for a program that trained nothing.
      results: what the run reports besides the scores (``steps``, ...);
        ``scores`` and ``wall_s`` are added to it.
      scores: the final evaluation, or None when none was made.
      embeddings: ``(eval features, eval labels)`` for ``embeddings.npz``, or None.
      summary: ``(results, config) -> line``, the program's summary line.
    """
    config, workdir = ctx.config, ctx.workdir
    complete = trained is None or trained.complete
    if trained is None:
        writer = MetricWriter(workdir) if ctx.main else None
    else:
        writer = trained.writer
    if scores is not None:
        results.update(scores)
        # what the report needs to label its plots: the data and the class names
        results["evaluated_on"] = f"{config.dataset}:{config.eval_split}"
        names = datasets.class_names(ctx.eval_src, config.label_key) if ctx.eval_src else None
        if names is not None:
            results["class_names"] = names
        if writer is not None:
            writer.write(results["steps"], scalars(scores), prefix="final")
    if writer is not None:
        writer.close()
    if trained is not None:
        trained.ckpt.close()
    results["wall_s"] = time.time() - ctx.t0
    if ctx.main and complete:
        save_json(workdir, "results.json", results)
        if embeddings is not None and config.eval.embeddings:
            feats, labels = embeddings
            n = config.eval.embeddings
            np.savez_compressed(
                os.path.join(workdir, "embeddings.npz"), features=feats[:n], labels=labels[:n]
            )
    if ctx.main:
        line = summary(results, config)
        if config.skip_nonfinite_steps or results.get("skipped_steps"):
            line += f" | {results.get('skipped_steps', 0)} skipped steps (non-finite)"
        print(line, flush=True)
    return results


def initial_state(ctx: Context, method) -> tuple[TrainState, Callable[[], TrainState], str]:
    """A program that trains nothing: the fresh state with ``config.init_from``'s encoder.

    Returns ``(host state, create, origin)``: ``create`` makes the fresh
    state (the random-init baseline), ``origin`` says where the parameters
    came from, for the start-up line.
    """
    config = ctx.config

    def create() -> TrainState:
        return create_state(method, optax.identity(), jax.random.key(config.seed), ctx.sample)

    host = jax.device_get(jax.jit(create)())
    if not config.init_from:
        return host, create, "random-init encoder (config.init_from is empty)"
    params, batch_stats = load_pretrained(
        config.init_from, host.params, host.batch_stats, _init_from_keys(method)
    )
    host = host.replace(params=params, batch_stats=batch_stats)
    return host, create, f"encoder from {config.init_from}"
