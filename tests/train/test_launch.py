"""Multi-process launch detection (jax.distributed.initialize is called only when it is one)."""

import subprocess
import sys
import time

import pytest

from jaxssl.train.launch import distributed_options, is_multiprocess_launch
from jaxssl.train.parallel import check_batch_size


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),
        ({"SLURM_NTASKS": "1"}, False),
        ({"SLURM_NTASKS": "4"}, True),
        ({"OMPI_COMM_WORLD_SIZE": "2"}, True),
        ({"TPU_WORKER_HOSTNAMES": "localhost"}, False),
        ({"TPU_WORKER_HOSTNAMES": "t1k-0,t1k-1,t1k-2,t1k-3"}, True),
        ({"JAX_COORDINATOR_ADDRESS": "10.0.0.1:1234"}, True),
    ],
)
def test_is_multiprocess_launch(env, expected):
    assert is_multiprocess_launch(env) is expected


def test_check_batch_size():
    check_batch_size(64, 8, 2)
    with pytest.raises(ValueError, match="batch_size=12 does not divide over 8 devices"):
        check_batch_size(12, 8)
    with pytest.raises(ValueError, match="batch_size=9 does not divide over 2 processes"):
        check_batch_size(9, 1, 2)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, {}),
        (  # what python -m jaxssl.launch sets
            {
                "JAX_COORDINATOR_ADDRESS": "127.0.0.1:99",
                "JAX_NUM_PROCESSES": "2",
                "JAX_PROCESS_ID": "1",
            },
            {"coordinator_address": "127.0.0.1:99", "num_processes": 2, "process_id": 1},
        ),
        # on SLURM JAX finds the count and rank itself
        ({"JAX_COORDINATOR_ADDRESS": "n1:99", "SLURM_JOB_ID": "7", "SLURM_NTASKS": "4"}, {}),
    ],
)
def test_distributed_options(env, expected):
    assert distributed_options(env) == expected


@pytest.mark.parametrize(
    "extra", [{}, {"JAX_NUM_PROCESSES": "2"}, {"JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": "2"}]
)
def test_a_coordinator_without_count_and_rank_is_named(extra):
    env = {"JAX_COORDINATOR_ADDRESS": "127.0.0.1:99", **extra}
    with pytest.raises(ValueError, match=r"needs JAX_NUM_PROCESSES .* and JAX_PROCESS_ID"):
        distributed_options(env)


_WORKER = """
import os, sys, time
if sys.argv[1] == "fail":  # the launcher's part alone: one process fails, its peer waits
    if os.environ["JAX_PROCESS_ID"] == "1":
        os._exit(3)
    time.sleep(120)
from jaxssl.train.launch import maybe_initialize_distributed
maybe_initialize_distributed()
import jax, numpy as np
from jax.experimental import multihost_utils
i = jax.process_index()
total = multihost_utils.process_allgather(np.array([i + 1])).sum()
print(f"process {i} of {jax.process_count()}: {jax.local_device_count()} local, "
      f"{jax.device_count()} devices, sum {total}", flush=True)
print(f"warning: a note from process {i}", file=sys.stderr, flush=True)
"""


def _launch(tmp_path, mode):
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    cmd = [sys.executable, "-m", "jaxssl.launch", "--processes", "2", "--devices-per-process", "2"]
    cmd += ["--grace", "2", "--", str(script), mode]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return proc, time.monotonic() - start


@pytest.mark.slow
def test_launch_runs_one_job_of_several_processes_and_ends_it_when_one_fails(tmp_path):
    proc, _ = _launch(tmp_path, "ok")
    assert proc.returncode == 0, proc.stderr[-2000:]
    # process 0's output; the other's warnings, prefixed; one job of 2 x 2 devices
    assert "process 0 of 2: 2 local, 4 devices, sum 3" in proc.stdout
    assert "process 1 of 2" not in proc.stdout
    assert "warning: a note from process 0" in proc.stderr
    assert "[process 1] warning: a note from process 1" in proc.stderr

    proc, seconds = _launch(tmp_path, "fail")
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "jaxssl.launch: process 1 exited with status 3; ending the others" in proc.stderr
    assert seconds < 60  # not process 0's 120 s sleep


def test_launch_names_a_bad_argument():
    cmd = [sys.executable, "-m", "jaxssl.launch", "--processes", "0", "--", "x.py"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--processes must be >= 1, got 0" in proc.stderr
