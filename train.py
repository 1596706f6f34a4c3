"""jaxssl's training program, from a checkout (installed, the same is ``jaxssl-train``).

  python train.py                                   # SimCLR on the bundled digits, then probes
  python train.py --config=simclr_cifar10 --workdir=runs/c10
  python train.py --config=simclr_cifar10:800 --config.batch_size=1024
  python train.py --config=configs/finetune_digits.py --config.init_from=runs/digits

``--config`` takes a shipped config's name (NAME or NAME:ARG, a file of
configs/) or a config file's path (PATH.py or PATH.py:ARG); ARG is passed to
its get_config. ``--config.KEY=VALUE`` overrides any key (an unknown key is an
error). With no ``--workdir`` the run goes to ``runs/<timestamp>``. Re-running
with the same workdir resumes from its newest checkpoint, exactly where it
stopped.

SIGTERM or Ctrl-C (SIGINT) finishes the current step, saves a checkpoint and
exits with status 0; run the same command again to continue. A config file is
Python and is executed: run only config files you trust.

The program is jaxssl.cli; this script only starts it.
"""

from jaxssl.cli import _parse_flags_or_exit, main, parse_flags, run_cli

__all__ = ["_parse_flags_or_exit", "main", "parse_flags", "run_cli"]

if __name__ == "__main__":
    run_cli()
