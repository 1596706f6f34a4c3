"""Contrastive losses at large batch: jaxssl dense vs jaxssl chunked (vs optax for NT-Xent).

For each loss (``--loss``: ``nt_xent``, the default, whose N pairs give 2N
anchors, and the image-text ``clip`` and ``siglip``, logit scale
``1/temperature`` and SigLIP's starting bias -10), each batch size N and
D-dimensional embeddings, it measures forward + backward (gradient w.r.t.
both inputs) under ``jax.jit``:

* ``time_ms``: median wall time of ``--repeats`` calls after ``--warmup`` calls,
  each synchronised with ``block_until_ready``;
* ``temp_mib``: the compiled program's temporary memory
  (``jit(f).lower(...).compile().memory_analysis().temp_size_in_bytes``), a
  compile-time figure that needs no run;
* ``peak_mib`` (GPU/TPU only): the device's ``peak_bytes_in_use`` in a fresh
  process that ran only this case.

Every case runs in its own subprocess, so peaks do not mix and a case that runs
out of memory becomes a row saying so instead of ending the script. Cases whose
compiled temporary memory exceeds ``--max-temp-gib`` are compiled but not run.

Usage::

    python benchmarks/bench_losses.py                     # CPU defaults
    python benchmarks/bench_losses.py --sizes 1024 4096 16384 65536 --chunks 1024 4096
    python benchmarks/bench_losses.py --loss clip siglip --sizes 16384 --chunks 512

It prints a markdown table and writes JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import _common

IMPLS = ("jaxssl_dense", "jaxssl_chunked", "optax")
LOSSES = ("nt_xent", "clip", "siglip")
TITLES = {"nt_xent": "NT-Xent", "clip": "CLIP", "siglip": "SigLIP"}


def _loss_fn(loss: str, impl: str, chunk_size: int | None, temperature: float):
    import jax.numpy as jnp

    from jaxssl import losses

    if loss == "clip":
        return lambda a, b: losses.clip_loss(
            a, b, logit_scale=1 / temperature, chunk_size=chunk_size
        )
    if loss == "siglip":
        return lambda a, b: losses.siglip_loss(
            a, b, logit_scale=1 / temperature, logit_bias=-10.0, chunk_size=chunk_size
        )
    if impl == "optax":
        import optax

        def loss(z1, z2):
            n = z1.shape[0]
            labels = jnp.concatenate([jnp.arange(n), jnp.arange(n)])
            return optax.losses.ntxent(jnp.concatenate([z1, z2]), labels, temperature)

        return loss
    return lambda z1, z2: losses.nt_xent(z1, z2, temperature=temperature, chunk_size=chunk_size)


def run_case(case: dict) -> dict:
    """Measures one case in this process; returns one result row.

    ``case``: ``loss``, ``impl``, ``n``, ``dim``, ``chunk_size`` (None for
    dense) and the run's ``temperature``, ``warmup``, ``repeats`` and
    ``max_temp_gib``.
    """
    import jax
    import jax.numpy as jnp
    import numpy as np

    impl, n, dim, chunk_size = case["impl"], case["n"], case["dim"], case["chunk_size"]
    name = case.get("loss", "nt_xent")
    row = {"loss": name, "impl": impl, "n": n, "dim": dim, "chunk_size": chunk_size}
    loss = _loss_fn(name, impl, chunk_size, case["temperature"])
    step = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    spec = jax.ShapeDtypeStruct((n, dim), jnp.float32)
    compiled = step.lower(spec, spec).compile()
    temp = compiled.memory_analysis().temp_size_in_bytes
    row["temp_mib"] = temp / 2**20
    if temp > case["max_temp_gib"] * 2**30:
        row["status"] = f"not run: temp > {case['max_temp_gib']} GiB"
        return row
    rng = np.random.default_rng(0)
    z1 = jax.device_put(rng.standard_normal((n, dim), np.float32))
    z2 = jax.device_put(rng.standard_normal((n, dim), np.float32))
    t = _common.timed(
        lambda: compiled(z1, z2), jax.block_until_ready, case["warmup"], case["repeats"]
    )
    row["time_ms"] = 1e3 * t["median"]
    row["time_ms_min"], row["time_ms_max"] = 1e3 * t["min"], 1e3 * t["max"]
    if (peak := _common.peak_memory_mib()) is not None:
        row["peak_mib"] = peak
    row["device"] = _device_name()
    row["status"] = "ok"
    return row


def _device_name() -> str:
    import jax

    device = f"{jax.devices()[0].device_kind} ({jax.devices()[0].platform}), jax {jax.__version__}"
    if jax.devices()[0].platform == "cpu":
        device += f", {platform.processor() or platform.machine()}"
    return device


def markdown(rows: list[dict], device: str) -> str:
    """The rows as markdown tables, one per loss, with ratios to jaxssl dense at the same N."""
    lines = []
    for name in dict.fromkeys(r.get("loss", "nt_xent") for r in rows):
        lines += [] if not lines else [""]
        lines += _table([r for r in rows if r.get("loss", "nt_xent") == name], name, device)
    return "\n".join(lines)


def _table(rows: list[dict], loss: str, device: str) -> list[str]:
    dense = {r["n"]: r for r in rows if r["impl"] == "jaxssl_dense"}
    lines = [
        f"{TITLES[loss]} forward+backward, D={rows[0]['dim']}, float32, {device}",
        "",
        "| N | impl | K | time ms | vs dense | temp MiB | temp vs dense | peak MiB | status |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ref = dense.get(r["n"], {})
        t_ratio = r["time_ms"] / ref["time_ms"] if "time_ms" in r and "time_ms" in ref else None
        m_ratio = r["temp_mib"] / ref["temp_mib"] if "temp_mib" in r and "temp_mib" in ref else None
        lines.append(
            f"| {r['n']} | {r['impl']} | {r['chunk_size'] or '-'} | "
            f"{_common.fmt(r.get('time_ms'), '.1f')} | {_common.fmt(t_ratio, '.2f')} | "
            f"{_common.fmt(r.get('temp_mib'), '.1f')} | {_common.fmt(m_ratio, '.3f')} | "
            f"{_common.fmt(r.get('peak_mib'), '.0f')} | {r['status']} |"
        )
    return lines


def main(argv=None) -> None:
    """Runs the benchmark; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 4096, 16384])
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--chunks", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--impls", nargs="+", choices=IMPLS, default=list(IMPLS))
    parser.add_argument(
        "--loss", nargs="+", choices=LOSSES, default=["nt_xent"], help="optax has NT-Xent only"
    )
    parser.add_argument("--temperature", type=float, default=0.1)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument(
        "--quick", action="store_true", help="N=256, K=128, 2 repeats: a smoke pass"
    )
    parser.add_argument(
        "--max-temp-gib",
        type=float,
        default=10.0,
        help="compile but do not run cases whose temporary memory exceeds this",
    )
    parser.add_argument("--out", type=Path, default=_common.RESULTS / "bench_losses.json")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.chunks, args.warmup, args.repeats = [256], [128], 1, 2

    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return

    # jax is imported in the cases' processes only: on a GPU this process would
    # otherwise preallocate most of the device's memory and starve them.
    cases = []
    for loss in args.loss:
        for n in args.sizes:
            for impl in args.impls:
                if impl == "optax" and loss != "nt_xent":
                    continue
                chunks = args.chunks if impl == "jaxssl_chunked" else [None]
                cases += [(loss, impl, n, k) for k in chunks]
    rows = []
    for loss, impl, n, k in cases:
        print(f"running {loss} {impl} N={n} K={k or '-'} ...", file=sys.stderr, flush=True)
        case = {"loss": loss, "impl": impl, "n": n, "dim": args.dim, "chunk_size": k}
        case.update(temperature=args.temperature, warmup=args.warmup, repeats=args.repeats)
        rows.append(_common.run_subprocess(__file__, dict(case, max_temp_gib=args.max_temp_gib)))
    device = next((r["device"] for r in rows if "device" in r), "unknown device")
    table = markdown(rows, device)
    print(table)
    _common.write_json(
        args.out,
        {"benchmark": "losses", "device": device, "rows": rows, "versions": _common.versions()},
    )


if __name__ == "__main__":
    main()
