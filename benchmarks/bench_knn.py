"""Weighted kNN: jaxssl's on-device classifier against scikit-learn's brute force, side by side.

Both classify ``--queries`` random queries against a ``--bank``-example bank
of ``--dim``-wide features with ``--classes`` labels, for each ``k`` in
``--k``, by cosine similarity:

* jaxssl: :func:`jaxssl.eval.knn_predict` (temperature-weighted vote, queries
  ``--chunk`` at a time, on the first JAX device), compiled once before the
  clock starts, synchronised with ``block_until_ready``;
* scikit-learn: ``KNeighborsClassifier(k, algorithm="brute",
  metric="cosine", n_jobs=-1).fit(bank).predict(queries)`` (uniform vote:
  scikit-learn has no exponential weighting), fit included, every core.

Each is timed ``--repeats`` times after one warm-up call; the table shows
the medians and their ratio. The two votes differ (weighted vs uniform), so
the predictions are not compared; what is compared is the time of the whole
classification, similarity, top-k and vote.

Usage: ``python benchmarks/bench_knn.py`` (the issue's setting: 10,000
queries, 60,000 bank, D=512). Prints a markdown table and writes JSON
(``--out``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import _common
import jax
import numpy as np


def main(argv=None) -> None:
    """Times both classifiers; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--bank", type=int, default=60_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--k", type=int, nargs="+", default=[20, 200])
    parser.add_argument("--chunk", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a small problem: a smoke pass")
    parser.add_argument("--out", type=Path, default=_common.RESULTS / "bench_knn.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.queries, args.bank, args.dim, args.k, args.repeats = 300, 2000, 32, [20], 1
    for name in ("queries", "bank", "dim", "classes", "chunk", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")

    from sklearn.neighbors import KNeighborsClassifier

    from jaxssl.eval import knn_predict

    rng = np.random.default_rng(0)
    bank = rng.standard_normal((args.bank, args.dim), np.float32)
    labels = rng.integers(0, args.classes, args.bank)
    queries = rng.standard_normal((args.queries, args.dim), np.float32)
    on_device = [jax.device_put(x) for x in (bank, labels, queries)]
    rows = []
    for k in args.k:

        def ours(k=k):
            return knn_predict(*on_device, num_classes=args.classes, k=k, chunk_size=args.chunk)

        def sklearn(k=k):
            clf = KNeighborsClassifier(k, algorithm="brute", metric="cosine", n_jobs=-1)
            return clf.fit(bank, labels).predict(queries)

        jx = _common.timed(ours, jax.block_until_ready, warmup=1, repeats=args.repeats)
        sk = _common.timed(sklearn, lambda x: x, warmup=1, repeats=args.repeats)
        rows.append(
            {
                "k": k,
                "jaxssl_s": jx["median"],
                "sklearn_s": sk["median"],
                "speedup": sk["median"] / jx["median"],
                "jaxssl": jx,
                "sklearn": sk,
            }
        )
    dev = jax.devices()[0]
    device = f"{dev.device_kind} ({dev.platform}), jax {jax.__version__}"
    setting = f"{args.queries:,} queries, {args.bank:,} bank, D={args.dim}"
    print(f"Weighted kNN, {setting}, {device}\n")
    print("| k | jaxssl knn_predict (s) | sklearn brute, n_jobs=-1 (s) | sklearn / jaxssl |")
    print("|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['k']} | {r['jaxssl_s']:.2f} | {r['sklearn_s']:.2f} | {r['speedup']:.1f}x |")
    _common.write_json(
        args.out,
        {
            "benchmark": "knn",
            "device": device,
            "setting": vars(args) | {"out": str(args.out)},
            "rows": rows,
            "versions": _common.versions(),
        },
    )


if __name__ == "__main__":
    main()
