"""Full SimCLR train step: images/s, step time, FLOPs, MFU and peak memory.

One step is what ``train.py`` compiles: on-device SimCLR augmentation of
synthetic uint8 images into two views, encoder + projection head (SimCLR v2,
3 layers, hidden 2048) on both views, NT-Xent, LARS with warm-up cosine, all
in one ``jax.jit`` over a mesh of ``--devices`` devices (the global batch is
sharded; state replicated). The images are already on the device, so the
host's input pipeline is not measured (``bench_input.py`` does that).

Columns:

* ``img/s/dev``: augmented views per second per device, both views counted
  (2 x batch / step time / devices), the convention of solo-learn and lightly;
* ``step ms``: median of ``--repeats`` steps after ``--warmup``, each
  synchronised; ``spread`` is (max - min) / median;
* ``GFLOP/step``: XLA's cost analysis of the step lowered for the CPU, per
  device (see :func:`step_flops`);
* ``TFLOP/s`` and ``MFU``: those FLOPs over the step time, and that over the
  device's peak: ``--peak-tflops`` if given, else a large matmul in the same
  dtype measured on the device (so MFU is against the best achieved dense
  rate, not a datasheet figure; the JSON says which);
* ``peak MiB``: the device's peak allocation in the case's own process
  (GPU/TPU); on CPU the compiled program's temporary + argument bytes.

Usage::

    python benchmarks/bench_train_step.py                       # all models, f32 + bf16
    python benchmarks/bench_train_step.py --models resnet18_cifar --batches 256 512 1024
    python benchmarks/bench_train_step.py --quick               # tiny CPU smoke pass

It prints a markdown table and writes JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import _common

# name -> config overrides on top of jaxssl's defaults (SimCLR, LARS)
MODELS = {
    "resnet18_cifar": {
        "encoder": "resnet18",
        "encoder_kwargs": {"stem": "cifar"},
        "image_size": 32,
        "source_size": 32,
        "augment_strength": 0.5,
    },
    "resnet50": {"encoder": "resnet50", "image_size": 224, "source_size": 256},
    "vit_s16": {
        "encoder": "vit_s",
        "encoder_kwargs": {"patch_size": 16},
        "image_size": 224,
        "source_size": 256,
    },
    # the --quick model: a smoke test, seconds to compile on a CPU (crops and
    # flips only, a narrow head)
    "small_cnn": {
        "encoder": "small_cnn",
        "encoder_kwargs": {"features": (8, 16), "dense_features": 32},
        "image_size": 8,
        "source_size": 8,
        "augment": "digits",
        "head_hidden": 64,
    },
}
DEFAULT_BATCHES = {
    "resnet18_cifar": [256, 512, 1024],
    "resnet50": [128, 256],
    "vit_s16": [128, 256],
}


def build_config(model: str, batch: int, dtype: str, devices: int):
    """Jaxssl's default config set to one benchmark case."""
    from jaxssl.train.config import default_config

    spec = MODELS[model]
    c = default_config()
    c.method = "simclr"
    c.encoder = spec["encoder"]
    for k, v in spec.get("encoder_kwargs", {}).items():
        c.encoder_kwargs[k] = v
    c.image_size = spec["image_size"]
    c.augment = spec.get("augment", "simclr")
    c.augment_strength = spec.get("augment_strength", 1.0)
    c.dtype = dtype
    c.batch_size = batch
    c.num_devices = devices
    c.head.name = "simclr_v2_head"
    c.head.hidden_dim = spec.get("head_hidden", 2048)
    c.head.output_dim = 128
    c.simclr.temperature = 0.1
    return c


def build_step(model: str, batch: int, dtype: str, devices: int):
    """``(step, train_state, device_batch, par)``: one case's uncompiled step, as ``train.py``."""
    import jax
    import numpy as np

    from jaxssl import methods
    from jaxssl.train import optim, parallel, state, steps

    c = build_config(model, batch, dtype, devices)
    par = parallel.Parallel(parallel.make_mesh(parallel.select_devices(devices)))
    parallel.check_batch_size(batch, par.num_devices)
    method = methods.build(c, axis_name=par.axis_name, num_steps=1000)
    schedule = optim.make_schedule(c.optim, batch, total_steps=1000, steps_per_epoch=100)
    tx = optim.make_optimizer(c.optim, schedule)
    side = MODELS[model]["source_size"]
    rng = np.random.default_rng(0)
    host = {
        "image": rng.integers(0, 256, (batch, side, side, 3), dtype=np.uint8),
        "index": np.arange(batch, dtype=np.int32),
    }
    sample = {k: v[:2] for k, v in host.items()}
    train_state = par.init(lambda: state.create_state(method, tx, jax.random.key(0), sample))
    step = steps.make_train_step(method, tx, schedule=schedule)
    return step, train_state, par.put_batch(host), par


def step_flops(step, train_state, device_batch) -> float | None:
    """FLOPs of one (global) step: XLA's cost analysis of its HLO lowered for the CPU.

    Not the compiled program's own analysis: on a GPU XLA hands convolutions
    to cuDNN as custom calls, which that analysis counts as zero (it gave a
    ResNet-50 step about 2% of its FLOPs), and the GPU's pre-optimisation
    analysis is not available. Lowered for the CPU, every convolution and dot
    is an HLO op with a known cost; the count depends on the program, not on
    the device. Nothing is compiled or run for it.
    """
    import jax

    shapes = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), (train_state, device_batch)
    )
    lowered = jax.jit(step).trace(*shapes).lower(lowering_platforms=("cpu",))
    cost = lowered.cost_analysis()
    if isinstance(cost, list):  # older jax: one dict per program
        cost = cost[0] if cost else None
    return float(cost["flops"]) if cost and "flops" in cost else None


def run_case(case: dict) -> dict:
    """Measures one case in this process; returns its row."""
    import time

    import jax

    row = dict(case)
    start = time.perf_counter()
    step, train_state, device_batch, par = build_step(
        case["model"], case["batch"], case["dtype"], case["devices"]
    )
    compiled = par.compile_step(step).lower(train_state, device_batch).compile()
    row["compile_s"] = time.perf_counter() - start
    # bench_scaling.py shows no FLOPs: its cases skip the count (a second trace and lowering)
    count = case.get("count_flops", True)
    flops = step_flops(step, train_state, device_batch) if count else None
    if flops is None and count:
        # seen on a GPU: the analysis is not there; a CPU machine has it
        row["flops_note"] = "no XLA cost analysis here: run --recount on a CPU machine"
    box = [train_state]

    def one_step():
        box[0], metrics = compiled(box[0], device_batch)
        return box[0], metrics

    t = _common.timed(one_step, jax.block_until_ready, case["warmup"], case["repeats"])
    row["step_ms"] = 1e3 * t["median"]
    row["step_ms_min"], row["step_ms_max"] = 1e3 * t["min"], 1e3 * t["max"]
    row["step_ms_samples"] = [1e3 * s for s in t["samples"]]
    row["spread"] = (t["max"] - t["min"]) / t["median"]
    row["images_per_s"] = 2 * case["batch"] / t["median"]
    row["images_per_s_per_device"] = row["images_per_s"] / case["devices"]
    add_flops(row, flops)
    peak = _common.peak_memory_mib()
    if peak is None:
        mem = compiled.memory_analysis()
        peak = (mem.temp_size_in_bytes + mem.argument_size_in_bytes) / 2**20
        row["peak_mib_source"] = "compiled temp + arguments"
    else:
        row["peak_mib_source"] = "device peak_bytes_in_use"
    row["peak_mib"] = peak
    row["device"] = _common.jax_device()
    row["status"] = "ok"
    return row


def add_flops(row: dict, flops: float | None) -> dict:
    """``row`` with its FLOP columns: GFLOP/step and TFLOP/s per device, and MFU."""
    row["gflop_per_step"] = None if flops is None else flops / 1e9 / row["devices"]
    if row["gflop_per_step"] is not None and "step_ms" in row:
        row["tflops_per_s_per_device"] = row["gflop_per_step"] / row["step_ms"]
        if row.get("peak_tflops"):
            row["mfu"] = row["tflops_per_s_per_device"] / row["peak_tflops"]
    return row


def recount(path: Path) -> dict:
    """The results in ``path`` with FLOPs counted again here (for files from older versions)."""
    import jax

    payload = json.loads(path.read_text())
    for row in payload["rows"]:
        if row.get("status") == "ok":
            if row["devices"] > jax.device_count():
                sys.exit(f"{path}: a row ran on {row['devices']} devices, this machine has fewer")
            flops = step_flops(
                *build_step(row["model"], row["batch"], row["dtype"], row["devices"])[:3]
            )
            add_flops(row, flops)
            row["flops_counted"] = f"recounted by --recount, jax {jax.__version__}"
    return payload


def device_info(case: dict) -> dict:
    """The device and its measured matmul peak per dtype (run in a subprocess)."""
    info = {"device": _common.jax_device()}
    if case.get("peak_tflops"):
        info["peak_tflops"] = {d: case["peak_tflops"] for d in case["dtypes"]}
        info["peak_source"] = "given (--peak-tflops)"
    else:
        info["peak_tflops"] = {
            d: _common.matmul_peak_tflops(d, case["matmul_n"]) for d in case["dtypes"]
        }
        info["peak_source"] = f"measured: {case['matmul_n']}^3 matmul in the same dtype"
    return dict(case, **info, status="ok")


def markdown(rows: list[dict], title: str) -> str:
    """The rows as a markdown table."""
    lines = [
        title,
        "",
        "| model | batch | dtype | dev | img/s/dev | step ms | spread | GFLOP/step "
        "| TFLOP/s | MFU | peak MiB | compile s | status |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    f = _common.fmt
    for r in rows:
        mfu = r.get("mfu")
        lines.append(
            f"| {r['model']} | {r['batch']} | {r['dtype']} | {r['devices']} "
            f"| {f(r.get('images_per_s_per_device'), ',.0f')} | {f(r.get('step_ms'), '.2f')} "
            f"| {f(None if 'spread' not in r else 100 * r['spread'], '.0f')}% "
            f"| {f(r.get('gflop_per_step'), ',.1f')} "
            f"| {f(r.get('tflops_per_s_per_device'), '.3g')} "
            f"| {f(None if mfu is None else 100 * mfu, '.1f')}% | {f(r.get('peak_mib'), ',.0f')} "
            f"| {f(r.get('compile_s'), '.1f')} | {r['status']} |"
        )
    return "\n".join(lines)


def title(info: dict, what: str) -> str:
    """One line naming the device, the peak used for MFU and the versions."""
    d = info.get("device", {})
    peaks = ", ".join(f"{k} {v:.3g}" for k, v in info.get("peak_tflops", {}).items())
    vers = ", ".join(f"{k} {v}" for k, v in _common.versions().items() if k != "numpy")
    return (
        f"{what} on {d.get('count', '?')} x {d.get('kind', '?')} ({d.get('platform', '?')}); "
        f"MFU peak TFLOP/s: {peaks} ({info.get('peak_source', '?')}); {vers}"
    )


def parse_args(argv=None):
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", choices=sorted(MODELS), default=list(DEFAULT_BATCHES)
    )
    parser.add_argument(
        "--batches", type=int, nargs="+", help="global batch sizes (default: per model)"
    )
    parser.add_argument(
        "--dtypes", nargs="+", choices=("float32", "bfloat16"), default=["float32", "bfloat16"]
    )
    parser.add_argument("--devices", type=int, default=1, help="devices in the mesh (first N)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--peak-tflops", type=float, help="device peak for MFU (default: measured)")
    parser.add_argument(
        "--matmul-n", type=int, default=8192, help="side of the peak-measuring matmul"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small_cnn, batch 16, 2 repeats: a CPU smoke pass"
    )
    parser.add_argument("--out", type=Path, default=_common.RESULTS / "bench_train_step.json")
    parser.add_argument(
        "--recount",
        type=Path,
        help="count the FLOPs of the rows of this results file again (no timing) and rewrite it",
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.models, args.batches, args.dtypes = ["small_cnn"], [16], ["float32"]
        args.warmup, args.repeats, args.matmul_n = 1, 2, 256
    for name, least in (("warmup", 0), ("repeats", 1), ("devices", 1), ("matmul_n", 1)):
        if getattr(args, name) < least:
            flag = "--" + name.replace("_", "-")
            parser.error(f"{flag} must be >= {least}, got {getattr(args, name)}")
    return args


def main(argv=None) -> None:
    """Runs the sweep; see the module docstring."""
    args = parse_args(argv)
    if args.case:
        case = json.loads(args.case)
        print(json.dumps(device_info(case) if case.get("info") else run_case(case)))
        return
    if args.recount:
        payload = recount(args.recount)
        print(markdown(payload["rows"], title(payload["info"], "SimCLR train step")))
        _common.write_json(args.recount, payload)
        return
    script = str(Path(__file__).resolve())
    info = _common.run_subprocess(
        script,
        {
            "info": True,
            "dtypes": args.dtypes,
            "matmul_n": args.matmul_n,
            "peak_tflops": args.peak_tflops,
        },
    )
    if info.get("status") != "ok":
        sys.exit(f"could not read the device: {info.get('status')}")
    rows = []
    for model in args.models:
        for batch in args.batches or DEFAULT_BATCHES.get(model, [16]):
            for dtype in args.dtypes:
                case = {
                    "model": model,
                    "batch": batch,
                    "dtype": dtype,
                    "devices": args.devices,
                    "warmup": args.warmup,
                    "repeats": args.repeats,
                    "peak_tflops": info["peak_tflops"][dtype],
                }
                print(f"running {model} batch {batch} {dtype} ...", file=sys.stderr, flush=True)
                rows.append(_common.run_subprocess(script, case))
                payload = {"benchmark": "train_step", "info": info, "rows": rows}
                _common.write_json(args.out, dict(payload, versions=_common.versions()), quiet=True)
    print(markdown(rows, title(info, "SimCLR train step")))
    _common.write_json(args.out, dict(payload, versions=_common.versions()))


if __name__ == "__main__":
    main()
