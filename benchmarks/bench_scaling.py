"""Weak scaling of the SimCLR train step over 1..N devices of one host.

The per-device batch stays fixed (``--per-device-batch``) and the global
batch grows with the devices, so perfect scaling keeps images/s per device
constant. ``efficiency`` is images/s per device on N devices over that on 1.
Each case is :mod:`bench_train_step`'s case (same step, same timing) in its
own process, on the first N devices.

On a CPU the devices are simulated (``--simulate N`` sets
``--xla_force_host_platform_device_count``); they share the same cores, so
the numbers there only show that the sharded program compiles and runs.

Usage::

    python benchmarks/bench_scaling.py --model resnet18_cifar --per-device-batch 256
    python benchmarks/bench_scaling.py --quick          # small_cnn on 1, 2 simulated CPU devices
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import _common
import bench_train_step


def parse_args(argv=None):
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", choices=sorted(bench_train_step.MODELS), default="resnet18_cifar"
    )
    parser.add_argument("--per-device-batch", type=int, default=256)
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="bfloat16")
    parser.add_argument(
        "--device-counts", type=int, nargs="+", help="default: 1, 2, 4, ... up to every device"
    )
    parser.add_argument(
        "--simulate", type=int, default=0, help="CPU only: simulate this many devices"
    )
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument(
        "--quick", action="store_true", help="small_cnn, batch 16/device, 1-2 simulated CPU devices"
    )
    parser.add_argument("--out", type=Path, default=_common.RESULTS / "bench_scaling.json")
    args = parser.parse_args(argv)
    if args.quick:
        # batch 16 on one device: the program of bench_train_step.py --quick
        args.model, args.per_device_batch, args.dtype = "small_cnn", 16, "float32"
        args.device_counts, args.simulate, args.warmup, args.repeats = [1, 2], 2, 1, 2
    if args.per_device_batch < 1:
        parser.error(f"--per-device-batch must be positive, got {args.per_device_batch}")
    return args


def main(argv=None) -> None:
    """Runs the sweep; see the module docstring."""
    args = parse_args(argv)
    script = bench_train_step.__file__
    env = {}
    if args.simulate:
        # the caller's other XLA flags stay (and with them the compilation
        # cache's key: JAX leaves the device count out of it)
        flags = [
            f
            for f in os.environ.get("XLA_FLAGS", "").split()
            if not f.startswith("--xla_force_host_platform_device_count")
        ]
        flags.append(f"--xla_force_host_platform_device_count={args.simulate}")
        env["XLA_FLAGS"] = " ".join(flags)
        env["JAX_PLATFORMS"] = "cpu"
    counts = args.device_counts
    if not counts:  # 1, 2, 4, ... up to the devices present (asked in a subprocess)
        info = _common.run_subprocess(
            script, {"info": True, "dtypes": [args.dtype], "matmul_n": 256, "peak_tflops": 1.0}, env
        )
        if info.get("status") != "ok":
            sys.exit(f"could not read the devices: {info.get('status')}")
        available = info["device"]["count"]
        counts = [2**i for i in range(available.bit_length()) if 2**i <= available]
    rows = []
    for n in counts:
        case = {
            "model": args.model,
            "batch": args.per_device_batch * n,
            "dtype": args.dtype,
            "devices": n,
            "warmup": args.warmup,
            "repeats": args.repeats,
            "count_flops": False,  # not in this table
        }
        print(f"running {args.model} on {n} device(s) ...", file=sys.stderr, flush=True)
        rows.append(_common.run_subprocess(script, case, env))
    base = rows[0].get("images_per_s_per_device")
    for r in rows:
        if base and "images_per_s_per_device" in r:
            r["efficiency"] = r["images_per_s_per_device"] / base
    d = next((r["device"] for r in rows if "device" in r), {"kind": "?", "platform": "?"})
    f = _common.fmt
    print(
        f"Weak scaling, {args.model} {args.dtype}, {args.per_device_batch} images/device, "
        f"{d['kind']} ({d['platform']}{', simulated' if args.simulate else ''})\n"
    )
    print("| devices | global batch | img/s | img/s/dev | step ms | efficiency | status |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        eff = r.get("efficiency")
        print(
            f"| {r['devices']} | {r['batch']} | {f(r.get('images_per_s'), ',.0f')} "
            f"| {f(r.get('images_per_s_per_device'), ',.0f')} | {f(r.get('step_ms'), '.2f')} "
            f"| {f(None if eff is None else 100 * eff, '.0f')}% | {r['status']} |"
        )
    _common.write_json(
        args.out,
        {
            "benchmark": "scaling",
            "simulated": bool(args.simulate),
            "rows": rows,
            "versions": _common.versions(),
        },
    )


if __name__ == "__main__":
    main()
