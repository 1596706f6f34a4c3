"""Several processes: whether this is one of them, and ``jax.distributed`` set-up."""

from __future__ import annotations

import os

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


def maybe_initialize_distributed() -> None:
    """``jax.distributed.initialize()`` once, when launched as several processes."""
    if is_multiprocess_launch() and not jax.distributed.is_initialized():
        jax.distributed.initialize()
