import json
import os
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxssl.train.config import load_config_file

ROOT = Path(__file__).resolve().parents[2]


def load_config(name: str, arg: str | None = None):
    """``get_config`` of ``configs/NAME.py``, loaded from its file like train.py does."""
    return load_config_file(str(ROOT / "configs" / f"{name}.py"), arg)


def tiny_command(workdir, data_dir, *overrides) -> list[str]:
    """The command line of a tiny ``train.py`` run in ``workdir`` with ``overrides``."""
    return [
        sys.executable,
        str(ROOT / "train.py"),
        f"--config={ROOT / 'configs' / 'tiny.py'}",
        f"--workdir={workdir}",
        f"--config.data_dir={data_dir}",
        *overrides,
    ]


@pytest.fixture
def tiny_config(data_dir):
    config = load_config("tiny")
    config.data_dir = data_dir
    return config


def assert_tree_close(a, b, rtol, atol_floor=0.0):
    """Every leaf within ``rtol`` of its own scale (its largest magnitude).

    Element-wise relative error is meaningless for entries that pass near zero
    (biases start there): summing over 8 shards instead of 1 reorders float32
    additions, an error relative to the leaf's scale, not to each entry.
    ``atol_floor`` is for leaves whose exact gradient is 0 (a BatchNorm shift
    that the loss cancels): they hold only rounding noise, which has no scale
    of its own.
    """
    for (path, x), y in zip(
        jax.tree_util.tree_flatten_with_path(a)[0], jax.tree.leaves(b), strict=True
    ):
        atol = max(rtol * float(np.max(np.abs(y))), atol_floor)
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=jax.tree_util.keystr(path))


def json_lines(path) -> list[dict]:
    """The JSON lines of ``path`` (metrics.jsonl, example_ids.jsonl), in order."""
    with open(path) as f:
        return [json.loads(line) for line in f]


def logged_steps(workdir) -> int:
    """How many step lines ``WORKDIR/example_ids.jsonl`` has (complete lines only)."""
    try:
        with open(os.path.join(workdir, "example_ids.jsonl"), "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def checkpoints(workdir) -> list[int]:
    """The steps of the complete checkpoints in ``WORKDIR/checkpoints``."""
    return sorted(int(d) for d in os.listdir(os.path.join(workdir, "checkpoints")) if d.isdigit())
