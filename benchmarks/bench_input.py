"""Input pipeline throughput: the Grain loader (examples/s) and on-device augmentation (images/s).

* Loader: the bundled ``digits`` train split through :func:`jaxssl.data.make_loader`
  for each worker count in ``--workers``, ``--epochs`` passes, batch ``--batch``.
* Augmentation: ``two_views`` with the SimCLR preset under ``jit`` at 32x32 and
  224x224 (``--aug-batch`` images, both views counted as one image each), median of
  ``--repeats`` calls after warm-up, synchronised with ``block_until_ready``.
* ``--stages``: the SimCLR preset at ``--stages-size`` built up one stage at a
  time (crop + flip; + colour jitter and greyscale; + blur), for the library's
  pipeline ("now") and, in the same run, the one before the reference crop and
  the switch-free jitter ("before", ``_augment_before.py``).

Usage: ``python benchmarks/bench_input.py [--data-dir DIR]``. Prints a markdown
table and writes JSON (``--out``).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import _augment_before
import _common
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


def augment_rate(side: int, batch: int, repeats: int, preset=None, views=None) -> float:
    """Augmented images per second (two views of ``batch`` images = 2 * batch).

    ``views`` is the two-view function (default the library's ``two_views``;
    ``--stages`` also times the pre-change one of ``_augment_before``).
    """
    preset = data.augment.simclr(side) if preset is None else preset
    views = data.augment.two_views if views is None else views
    fn = jax.jit(lambda x, k: views(x, k, preset))
    images = jnp.asarray(
        np.random.default_rng(0).integers(0, 256, (batch, side, side, 3)), jnp.uint8
    )
    keys = iter(range(1_000_000))
    t = _common.timed(
        lambda: fn(images, jax.random.key(next(keys))), jax.block_until_ready, 1, repeats
    )
    return 2 * batch / t["median"]


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
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument(
        "--stages", action="store_true", help="also time the augmentation stage by stage"
    )
    parser.add_argument("--stages-size", type=int, default=224)
    parser.add_argument(
        "--quick", action="store_true", help="0 workers, 1 epoch, small batches: a smoke pass"
    )
    parser.add_argument("--out", type=Path, default=_common.RESULTS / "bench_input.json")
    args = parser.parse_args(argv)
    if args.quick:
        # 32x32 only: the 224x224 preset takes long to compile on a CPU
        args.workers, args.epochs, args.aug_batch, args.repeats = [0], 1, [16, 0], 2

    device = f"{jax.devices()[0].device_kind} ({jax.devices()[0].platform}), jax {jax.__version__}"
    source = data.data_source("digits", "train", args.data_dir)
    rows = []
    for w in args.workers:
        rate = loader_rate(source, w, args.batch, args.epochs)
        rows.append(
            {"what": f"Grain loader, digits, {w} workers", "rate": rate, "unit": "examples/s"}
        )
    for side, batch in zip((32, 224), args.aug_batch, strict=True):
        if batch == 0:  # not measured
            continue
        rate = augment_rate(side, batch, args.repeats)
        rows.append(
            {
                "what": f"SimCLR two_views {side}x{side}, batch {batch}",
                "rate": rate,
                "unit": "images/s",
            }
        )
    if args.stages:
        # where the augmentation's time goes: the SimCLR preset built up one stage at a time
        full = data.augment.simclr(args.stages_size)
        stages = {
            "crop + flip": dataclasses.replace(
                full, jitter_prob=0.0, grayscale_prob=0.0, blur_prob=0.0
            ),
            "+ colour jitter, greyscale": dataclasses.replace(full, blur_prob=0.0),
            "+ blur (the full preset)": full,
        }
        batch = args.aug_batch[1] if args.stages_size > 32 else args.aug_batch[0]
        side = args.stages_size
        for version, views in (("before", _augment_before.two_views), ("now", None)):
            for name, preset in stages.items():
                rate = augment_rate(side, batch, args.repeats, preset, views)
                what = f"SimCLR two_views {side}x{side}, batch {batch}, {version}: {name}"
                rows.append({"what": what, "rate": rate, "unit": "images/s"})
    print(f"Input pipeline, {device}\n")
    print("| what | rate | unit |\n|---|---:|---|")
    for r in rows:
        print(f"| {r['what']} | {r['rate']:,.0f} | {r['unit']} |")
    _common.write_json(
        args.out,
        {"benchmark": "input", "device": device, "rows": rows, "versions": _common.versions()},
    )


if __name__ == "__main__":
    main()
