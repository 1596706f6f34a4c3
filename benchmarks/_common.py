"""What the benchmark scripts share: timing discipline, machine record, subprocess cases.

Timing discipline (every script): the compiled function runs ``warmup`` times
untimed; then each of ``repeats`` (>= 10 by default) calls is timed alone,
with ``jax.block_until_ready`` (or ``torch.cuda.synchronize``) before the
clock is read; the table shows the median and the JSON keeps min, max and
every sample.

Each case runs in a fresh subprocess: peaks of device memory do not mix, an
out-of-memory case becomes a row saying so, and the parent never initialises
a GPU backend (JAX would preallocate most of the device's memory in it and
starve the cases).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
VERSIONED = (
    "jax",
    "jaxlib",
    "flax",
    "optax",
    "numpy",
    "torch",
    "torchvision",
    "lightly",
    "scikit-learn",
)


def timed(call: Callable[[], object], sync: Callable[[object], object], warmup: int, repeats: int):
    """Seconds per call: ``{'median', 'min', 'max', 'samples'}`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        sync(call())
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        sync(call())
        samples.append(time.perf_counter() - start)
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "samples": samples,
    }


def versions() -> dict:
    """Installed versions of the libraries the numbers depend on (absent ones left out)."""
    found = {}
    for name in VERSIONED:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def machine() -> dict:
    """The host: CPU, core count, OS, Python."""
    return {
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "system": platform.platform(),
        "python": platform.python_version(),
    }


def jax_device() -> dict:
    """The first JAX device, in the process that calls it (a case's subprocess)."""
    import jax

    d = jax.devices()[0]
    return {"platform": d.platform, "kind": d.device_kind, "count": jax.device_count()}


def peak_memory_mib() -> float | None:
    """The first device's peak allocation in this process (GPU/TPU; None on CPU)."""
    import jax

    d = jax.devices()[0]
    stats = d.memory_stats() if d.platform != "cpu" else None
    if stats and "peak_bytes_in_use" in stats:
        return stats["peak_bytes_in_use"] / 2**20
    return None


def matmul_peak_tflops(dtype_name: str, n: int, repeats: int = 10) -> float:
    """Measured dense-matmul TFLOP/s of the first device in ``dtype_name`` (an n x n x n product).

    The stand-in for the device's peak when none is given: MFU is then
    relative to what the device reaches on the best-case kernel in practice.
    """
    import jax
    import jax.numpy as jnp

    dtype = jnp.bfloat16 if dtype_name == "bfloat16" else jnp.float32
    keys = jax.random.split(jax.random.key(0))
    a, b = (jax.random.normal(k, (n, n), dtype) for k in keys)
    mm = jax.jit(jnp.matmul)
    t = timed(lambda: mm(a, b), jax.block_until_ready, warmup=3, repeats=repeats)
    return 2 * n**3 / t["median"] / 1e12


def run_subprocess(script: str, case: dict, env: dict | None = None, timeout: float = 1800) -> dict:
    """Runs ``script --case JSON`` in a fresh Python; its last stdout line is the row (JSON).

    A failed case comes back as the case plus ``status`` ('out of memory',
    'failed: <last stderr line>' or 'timed out').
    """
    cmd = [sys.executable, script, "--case", json.dumps(case)]
    full_env = dict(os.environ, **(env or {}))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(case, status=f"timed out after {timeout:.0f} s")
    if proc.returncode == 0:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    err = proc.stderr.strip().splitlines()
    oom = "RESOURCE_EXHAUSTED" in proc.stderr or "out of memory" in proc.stderr.lower()
    return dict(
        case, status="out of memory" if oom else f"failed: {err[-1] if err else proc.returncode}"
    )


def fmt(value, spec: str) -> str:
    """``value`` formatted with ``spec``; '-' for a missing value."""
    return "-" if value is None else format(value, spec)


def write_json(path: Path, payload: dict, *, quiet: bool = False) -> None:
    """Writes ``payload`` with the host record and the time it was made.

    Scripts call it after every case too (``quiet``), so a sweep cut short
    keeps the rows it finished.
    """
    stamp = {"machine": machine(), "written": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    payload = {**stamp, **payload}  # a rewritten file keeps the machine it was measured on
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    if not quiet:
        print(f"\nwrote {path}", file=sys.stderr)
