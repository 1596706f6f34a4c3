"""Several processes: whether this is one of them, and ``jax.distributed`` set-up."""

from __future__ import annotations

import os
import socket
import sys

import jax

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


# what jax.distributed.initialize() detects by itself (SLURM, Open MPI, TPU pods)
_CLUSTER_ENV = ("SLURM_JOB_ID", "OMPI_COMM_WORLD_SIZE", "TPU_WORKER_HOSTNAMES")


def distributed_options(environ: dict[str, str] | None = None) -> dict:
    """The arguments of ``jax.distributed.initialize`` for this environment.

    ``JAX_COORDINATOR_ADDRESS`` with ``JAX_NUM_PROCESSES`` and
    ``JAX_PROCESS_ID`` (what ``python -m jaxssl.launch`` sets, or any
    launcher): those three. Otherwise ``{}``: JAX detects the cluster itself
    (SLURM, Open MPI, TPU pods, k8s).

    Raises:
      ValueError: ``JAX_COORDINATOR_ADDRESS`` is set outside a cluster JAX
        detects, without valid ``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID``
        (JAX would fail with "Number of processes must be defined").
    """
    env = os.environ if environ is None else environ
    address = env.get("JAX_COORDINATOR_ADDRESS")
    count, index = env.get("JAX_NUM_PROCESSES"), env.get("JAX_PROCESS_ID")
    if not address or (count is None and index is None and any(env.get(k) for k in _CLUSTER_ENV)):
        return {}
    if not (count or "").isdigit() or not (index or "").isdigit() or int(index) >= int(count):
        raise ValueError(
            f"JAX_COORDINATOR_ADDRESS={address!r} needs JAX_NUM_PROCESSES (how many processes, "
            f"an int >= 1) and JAX_PROCESS_ID (this one's, 0 .. count - 1); got "
            f"JAX_NUM_PROCESSES={count!r}, JAX_PROCESS_ID={index!r}. On one machine, "
            "python -m jaxssl.launch sets all three."
        )
    return {"coordinator_address": address, "num_processes": int(count), "process_id": int(index)}


def maybe_initialize_distributed(heartbeat_timeout_s: int = 100) -> None:
    """``jax.distributed.initialize`` once, when launched as several processes.

    ``heartbeat_timeout_s`` (``config.heartbeat_timeout_s``): JAX's
    coordination service ends every process with an error (SIGABRT, exit
    status 134) when one has sent no heartbeat for this long, e.g. because it
    was killed; the others then stop within about this time instead of
    waiting in a collective for ever. JAX's default is 100 s.
    """
    if (
        isinstance(heartbeat_timeout_s, bool)
        or not isinstance(heartbeat_timeout_s, int)
        or heartbeat_timeout_s < 1
    ):
        raise ValueError(
            "config.heartbeat_timeout_s must be an int >= 1 (seconds), got "
            f"{heartbeat_timeout_s!r}."
        )
    if not is_multiprocess_launch() or jax.distributed.is_initialized():
        return
    options = distributed_options()
    _check_before_joining(options)
    if options:
        print(
            f"jaxssl: process {options['process_id']} of {options['num_processes']} joining "
            f"the job at {options['coordinator_address']} (JAX waits up to 300 s for every "
            "process to join)",
            file=sys.stderr,
            flush=True,
        )
    jax.distributed.initialize(**options, heartbeat_timeout_seconds=heartbeat_timeout_s)


def _check_before_joining(options: dict) -> None:
    """ValueError for two set-up faults that JAX reports only as a crash.

    * The coordinator's port in use on process 0's host: JAX's coordination
      service fails to bind it and the process dies (SIGSEGV), the others
      after 300 s ("DEADLINE_EXCEEDED ... RegisterTask").
    * On CPU, this host's name not resolving: Gloo (the CPU collectives)
      stops with "enforce fail at .../gloo/transport/tcp/device.cc ... -2 vs 0".
    """
    if options.get("process_id") == 0:
        port = int(options["coordinator_address"].rpartition(":")[2])
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC binds it
            try:
                probe.bind(("", port))
            except OSError as error:
                raise ValueError(
                    f"JAX_COORDINATOR_ADDRESS={options['coordinator_address']}: port {port} "
                    f"cannot be opened on this host, process 0's ({error.strerror}); another "
                    "program (or an earlier run still ending) holds it. Choose another port "
                    "(python -m jaxssl.launch picks a free one)."
                ) from None
    platforms = os.environ.get("JAX_PLATFORMS") or (jax.config.jax_platforms or "")
    if platforms.split(",")[0] == "cpu":
        name = socket.gethostname()
        try:
            socket.getaddrinfo(name, None)
        except OSError:
            raise ValueError(
                f"this host's name {name!r} does not resolve to an address, which Gloo (the "
                "collectives of several CPU processes) needs: add it to /etc/hosts (e.g. "
                f"'127.0.1.1 {name}') or fix the host's DNS."
            ) from None
