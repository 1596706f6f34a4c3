"""Several local processes of one job, as on a pod or a multi-host cluster, on this machine.

  python -m jaxssl.launch --processes 2 --devices-per-process 4 -- train.py --config=...

Each process gets ``JAX_COORDINATOR_ADDRESS`` (this machine, a free port),
``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID``, from which ``train.py`` calls
``jax.distributed.initialize`` (:func:`jaxssl.train.launch.maybe_initialize_distributed`),
and its devices: ``--devices-per-process`` simulated CPU devices, or with
``--gpus`` its share of this host's GPUs (``CUDA_VISIBLE_DEVICES``).

What the launcher does, for debugging a pod run on one machine:

* process 0's output is shown as it comes; of the others, their standard
  error lines, prefixed ``[process N]`` (progress bars left out);
* SIGTERM and SIGINT are forwarded to every process (``train.py`` then saves
  a checkpoint and exits 0);
* as soon as one process fails, the others are ended (SIGTERM, then SIGKILL
  after ``--grace`` seconds) and the launcher exits with the failed
  process's status: no process is left waiting on a dead peer.

A command whose first word ends in ``.py`` runs with this Python.
No library here does this: ``torchrun`` is PyTorch's, and JAX's own
multi-process tests start their processes by hand.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

_DEVICE_COUNT = re.compile(r"--xla_force_host_platform_device_count=\S+")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_env(
    base: dict[str, str], index: int, count: int, port: int, devices: int, gpus: bool
) -> dict[str, str]:
    """The environment of process ``index`` of ``count``."""
    env = dict(base)
    env.update(
        JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{port}",
        JAX_NUM_PROCESSES=str(count),
        JAX_PROCESS_ID=str(index),
        PYTHONUNBUFFERED="1",
    )
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(
            str(d) for d in range(index * devices, (index + 1) * devices)
        )
    else:
        flags = _DEVICE_COUNT.sub("", env.get("XLA_FLAGS", ""))
        env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={devices}".strip()
        env["JAX_PLATFORMS"] = "cpu"
    return env


def _copy_raw(stream, out) -> None:
    """Process 0's bytes as they come (progress bars redraw with carriage returns)."""
    for chunk in iter(lambda: stream.read1(4096), b""):
        out.buffer.write(chunk)
        out.flush()


def _copy_lines(stream, out, index: int) -> None:
    """Another process's standard error, line by line, prefixed; progress bars left out."""
    for raw in stream:
        line = raw.decode(errors="replace").rstrip("\n")
        if "\r" in line or not line.strip():  # a tqdm redraw
            continue
        out.write(f"[process {index}] {line}\n")
        out.flush()


def _end(procs, grace: float) -> None:
    """SIGTERM to every running process, SIGKILL to those still running after ``grace`` s."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(timeout=max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def launch(
    command: list[str], processes: int, devices: int, *, gpus: bool = False, grace: float = 10.0
) -> int:
    """Runs ``command`` as ``processes`` processes of one JAX job; returns the exit status."""
    if command and command[0].endswith(".py"):
        command = [sys.executable, *command]
    port = free_port()
    procs = []
    for index in range(processes):
        env = process_env(dict(os.environ), index, processes, port, devices, gpus)
        procs.append(
            subprocess.Popen(
                command,
                env=env,
                stdout=None if index == 0 else subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                # its own session: a terminal's Ctrl-C reaches the launcher,
                # which forwards it once, not every process twice
                start_new_session=True,
            )
        )
    readers = [threading.Thread(target=_copy_raw, args=(procs[0].stderr, sys.stderr), daemon=True)]
    readers += [
        threading.Thread(target=_copy_lines, args=(p.stderr, sys.stderr, i), daemon=True)
        for i, p in enumerate(procs[1:], start=1)
    ]
    for r in readers:
        r.start()

    def forward(signum, frame):
        del frame
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    old = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            codes = [p.poll() for p in procs]
            failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                index, code = failed[0]
                sys.stderr.write(
                    f"jaxssl.launch: process {index} exited with status {code}; ending the others\n"
                )
                _end(procs, grace)
                status = code
                break
            if all(c == 0 for c in codes):
                status = 0
                break
            time.sleep(0.1)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        _end(procs, grace)
    for r in readers:
        r.join(timeout=5)
    # a process killed by a signal has a negative status: exit as a shell reports it
    return status if status >= 0 else 128 - status


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m jaxssl.launch", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--processes", type=int, required=True, help="how many processes")
    parser.add_argument(
        "--devices-per-process", type=int, default=1, help="simulated CPU devices (or GPUs) each"
    )
    parser.add_argument(
        "--gpus", action="store_true", help="give each process its share of this host's GPUs"
    )
    parser.add_argument(
        "--grace", type=float, default=10.0, help="seconds between SIGTERM and SIGKILL"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command: put it after --, e.g. -- train.py --config=configs/tiny.py")
    if args.processes < 1:
        parser.error(f"--processes must be >= 1, got {args.processes}")
    if args.devices_per_process < 1:
        parser.error(f"--devices-per-process must be >= 1, got {args.devices_per_process}")
    return launch(
        command, args.processes, args.devices_per_process, gpus=args.gpus, grace=args.grace
    )


if __name__ == "__main__":
    sys.exit(main())
