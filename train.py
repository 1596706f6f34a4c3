"""jaxssl's training program.

  python train.py                                   # SimCLR on the bundled digits, then probes
  python train.py --config=configs/simclr_cifar10.py --workdir=runs/c10
  python train.py --config=configs/simclr_cifar10.py:800 --config.batch_size=1024
  python train.py --config=configs/finetune_digits.py --config.init_from=runs/digits

``--config.KEY=VALUE`` overrides any key (an unknown key is an error). With no
``--workdir`` the run goes to ``runs/<timestamp>``. Re-running with the same
workdir resumes from its newest checkpoint, exactly where it stopped.

SIGTERM or Ctrl-C (SIGINT) finishes the current step, saves a checkpoint and
exits with status 0; run the same command again to continue. A config file is
Python and is executed: run only config files you trust.
"""

from __future__ import annotations

import os
import sys
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


def parse_flags(argv: list[str]) -> list[str]:
    """Parses ``argv`` into the flags; returns the arguments left over.

    Raises:
      flags.Error: a bad flag value, a config file that cannot be loaded, or
        an override ``--config.KEY=...`` of a key the config does not have
        (ml_collections raises a bare ``AttributeError: 'KEY'`` for that one).
    """
    try:
        left = flags.FLAGS(argv)
    except (AttributeError, KeyError) as error:
        key = str(error).strip("'\"")
        named = [
            a.split("=")[0]
            for a in argv[1:]
            if a.startswith("--config.") and key in a.split("=")[0].split(".")
        ]
        if not named:  # not an override's: an error of the config file itself
            raise
        raise flags.IllegalFlagValueError(
            f"{' '.join(named)}: the config has no key {key!r}; every key is "
            "listed in jaxssl/train/config.py."
        ) from error
    try:
        _CONFIG.value.keys()
    except OSError as error:  # ml_collections defers a missing file's error to first use
        raise flags.IllegalFlagValueError(f"--config: {error}") from error
    return left


def _parse_flags_or_exit(argv: list[str]) -> list[str]:
    """``parse_flags``, with absl's usual one-line report and exit status 1 on error."""
    try:
        return parse_flags(argv)
    except flags.Error as error:
        sys.stderr.write(f"FATAL Flags parsing error: {error}\n")
        sys.stderr.write("Pass --helpshort or --helpfull to see help on flags.\n")
        sys.exit(1)


def main(argv):
    """Runs the config in the workdir."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not flags.FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)  # Orbax logs every save at INFO
    workdir = _WORKDIR.value or os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))
    run(_CONFIG.value, workdir)


if __name__ == "__main__":
    app.run(main, flags_parser=_parse_flags_or_exit)
