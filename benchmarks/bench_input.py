"""Input pipeline throughput: the Grain loader (examples/s) and on-device augmentation (images/s).

* Loader: the bundled ``digits`` train split through :func:`jaxssl.data.make_loader`
  for each worker count in ``--workers``, ``--epochs`` passes, batch ``--batch``.
* Augmentation: ``two_views`` with the SimCLR preset under ``jit`` at 32x32 and
  224x224 (``--aug-batch`` images, both views counted as one image each), median of
  ``--repeats`` calls after warm-up, synchronised with ``block_until_ready``.

Usage: ``python benchmarks/bench_input.py [--data-dir DIR]``. Prints a markdown
table and writes JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxssl import data


def loader_rate(source, workers: int, batch: int, epochs: int) -> float:
    """Examples per second over ``epochs`` passes (first batch included)."""
    loader = data.make_loader(
        source, batch_size=batch, seed=0, num_epochs=epochs, worker_count=workers
    )
    start, n = time.perf_counter(), 0
    for b in loader:
        n += len(b["index"])
    return n / (time.perf_counter() - start)


def augment_rate(side: int, batch: int, repeats: int) -> float:
    """Augmented images per second (two views of ``batch`` images = 2 * batch)."""
    preset = data.augment.simclr(side)
    fn = jax.jit(lambda x, k: data.augment.two_views(x, k, preset))
    images = jnp.asarray(
        np.random.default_rng(0).integers(0, 256, (batch, side, side, 3)), jnp.uint8
    )
    jax.block_until_ready(fn(images, jax.random.key(0)))
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(images, jax.random.key(i + 1)))
        times.append(time.perf_counter() - start)
    return 2 * batch / statistics.median(times)


def main(argv=None) -> None:
    """Runs both measurements; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--aug-batch", type=int, nargs=2, default=[256, 32], metavar=("B32", "B224")
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/bench_input.json"))
    args = parser.parse_args(argv)

    device = f"{jax.devices()[0].device_kind} ({jax.devices()[0].platform}), jax {jax.__version__}"
    source = data.data_source("digits", "train", args.data_dir)
    rows = []
    for w in args.workers:
        rate = loader_rate(source, w, args.batch, args.epochs)
        rows.append(
            {"what": f"Grain loader, digits, {w} workers", "rate": rate, "unit": "examples/s"}
        )
    for side, batch in zip((32, 224), args.aug_batch, strict=True):
        rate = augment_rate(side, batch, args.repeats)
        rows.append(
            {
                "what": f"SimCLR two_views {side}x{side}, batch {batch}",
                "rate": rate,
                "unit": "images/s",
            }
        )
    print(f"Input pipeline, {device}\n")
    print("| what | rate | unit |\n|---|---:|---|")
    for r in rows:
        print(f"| {r['what']} | {r['rate']:,.0f} | {r['unit']} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"device": device, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
