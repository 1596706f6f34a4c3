"""Every benchmark, one after the other: train step, scaling, vs PyTorch, losses, input, kNN.

Each script runs as its own process with its defaults (or ``--quick``, a
smoke pass of about two minutes on a 2-core CPU), prints its table and
writes its JSON to ``--out-dir`` (``benchmarks/results`` by default) as
``bench_<name>.json``. A script that fails does not stop the others; the exit
status is 1 if any failed.

Usage::

    python benchmarks/run_all.py --quick
    python benchmarks/run_all.py --only train_step vs_torch
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import _common

SCRIPTS = ("train_step", "scaling", "vs_torch", "losses", "input", "knn")


def main(argv=None) -> int:
    """Runs the scripts; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each script's --quick")
    parser.add_argument("--only", nargs="+", choices=SCRIPTS, default=list(SCRIPTS))
    parser.add_argument("--out-dir", type=Path, default=_common.RESULTS)
    args = parser.parse_args(argv)
    here = Path(__file__).resolve().parent
    failed = []
    for name in args.only:
        cmd = [sys.executable, str(here / f"bench_{name}.py")]
        cmd += ["--out", str(args.out_dir / f"bench_{name}.json")]
        cmd += ["--quick"] if args.quick else []
        print(f"\n## {name}\n\n$ {' '.join(cmd[1:])}\n", flush=True)
        start = time.perf_counter()
        if subprocess.run(cmd).returncode != 0:
            failed.append(name)
        print(f"\n({name}: {time.perf_counter() - start:.0f} s)", flush=True)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
