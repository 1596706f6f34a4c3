"""Two processes of 2 devices equal one process of 4: data order, stops, resumes, evaluation.

Every run is ``train.py`` on the tiny config over localhost (``jax.distributed``,
Gloo collectives), started by hand with the three generic variables or by
``python -m jaxssl.launch``. The comparisons:

* the example ids of every step: equal, whatever the number of processes,
  also across a stop and resumes on the other topology (a run killed by
  SIGKILL resumes from its newest checkpoint as a stopped one does: that
  path, to the bit, is tests/train/test_fault_tolerance.py's);
* the losses of every step and the final parameters: equal to float32
  rounding. Summing the gradients over 2 processes (Gloo) instead of within
  one process reorders float32 additions, as 8 devices instead of 1 do (the
  tolerance of tests/methods/test_methods.py). The tiny config uses SGD:
  Adam's first updates are about sign(gradient), which turns the rounding of a gradient
  whose true value is 0 into a full step, so that two correct runs part ways
  within a few steps (seen here: 484 of 6,048 parameters differ after one
  AdamW step, 5 of them by more than 1e-3, between 1 x 4 and 2 x 2 devices,
  and as many between 1 x 4 and 1 x 2);
* the final evaluation: a 2-process evaluation and a 1-process evaluation of
  the same checkpoint give the same numbers, to the bit.

The runs of one process are made in this test's process, on 4 of its 8
devices (the same program as a process of 4).
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from jaxssl.launch import free_port
from jaxssl.train import run
from jaxssl.train.checkpoint import read_state
from tests.conftest import DEVICE_COUNT_FLAG
from tests.train.conftest import (
    ROOT,
    assert_tree_close,
    checkpoints,
    json_lines,
    logged_steps,
    tiny_command,
)

STEPS = 24
RUN = {
    "num_steps": STEPS,
    "checkpoint.every_steps": 8,
    "log_every_steps": 1,
    "log_example_ids": True,
    "eval.final": False,
}
RTOL = 1e-4  # float32 sums in another order, as in tests/methods/test_methods.py


def _flags(**extra) -> list[str]:
    return [f"--config.{k}={v}" for k, v in {**RUN, **extra}.items()]


def _env(devices: int, **extra) -> dict:
    flags = os.environ.get("XLA_FLAGS", "").replace(DEVICE_COUNT_FLAG, "")
    flags = f"{flags} --xla_force_host_platform_device_count={devices}".strip()
    return dict(os.environ, XLA_FLAGS=flags, JAX_PLATFORMS="cpu", **extra)


def _one(tiny_config, workdir, data_dir, **extra) -> None:
    """One process of 4 devices (this one: 4 of its 8) to the end."""
    config = tiny_config.copy_and_resolve_references()
    for key, value in {**RUN, "data_dir": str(data_dir), "num_devices": 4, **extra}.items():
        section, _, name = key.rpartition(".")
        (config[section] if section else config)[name] = value
    run(config, str(workdir))


def _two_by_hand(workdir, data_dir, logs) -> list[subprocess.Popen]:
    """Two processes of 2 devices, started with the three generic variables."""
    port = free_port()
    procs = []
    for i in range(2):
        variables = {
            "JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{port}",
            "JAX_NUM_PROCESSES": "2",
            "JAX_PROCESS_ID": str(i),
        }
        with open(logs / f"process{i}.log", "w") as out:  # the child keeps its own copy
            procs.append(
                subprocess.Popen(
                    tiny_command(workdir, data_dir, *_flags()),
                    cwd=ROOT,
                    env=_env(2, **variables),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
    return procs


def _launched(workdir, data_dir, **extra) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "jaxssl.launch", "--processes", "2", "--devices-per-process"]
    cmd += ["2", "--", *tiny_command(workdir, data_dir, *_flags(**extra))[1:]]
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(2), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _wait_for(procs, workdir, lines, timeout=240):
    t0 = time.monotonic()
    while logged_steps(workdir) < lines:
        ended = [p.returncode for p in procs if p.poll() is not None]
        assert not ended, f"a process ended (status {ended}) before step {lines}"
        assert time.monotonic() - t0 < timeout, f"no progress to step {lines} in {timeout} s"
        time.sleep(0.005)


def _losses(workdir):
    return {r["step"]: r["loss"] for r in json_lines(workdir / "metrics.jsonl") if "loss" in r}


def _scores(workdir):
    results = json.loads((workdir / "results.json").read_text())
    return {k: v for k, v in results.items() if k.startswith(("knn", "linear_top", "kmeans"))}


@pytest.mark.slow
def test_two_processes_equal_one_through_a_stop_resumes_and_evaluation(
    tiny_config, tmp_path, data_dir, capsys
):
    ref = tmp_path / "ref"
    _one(tiny_config, ref, data_dir)  # one process, uninterrupted
    want_ids = {r["step"]: r["ids"] for r in json_lines(ref / "example_ids.jsonl")}
    want_loss = _losses(ref)
    assert sorted(want_ids) == list(range(1, STEPS + 1))

    # 2 x 2 by hand, from a fresh data dir (both processes build the digits at
    # once); SIGTERM to process 1 alone: both stop at one step, saved, exit 0
    run_dir, fresh = tmp_path / "run", tmp_path / "fresh_data"
    procs = _two_by_hand(run_dir, fresh, tmp_path)
    _wait_for(procs, run_dir, 3)
    procs[1].send_signal(signal.SIGTERM)
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    logs = [(tmp_path / f"process{i}.log").read_text() for i in range(2)]
    stopped = int(logs[0].split("preempted: saved step ")[1].split(" ")[0])
    assert f"preempted: saved step {stopped} " in logs[1]
    assert 3 <= stopped < STEPS and max(checkpoints(run_dir)) == stopped

    # resumed on 1 x 4 to the end
    capsys.readouterr()
    _one(tiny_config, run_dir, fresh)
    assert f"resumed from step {stopped};" in capsys.readouterr().out
    # every step read the uninterrupted run's examples, in its order
    got = json_lines(run_dir / "example_ids.jsonl")
    assert [r["step"] for r in got] == list(range(1, STEPS + 1))
    assert all(r["ids"] == want_ids[r["step"]] for r in got)
    have = _losses(run_dir)
    np.testing.assert_allclose([have[s] for s in want_ids], list(want_loss.values()), rtol=1e-5)
    a, b = read_state(str(ref)), read_state(str(run_dir))
    assert_tree_close(b["params"], a["params"], RTOL, 1e-6)
    assert int(a["step"]) == int(b["step"]) == STEPS

    # resumed on 2 x 2 (launched) from that 1-process run's checkpoints, its
    # newest damaged (4 bytes flipped): process 0 sets it aside while process
    # 1 waits, both take step 16, train steps 17-24 again and evaluate
    data = run_dir / "checkpoints" / str(STEPS) / "state" / "d"
    largest = max((data / f for f in os.listdir(data)), key=os.path.getsize)
    with open(largest, "r+b") as f:
        f.seek(os.path.getsize(largest) // 2)
        word = f.read(4)
        f.seek(-4, os.SEEK_CUR)
        f.write(bytes(x ^ 0xFF for x in word))
    evaluate = {"eval.final": True, "eval.probe.epochs": 5}
    proc = _launched(run_dir, fresh, **evaluate)
    for prefix in ("", "[process 1] "):  # process 0's output, the other's warnings prefixed
        assert f"{prefix}warning: checkpoint step {STEPS} could not be read" in proc.stderr
    assert "4 device(s)" in proc.stdout and "resumed from step 16;" in proc.stdout
    assert len(os.listdir(run_dir / "damaged_checkpoints")) == 1
    again = json_lines(run_dir / "example_ids.jsonl")[len(got) :]
    assert [r["step"] for r in again] == list(range(17, STEPS + 1))
    assert all(r["ids"] == want_ids[r["step"]] for r in again)
    have = _losses(run_dir)  # the last occurrence of each step
    np.testing.assert_allclose([have[s] for s in want_ids], list(want_loss.values()), rtol=1e-5)
    c = read_state(str(run_dir))
    assert_tree_close(c["params"], a["params"], RTOL, 1e-6)

    # its checkpoint evaluated again by one process: the same numbers and
    # embeddings as the 2 processes', to the bit
    two = _scores(run_dir)
    embeddings = dict(np.load(run_dir / "embeddings.npz"))
    (run_dir / "results.json").unlink()
    _one(tiny_config, run_dir, fresh, **evaluate)
    assert _scores(run_dir) == two and set(two) >= {"knn_top1", "linear_top1", "kmeans_acc"}
    for key, value in np.load(run_dir / "embeddings.npz").items():
        np.testing.assert_array_equal(value, embeddings[key], err_msg=key)


_PEER = """
import sys, time
from jaxssl.train.launch import maybe_initialize_distributed
maybe_initialize_distributed(int(sys.argv[1]))
import jax, numpy as np
from jax.experimental import multihost_utils
print("joined", flush=True)
while True:  # collectives, as a training loop makes
    multihost_utils.process_allgather(np.ones(1))
    time.sleep(0.05)
"""


@pytest.mark.slow
def test_a_killed_process_ends_its_peer_within_the_heartbeat_timeout(tmp_path):
    """No launcher to end it: JAX's coordination service does, after ``heartbeat_timeout_s``."""
    script = tmp_path / "peer.py"
    script.write_text(_PEER)
    port, timeout_s = free_port(), 3
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(timeout_s)],
            cwd=ROOT,
            env=_env(
                1,
                JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{port}",
                JAX_NUM_PROCESSES="2",
                JAX_PROCESS_ID=str(i),
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "joined"
    procs[1].kill()
    t0 = time.monotonic()
    _, err = procs[0].communicate(timeout=120)
    seconds = time.monotonic() - t0
    procs[1].wait()
    # SIGABRT from JAX (status 134 in a shell), naming the task that stopped
    assert procs[0].returncode == -signal.SIGABRT, err[-2000:]
    assert "stopped sending heartbeats" in err
    assert seconds < 4 * timeout_s + 10  # JAX polls; a busy 2-core machine is slow
