"""jaxssl against PyTorch + lightly: the same SimCLR step on the same device.

The PyTorch side is what a lightly user trains: a torchvision ResNet (CIFAR
stem for ``resnet18_cifar``: 3x3 conv, no max-pool) or a torchvision
VisionTransformer (ViT-S/16), the same SimCLR v2 projection head (3 layers,
hidden 2048, BatchNorm), lightly's ``NTXentLoss`` (temperature 0.1) and
lightly's ``LARS``; channels-last, ``torch.autocast`` to bf16 for
``bfloat16``, optionally ``torch.compile`` (``--torch-compile``).

Two PyTorch modes:

* ``step``: both views are already made, as float tensors on the device, so
  PyTorch's time has **no augmentation in it**. This is the ratio to read
  against the target: it is the most favourable case for PyTorch.
* ``loader`` (``--loader-workers N`` > 0): lightly's ``SimCLRTransform`` (the
  same crops, flips, colour jitter, greyscale and, at 224, blur) in a
  ``DataLoader`` with N worker processes on the host's CPUs, feeding the same
  step: what a lightly training run does.

The jaxssl side is :mod:`bench_train_step`'s case: augmentation of uint8
images on the device, in the compiled step. ``ratio`` is jaxssl images/s over
PyTorch's for the same model, batch and dtype.

Without PyTorch, torchvision or lightly the script says so, writes a JSON
with ``torch_skipped`` (the reason) and no rows, and exits 0.

Usage::

    python benchmarks/bench_vs_torch.py --models resnet18_cifar resnet50 --dtype bfloat16
    python benchmarks/bench_vs_torch.py --quick
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import _common
import bench_train_step

TORCH_MODELS = ("resnet18_cifar", "resnet50", "vit_s16")


def missing_torch() -> str | None:
    """Why the PyTorch side cannot run here, or None."""
    absent = [m for m in ("torch", "torchvision", "lightly") if importlib.util.find_spec(m) is None]
    if absent:
        return f"not installed: {', '.join(absent)} (pip install torch torchvision lightly)"
    return None


def torch_model(name: str):
    """Encoder + SimCLR v2 head as one torch module."""
    import torch
    import torchvision
    from torch import nn

    if name == "resnet18_cifar":
        enc = torchvision.models.resnet18()
        enc.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        enc.maxpool = nn.Identity()
        width = 512
    elif name == "resnet50":
        enc, width = torchvision.models.resnet50(), 2048
    elif name == "vit_s16":
        enc = torchvision.models.VisionTransformer(
            image_size=224, patch_size=16, num_layers=12, num_heads=6, hidden_dim=384, mlp_dim=1536
        )
        enc.heads, width = nn.Identity(), 384
    else:
        raise ValueError(f"model must be one of {TORCH_MODELS}, got {name!r}")
    if hasattr(enc, "fc"):
        enc.fc = nn.Identity()
    layers, dims = [], [width, 2048, 2048, 128]
    for i in range(3):
        layers += [nn.Linear(dims[i], dims[i + 1], bias=False), nn.BatchNorm1d(dims[i + 1])]
        if i < 2:
            layers.append(nn.ReLU(inplace=True))
    return torch.nn.Sequential(enc, *layers)


def _loader(case: dict, side: int, image_size: int):
    import numpy as np
    import torch
    from lightly.transforms import SimCLRTransform
    from PIL import Image

    transform = SimCLRTransform(
        input_size=image_size,
        cj_strength=0.5 if image_size <= 32 else 1.0,
        gaussian_blur=0.0 if image_size <= 32 else 0.5,
    )
    pool = np.random.default_rng(0).integers(0, 256, (256, side, side, 3), dtype=np.uint8)

    class Synthetic(torch.utils.data.Dataset):
        def __len__(self):
            return case["batch"] * (case["warmup"] + case["repeats"] + 2)

        def __getitem__(self, i):
            return transform(Image.fromarray(pool[i % len(pool)]))

    return torch.utils.data.DataLoader(
        Synthetic(),
        batch_size=case["batch"],
        num_workers=case["loader_workers"],
        drop_last=True,
        pin_memory=True,
        persistent_workers=True,
        prefetch_factor=4,
    )


def run_torch_case(case: dict) -> dict:
    """One PyTorch case in this process; returns its row."""
    import time

    import torch
    from lightly.loss import NTXentLoss
    from lightly.utils.lars import LARS

    row = dict(case)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    spec = bench_train_step.MODELS[case["model"]]
    size, batch = spec["image_size"], case["batch"]
    model = torch_model(case["model"]).to(dev, memory_format=torch.channels_last)
    loss_fn = NTXentLoss(temperature=0.1)
    opt = LARS(model.parameters(), lr=0.3 * batch / 256, momentum=0.9, weight_decay=1e-6)
    bf16 = case["dtype"] == "bfloat16"

    def train_step(x0, x1):
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            z = model(torch.cat([x0, x1]))
        z0, z1 = z.float().chunk(2)
        loss = loss_fn(z0, z1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    if case.get("torch_compile"):
        model = torch.compile(model)
    if case["mode"] == "loader":
        it = iter(_loader(case, spec["source_size"], size))

        def call():
            views = next(it)  # SimCLRTransform's two views, collated: [view0, view1]
            x0, x1 = (
                v.to(dev, non_blocking=True, memory_format=torch.channels_last) for v in views
            )
            return train_step(x0, x1)
    else:
        g = torch.Generator(device="cpu").manual_seed(0)
        x0, x1 = (
            torch.rand((batch, 3, size, size), generator=g).to(
                dev, memory_format=torch.channels_last
            )
            for _ in range(2)
        )

        def call():
            return train_step(x0, x1)

    def sync(_):
        if dev.type == "cuda":
            torch.cuda.synchronize()

    start = time.perf_counter()
    sync(call())
    row["first_step_s"] = time.perf_counter() - start
    t = _common.timed(call, sync, case["warmup"], case["repeats"])
    row["step_ms"] = 1e3 * t["median"]
    row["step_ms_min"], row["step_ms_max"] = 1e3 * t["min"], 1e3 * t["max"]
    row["step_ms_samples"] = [1e3 * s for s in t["samples"]]
    row["spread"] = (t["max"] - t["min"]) / t["median"]
    row["images_per_s"] = 2 * batch / t["median"]
    if dev.type == "cuda":
        row["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
        row["device"] = {"platform": "gpu", "kind": torch.cuda.get_device_name(0), "count": 1}
    else:
        row["device"] = {"platform": "cpu", "kind": "cpu", "count": 1}
    row["status"] = "ok"
    return row


def parse_args(argv=None):
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", choices=TORCH_MODELS, default=["resnet18_cifar", "resnet50"]
    )
    parser.add_argument(
        "--batches", type=int, nargs="+", help="default: 512 (CIFAR), 256 (224x224)"
    )
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="bfloat16")
    parser.add_argument(
        "--loader-workers", type=int, default=0, help="> 0: also the lightly DataLoader mode"
    )
    parser.add_argument("--torch-compile", action="store_true")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="resnet18_cifar, batch 8, 2 repeats")
    parser.add_argument("--out", type=Path, default=_common.RESULTS / "bench_vs_torch.json")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.models, args.batches, args.dtype = ["resnet18_cifar"], [8], "float32"
        args.warmup, args.repeats = 1, 2
    return args


def main(argv=None) -> None:
    """Runs the comparison; see the module docstring."""
    args = parse_args(argv)
    if args.case:
        print(json.dumps(run_torch_case(json.loads(args.case))))
        return
    why = missing_torch()
    if why:
        # nothing to compare with: bench_train_step.py gives the jaxssl numbers alone
        print(f"skipped: PyTorch side {why}", file=sys.stderr)
        _common.write_json(
            args.out,
            {
                "benchmark": "vs_torch",
                "torch_skipped": why,
                "rows": [],
                "versions": _common.versions(),
            },
        )
        return
    rows = []
    for model in args.models:
        for batch in args.batches or [512 if model == "resnet18_cifar" else 256]:
            base = {"model": model, "batch": batch, "dtype": args.dtype, "warmup": args.warmup}
            base["repeats"] = args.repeats
            print(f"running jaxssl {model} batch {batch} ...", file=sys.stderr, flush=True)
            jax_row = _common.run_subprocess(bench_train_step.__file__, dict(base, devices=1))
            rows.append(dict(jax_row, framework="jaxssl", mode="step incl. augmentation"))
            modes = ["step"] + (["loader"] if args.loader_workers > 0 else [])
            for mode in modes:
                case = dict(base, framework="torch", mode=mode)
                case.update(loader_workers=args.loader_workers, torch_compile=args.torch_compile)
                print(
                    f"running torch {model} batch {batch} {mode} ...", file=sys.stderr, flush=True
                )
                row = _common.run_subprocess(__file__, case)
                if "images_per_s" in row and "images_per_s" in jax_row:
                    row["ratio"] = jax_row["images_per_s"] / row["images_per_s"]
                rows.append(row)
    f = _common.fmt
    d = next((r["device"] for r in rows if "device" in r), {"kind": "?", "platform": "?"})
    vers = ", ".join(f"{k} {v}" for k, v in _common.versions().items() if k != "numpy")
    print(
        f"SimCLR step, jaxssl vs PyTorch + lightly, {args.dtype}, "
        f"{d['kind']} ({d['platform']}); {vers}\n"
    )
    print(
        "| model | batch | framework | mode | img/s | step ms | spread | jaxssl / this | status |"
    )
    print("|---|---:|---|---|---:|---:|---:|---:|---|")
    for r in rows:
        spread = None if "spread" not in r else 100 * r["spread"]
        print(
            f"| {r['model']} | {r['batch']} | {r['framework']} | {r['mode']} "
            f"| {f(r.get('images_per_s'), ',.0f')} | {f(r.get('step_ms'), '.2f')} "
            f"| {f(spread, '.0f')}% "
            f"| {f(r.get('ratio'), '.2f')} | {r['status']} |"
        )
    _common.write_json(
        args.out,
        {
            "benchmark": "vs_torch",
            "torch_skipped": why,
            "rows": rows,
            "versions": _common.versions(),
        },
    )


if __name__ == "__main__":
    main()
