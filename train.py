"""jaxssl's training program.

  python train.py                                   # SimCLR on the bundled digits, then probes
  python train.py --config=configs/simclr_cifar10.py --workdir=runs/c10
  python train.py --config=configs/simclr_cifar10.py:800 --config.batch_size=1024
  python train.py --config=configs/finetune_digits.py --config.init_from=runs/digits

``--config.KEY=VALUE`` overrides any key (an unknown key is an error). With no
``--workdir`` the run goes to ``runs/<timestamp>``. Re-running with the same
workdir resumes from its newest checkpoint.
"""

from __future__ import annotations

import os
import time

from absl import app, flags, logging
from ml_collections import config_flags

from jaxssl.train import run

_HERE = os.path.dirname(os.path.abspath(__file__))
_CONFIG = config_flags.DEFINE_config_file(
    "config",
    os.path.join(_HERE, "configs", "simclr_digits.py"),
    "Config file (ml_collections); FILE.py:ARG passes ARG to get_config.",
)
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Run directory (checkpoints, metrics); default runs/<timestamp>."
)


def main(argv):
    """Runs the config in the workdir."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not flags.FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)  # Orbax logs every save at INFO
    workdir = _WORKDIR.value or os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))
    run(_CONFIG.value, workdir)


if __name__ == "__main__":
    app.run(main)
