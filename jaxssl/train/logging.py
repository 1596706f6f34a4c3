"""Metrics to ``WORKDIR/metrics.jsonl`` and TensorBoard event files (tensorboardX; no TensorFlow).

Only process 0 writes; on other processes every call is a no-op.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

import jax


def open_log(path: str):
    """``path`` opened for appending lines, without a torn last line.

    A run killed mid-write (SIGKILL, power loss) can leave a last line without
    its newline; it is cut off, so the resumed run's lines stay valid JSON.
    """
    if os.path.exists(path):
        with open(path, "rb+") as f:
            data = f.read()
            if data and not data.endswith(b"\n"):
                f.truncate(data.rfind(b"\n") + 1)
    return open(path, "a")


class MetricWriter:
    """Appends one JSON line per call and writes the same scalars to TensorBoard."""

    def __init__(self, workdir: str, *, enabled: bool | None = None):
        self.enabled = jax.process_index() == 0 if enabled is None else enabled
        self._file = None
        self._tb = None
        if self.enabled:
            from tensorboardX import SummaryWriter

            os.makedirs(workdir, exist_ok=True)
            self._file = open_log(os.path.join(workdir, "metrics.jsonl"))
            self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"))

    def write(self, step: int, metrics: Mapping[str, float], prefix: str = "train") -> None:
        """Records ``metrics`` (scalars) at ``step`` under ``prefix``."""
        if not self.enabled:
            return
        values = {k: float(v) for k, v in metrics.items()}
        self._file.write(json.dumps({"step": int(step), "split": prefix, **values}) + "\n")
        self._file.flush()
        for name, value in values.items():
            self._tb.add_scalar(f"{prefix}/{name}", value, int(step))

    def close(self) -> None:
        """Flushes and closes both outputs."""
        if self.enabled:
            self._file.close()
            self._tb.close()
