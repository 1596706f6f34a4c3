"""Multi-process launch detection (jax.distributed.initialize is called only when it is one)."""

import socket
import subprocess
import sys
import time

import pytest

from jaxssl.train.launch import (
    distributed_options,
    is_multiprocess_launch,
    maybe_initialize_distributed,
)
from jaxssl.train.parallel import check_batch_size, check_mode


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


def test_pmap_is_refused_with_several_processes_and_the_heartbeat_checked():
    check_mode("pmap", 1)
    check_mode("jit", 4)
    with pytest.raises(ValueError, match=r"config.parallel='pmap' runs in one process, .* has 2"):
        check_mode("pmap", 2)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match=r"config.heartbeat_timeout_s must be an int >= 1"):
            maybe_initialize_distributed(bad)


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


# The launcher's part alone, without JAX: process 1 fails, process 0 would
# wait for ever. A launched train.py job (process 0's output, the others'
# warnings prefixed) is in tests/train/test_multiprocess.py.
_WORKER = """
import os, sys, time
print(f"warning: a note from process {os.environ['JAX_PROCESS_ID']}", file=sys.stderr, flush=True)
if os.environ["JAX_PROCESS_ID"] == "1":
    os._exit(3)
time.sleep(120)
"""


def test_launch_ends_the_job_when_one_process_fails(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    cmd = [sys.executable, "-m", "jaxssl.launch", "--processes", "2", "--devices-per-process", "2"]
    cmd += ["--grace", "2", "--", str(script)]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "jaxssl.launch: process 1 exited with status 3; ending the others" in proc.stderr
    assert "warning: a note from process 0" in proc.stderr
    assert "[process 1] warning: a note from process 1" in proc.stderr
    assert time.monotonic() - start < 60  # not process 0's 120 s sleep


def test_launch_names_a_bad_argument():
    cmd = [sys.executable, "-m", "jaxssl.launch", "--processes", "0", "--", "x.py"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--processes must be >= 1, got 0" in proc.stderr


def test_a_port_in_use_and_an_unresolvable_host_name_are_named(monkeypatch):
    """What JAX reports only as a crash (SIGSEGV, or Gloo's 'enforce fail'), named first."""
    from jaxssl.train import launch

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        options = {"coordinator_address": f"127.0.0.1:{port}", "num_processes": 2}
        with pytest.raises(ValueError, match=rf"port {port} cannot be opened on this host"):
            launch._check_before_joining({**options, "process_id": 0})
        launch._check_before_joining({**options, "process_id": 1})  # not its host's port
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    monkeypatch.setattr(socket, "gethostname", lambda: "no-such-host.invalid")

    def getaddrinfo(host, *args, **kwargs):  # no resolver asked: CI may have no DNS
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(ValueError, match=r"'no-such-host.invalid' does not resolve .*/etc/hosts"):
        launch._check_before_joining({})


def test_the_mesh_holds_the_devices_in_process_order():
    """Each process's devices one block of the axis, whatever order they are given in."""
    import jax

    from jaxssl.train.parallel import make_mesh

    mesh = make_mesh(list(reversed(jax.devices()[:4])))
    assert [d.id for d in mesh.devices.flat] == sorted(d.id for d in jax.devices()[:4])
    assert mesh.axis_names == ("data",)
