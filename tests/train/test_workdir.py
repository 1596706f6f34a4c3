"""One run per workdir: a second run is refused, a killed run's lock is taken over."""

import json
import os
import socket
import subprocess
import sys

import pytest

from jaxssl.train import run
from jaxssl.train.workdir import LOCK_NAME, WorkdirInUseError, WorkdirLock


def _dead_pid() -> int:
    """The PID of a process that has ended (reaped, so no such process exists)."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


def _write_lock(workdir, **owner):
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, LOCK_NAME), "w") as f:
        json.dump({"host": socket.gethostname(), "started": "2026-01-01 00:00:00", **owner}, f)


def test_a_second_holder_is_refused_and_the_lock_is_released(tmp_path):
    workdir = str(tmp_path / "w")
    with WorkdirLock(workdir):
        with open(os.path.join(workdir, LOCK_NAME)) as f:
            owner = json.load(f)
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
        with pytest.raises(WorkdirInUseError, match=rf"in use by another run \(pid {os.getpid()}"):
            WorkdirLock(workdir).acquire()
    assert not os.path.exists(os.path.join(workdir, LOCK_NAME))
    with WorkdirLock(workdir):  # free again
        pass


def test_a_killed_runs_lock_is_taken_over_another_hosts_is_not(tmp_path):
    workdir = str(tmp_path / "w")
    dead = _dead_pid()
    _write_lock(workdir, pid=dead)
    warnings = []
    with WorkdirLock(workdir, warn=warnings.append):
        with open(os.path.join(workdir, LOCK_NAME)) as f:
            assert json.load(f)["pid"] == os.getpid()
    assert len(warnings) == 1 and f"no longer alive (pid {dead}" in warnings[0]

    # a PID on another machine cannot be checked: refused, with the way out
    _write_lock(workdir, pid=dead, host="elsewhere")
    with pytest.raises(WorkdirInUseError, match=r"host elsewhere.*delete .*\.jaxssl\.lock"):
        WorkdirLock(workdir).acquire()
    assert os.path.exists(os.path.join(workdir, LOCK_NAME))  # not removed
    # processes other than 0 share process 0's lock
    WorkdirLock(workdir, enabled=False).acquire()


def test_run_on_a_workdir_in_use_is_refused_before_writing(tiny_config, tmp_path):
    workdir = tmp_path / "w"
    _write_lock(str(workdir), pid=os.getpid())  # alive: this process
    with pytest.raises(WorkdirInUseError, match="two runs on one workdir would mix"):
        run(tiny_config, str(workdir))
    assert sorted(os.listdir(workdir)) == [LOCK_NAME]  # no config.json, metrics or checkpoints
