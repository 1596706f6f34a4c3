"""Fault tolerance: killed and terminated runs resume exactly, damaged checkpoints, NaN guard."""

import dataclasses
import os
import signal
import subprocess
import time
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl.data import data_source, make_loader
from jaxssl.methods import registry
from jaxssl.train import run
from jaxssl.train.checkpoint import Checkpointer, CheckpointSaveError, read_state
from tests.conftest import DEVICE_COUNT_FLAG
from tests.train.conftest import ROOT, checkpoints, json_lines, logged_steps, tiny_command

# A run long enough to be killed at chosen points: 60 steps of the tiny
# model, an (asynchronous) checkpoint every 5, metrics every 5 steps and
# every step's example ids.
STEPS = 60
KILL_RUN = [
    f"--config.num_steps={STEPS}",
    "--config.checkpoint.every_steps=5",
    "--config.checkpoint.async_save=True",
    "--config.log_example_ids=True",
    "--config.log_every_steps=5",
    "--config.eval.final=False",
]


def _start(workdir, data_dir):
    """train.py in a subprocess on one CPU device.

    Resuming does not depend on the device count (8 devices = 1 is tested in
    test_steps.py), and on a 2-core machine one device runs these steps
    several times faster than 8 simulated ones. The subprocesses share the
    session's compilation cache (tests/conftest.py).
    """
    cmd = tiny_command(workdir, data_dir, *KILL_RUN)
    flags = os.environ.get("XLA_FLAGS", "").replace(DEVICE_COUNT_FLAG, "")
    env = dict(os.environ, XLA_FLAGS=flags.strip())
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for_lines(proc, workdir, lines, timeout=240):
    t0 = time.time()
    while logged_steps(workdir) < lines:
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"train.py ended (rc {proc.returncode}) early:\n{out}\n{err}")
        if time.time() - t0 > timeout:
            proc.kill()
            raise AssertionError(f"no progress to {lines} logged steps in {timeout} s")
        time.sleep(0.005)


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory, data_dir):
    """The same run without interruption: its workdir."""
    workdir = tmp_path_factory.mktemp("straight") / "w"
    proc = _start(workdir, data_dir)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    return workdir


@pytest.mark.slow
def test_killed_and_terminated_resumes_exactly(straight_run, tmp_path, data_dir, request):
    """SIGKILL at a random point, then SIGTERM at another, then a run to the end: bitwise equal.

    (Killing several times tests nothing more: each start resumes from the
    newest checkpoint alone. Two processes killed and resumed on another
    topology: tests/train/test_multiprocess.py.)
    """
    gen = np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
    workdir = tmp_path / "w"
    lines = 0
    for attempt in range(2):
        proc = _start(workdir, data_dir)
        # somewhere after at least one checkpoint exists and the process
        # has made progress of its own: the point is random within the run
        target = lines + int(gen.integers(7, 13))
        _wait_for_lines(proc, workdir, target)
        if attempt == 0:
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            assert proc.returncode == -signal.SIGKILL
        else:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err[-3000:]
            assert "stopped by SIGTERM after step" in out + err
            stopped = int((out + err).split("stopped by SIGTERM after step ")[1].split(":")[0])
            assert stopped in checkpoints(workdir)  # the signal's own checkpoint
        lines = logged_steps(workdir)
        assert checkpoints(workdir), "a checkpoint exists before the next start"
    proc = _start(workdir, data_dir)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    assert f"resumed from step {stopped}" in out

    # every step's batch: each logged occurrence (a step re-run after a kill
    # logs it again) has the uninterrupted run's example ids; none is missing
    want_ids = {r["step"]: r["ids"] for r in json_lines(straight_run / "example_ids.jsonl")}
    got = json_lines(workdir / "example_ids.jsonl")
    assert {r["step"] for r in got} == set(range(1, STEPS + 1)) == set(want_ids)
    for row in got:
        assert row["ids"] == want_ids[row["step"]], row["step"]
    # the metrics of every logged step (the last occurrence of a re-run one)
    # and the final state, to the bit
    want = {r["step"]: r for r in json_lines(straight_run / "metrics.jsonl")}
    have = {r["step"]: r for r in json_lines(workdir / "metrics.jsonl")}
    assert len(want) >= STEPS // 5
    for step, row in want.items():
        for key in ("loss", "grad_norm", "param_norm", "top1"):
            assert have[step][key] == row[key], (step, key)
    a, b = read_state(str(straight_run)), read_state(str(workdir))
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)
    # checkpoints are arrays and JSON, never pickle
    for root, _, files in os.walk(workdir / "checkpoints"):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                head = f.read(2)
            assert not (head[:1] == b"\x80" and head[1:2] in b"\x02\x03\x04\x05"), name


def _tiny(config, **changes):
    """The tiny config without final evaluation, on one of the 8 devices.

    Nothing here depends on the device count, and one device compiles and
    runs these steps several times faster than 8 simulated ones.
    """
    config.eval.final = False
    config.num_devices = 1
    for key, value in changes.items():
        section, _, name = key.rpartition(".")
        (config[section] if section else config)[name] = value
    return config


@pytest.mark.slow
def test_damaged_latest_checkpoint_falls_back_to_the_previous(tiny_config, tmp_path, capsys):
    workdir = tmp_path / "w"
    # stop_at_step: a checkpoint and no final results; the same command goes on
    results = run(_tiny(tiny_config, stop_at_step=8), str(workdir))
    assert results["steps"] == 8 and checkpoints(workdir) == [8]
    assert not (workdir / "results.json").exists()

    # another optimizer: refused by name, before anything is read or moved
    adamw = {"stop_at_step": 0, "optim.name": "adamw"}
    with pytest.raises(ValueError, match=r"(?s)optim\.name: 'sgd' in the run, 'adamw' now.*"):
        run(_tiny(tiny_config.copy_and_resolve_references(), **adamw), str(workdir))
    # named on purpose, its state still does not fit: a mismatch, never damage
    with pytest.raises(ValueError, match=r"another opt_state .*Nothing was moved"):
        changed = tiny_config.copy_and_resolve_references()
        run(_tiny(changed, **adamw, resume_override="optim.name"), str(workdir))
    assert checkpoints(workdir) == [8] and not (workdir / "damaged_checkpoints").exists()

    # a deliberate change of the learning rate goes on, and is recorded
    lower = {"optim.base_lr": 5e-3, "resume_override": "optim.base_lr"}
    run(_tiny(tiny_config, stop_at_step=0, **lower), str(workdir))
    assert checkpoints(workdir) == [8, 16] and (workdir / "results.json").exists()
    (row,) = json_lines(workdir / "resume_history.jsonl")
    assert row["step"] == 8 and row["changes"] == {"optim.base_lr": [1e-2, 5e-3]}
    assert (
        "with changed keys (resume_override): optim.base_lr: 0.01 -> 0.005"
        in capsys.readouterr().out
    )
    # four bytes overwritten in the middle of the largest array data file of
    # the state (OCDBT's d/ after the merge): same size, still decodable
    data = workdir / "checkpoints" / "16" / "state" / "d"
    largest = max((data / f for f in os.listdir(data)), key=os.path.getsize)
    with open(largest, "r+b") as f:
        f.seek(os.path.getsize(largest) // 2)
        word = f.read(4)
        f.seek(-4, os.SEEK_CUR)
        f.write(bytes(b ^ 0xFF for b in word))
    capsys.readouterr()

    # the same run again (the same compiled step): it redoes steps 9 to 16
    results = run(_tiny(tiny_config), str(workdir))
    out = capsys.readouterr()
    assert "warning: checkpoint step 16 could not be read" in out.err
    assert f"{largest.name} fails its checksum" in out.err
    assert "resumed from step 8" in out.out and "1 device(s)" in out.out
    assert results["steps"] == 16
    kept = os.listdir(workdir / "damaged_checkpoints")
    assert len(kept) == 1 and kept[0].startswith("16-")  # moved aside, never deleted
    assert os.path.getsize(workdir / "damaged_checkpoints" / kept[0] / "state" / "d" / largest.name)
    assert checkpoints(workdir) == [8, 16]

    # another model: the config key named; with it overridden, the parameters
    wider = _tiny(tiny_config.copy_and_resolve_references())
    wider.encoder_kwargs.dense_features = 48
    with pytest.raises(ValueError, match=r"encoder_kwargs\.dense_features: 32 in the run, 48 now"):
        run(wider, str(workdir))
    wider.resume_override = "encoder_kwargs"
    with pytest.raises(ValueError, match=r"another model .*Dense_0.*\(32,\) in the checkpoint"):
        run(wider, str(workdir))
    assert checkpoints(workdir) == [8, 16]

    # every checkpoint damaged: a clear error, all of them kept; step 8 without
    # its checksum list (an older checkpoint), so Orbax's own read fails on it
    os.remove(workdir / "checkpoints" / "8" / "checksums.json")
    for step in (8, 16):
        data = workdir / "checkpoints" / str(step) / "state" / "d"
        for name in os.listdir(data):
            with open(data / name, "r+b") as f:
                f.truncate(os.path.getsize(data / name) // 2)
    with pytest.raises(RuntimeError, match=r"no checkpoint in .* could be read"):
        run(_tiny(tiny_config), str(workdir))
    assert len(os.listdir(workdir / "damaged_checkpoints")) == 3


class _PoisonedAt:
    """A method whose loss is NaN for any batch that holds example ``index``."""

    def __init__(self, method, index):
        self.method, self.index = method, index
        self.axis_name = method.axis_name

    def __getattr__(self, name):
        return getattr(self.method, name)

    def loss_fn(self, params, state, batch, rng):
        loss, aux = self.method.loss_fn(params, state, batch, rng)
        hit = jnp.any(batch["index"] == self.index)
        return jnp.where(hit, jnp.nan, loss), aux


def _batches(config, data_dir, steps):
    """The example indices of the first ``steps`` batches, from the loader the run uses."""
    loader = make_loader(
        data_source("digits", "train", data_dir),
        batch_size=config.batch_size,
        seed=config.seed,
        num_epochs=None,
    )
    return [np.asarray(b["index"]) for _, b in zip(range(steps), loader, strict=False)]


@pytest.mark.slow
def test_nonfinite_loss_stops_the_run_or_is_skipped(
    tiny_config, tmp_path, data_dir, monkeypatch, capsys
):
    config = _tiny(tiny_config, num_steps=12, log_every_steps=1)
    spec = registry.METHODS[config.method]
    batches = _batches(config, data_dir, 12)
    # an example first drawn after the checkpoint at step 8
    index = int(batches[9][0])
    hits = [step for step, ids in enumerate(batches, 1) if index in ids]
    assert hits[0] == 10
    poisoned = dataclasses.replace(spec, build=lambda *a: _PoisonedAt(spec.build(*a), index))
    monkeypatch.setitem(registry.METHODS, config.method, poisoned)

    workdir = tmp_path / "stop"
    with pytest.raises(FloatingPointError) as err:
        run(config, str(workdir))
    message = str(err.value)
    assert f"non-finite loss, gradient norm or updated state at step {hits[0]};" in message
    assert "Last good checkpoint: step 8" in message
    assert checkpoints(workdir) == [8]  # nothing after the bad step was saved

    workdir = tmp_path / "skip"
    capsys.readouterr()
    results = run(_tiny(config, skip_nonfinite_steps=True), str(workdir))
    assert results["steps"] == 12 and results["skipped_steps"] == len(hits)
    assert capsys.readouterr().out.strip().endswith(f"| {len(hits)} skipped steps (non-finite)")
    rows = json_lines(workdir / "metrics.jsonl")
    assert [r["step"] for r in rows if r.get("nonfinite")] == hits
    assert rows[-1]["skipped_steps"] == len(hits)
    state = read_state(str(workdir))
    assert int(state["skipped_steps"]) == len(hits)
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(state["params"]))

    # skipping more than config.max_skipped_fraction of the last 100 steps stops the run
    workdir = tmp_path / "too_many"
    strict = _tiny(config, skip_nonfinite_steps=True, max_skipped_fraction=0.0)
    with pytest.raises(FloatingPointError, match=rf"1 of the last {hits[0]} steps up to step"):
        run(strict, str(workdir))
    assert checkpoints(workdir) == [8]


def test_a_failed_save_is_reported_and_keeps_the_previous_checkpoint(
    tiny_config, tmp_path, monkeypatch
):
    real_save = Checkpointer.save

    def save(self, step, *args, **kwargs):
        if step == 16:
            real = self.manager.save

            def full(*a, **k):
                raise OSError(28, "No space left on device")

            self.manager.save = full
            try:
                return real_save(self, step, *args, **kwargs)
            finally:
                self.manager.save = real
        return real_save(self, step, *args, **kwargs)

    monkeypatch.setattr(Checkpointer, "save", save)
    workdir = tmp_path / "w"
    with pytest.raises(CheckpointSaveError, match=r"No space left.*intact: step 8"):
        run(_tiny(tiny_config), str(workdir))
    assert checkpoints(workdir) == [8]
    assert int(read_state(str(workdir))["step"]) == 8


def test_a_signal_during_the_final_evaluation_says_what_was_kept(capsys):
    """Nothing to save there: the message says what is kept; SIGTERM exits 143 as before."""
    from jaxssl.train.loop import explained_stop

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as exit_:
        with explained_stop("the final evaluation", "its checkpoint (step 16) is kept"):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler runs at the next bytecode, long before this ends
    assert exit_.value.code == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert (
        "stopped by SIGTERM during the final evaluation: its checkpoint (step 16) is kept; "
        "rerun the same command to finish" in err
    )
    assert signal.getsignal(signal.SIGTERM) is before
    with pytest.raises(KeyboardInterrupt), explained_stop("the final evaluation", "all"):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)


def test_a_failed_asynchronous_save_is_named_by_its_own_step(tmp_path, monkeypatch):
    """Orbax reports a background save's failure at the next save: the message names that save.

    The failure is injected where Orbax raises it (``wait_until_finished``,
    which the next save calls first), after step 16's save was dispatched.
    """
    import ml_collections

    ckpt = Checkpointer(str(tmp_path / "checkpoints"), every_steps=8, async_save=True)
    state = {"w": jnp.ones((3,))}
    config = ml_collections.ConfigDict({"seed": 0})
    assert ckpt.save(8, state, config) and ckpt.save(16, state, config)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt.manager, "wait_until_finished", full)
    assert not ckpt.save(20, state, config)  # not a save step: nothing waited for
    with pytest.raises(CheckpointSaveError, match=r"saving step 16 in .* failed .*No space left"):
        ckpt.save(24, state, config)
    monkeypatch.undo()
    ckpt.close()
    assert 8 in checkpoints(tmp_path)
