"""jaxssl's training program: ``jaxssl-train`` (installed) or ``python train.py`` (a checkout).

  jaxssl-train                                      # SimCLR on the bundled digits, then probes
  jaxssl-train --config=simclr_cifar10 --workdir=runs/c10
  jaxssl-train --config=simclr_cifar10:800 --config.batch_size=1024
  jaxssl-train --config=configs/finetune_digits.py --config.init_from=runs/digits

``--config`` takes the name of a shipped config (``NAME`` or ``NAME:ARG``: the
files of the repository's ``configs/``, installed as the package
``jaxssl.configs``) or the path of a config file (``PATH.py`` or
``PATH.py:ARG``); ARG is passed to its ``get_config``. An argument with a
path separator or ending in ``.py`` is a path, anything else a name.

``--config.KEY=VALUE`` overrides any key (an unknown key is an error). With no
``--workdir`` the run goes to ``runs/<timestamp>``. Re-running with the same
workdir resumes from its newest checkpoint, exactly where it stopped.

SIGTERM or Ctrl-C (SIGINT) finishes the current step, saves a checkpoint and
exits with status 0; run the same command again to continue. A config file is
Python and is executed: run only config files you trust.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
import sys
import time
import warnings

import jax
import ml_collections
from absl import app, flags, logging
from ml_collections import config_flags

from jaxssl.train import run
from jaxssl.train.checkpoint import CheckpointSaveError
from jaxssl.train.workdir import WorkdirInUseError

DEFAULT_CONFIG = "simclr_digits"
# What a bad config, bad data, a used workdir or a failed save raises: the
# user gets the message alone, exit status 1 (JAXSSL_TRACEBACK=1 re-raises).
USER_ERRORS = (
    ValueError,
    TypeError,
    OSError,
    FloatingPointError,
    WorkdirInUseError,
    CheckpointSaveError,
)


def configs_dir() -> str:
    """The folder of the shipped configs: the package ``jaxssl.configs``.

    An installed jaxssl (wheel or editable) has that package; a checkout used
    without installing (``PYTHONPATH=.``) or installed before the package
    existed falls back to the checkout's ``configs/`` folder, the same files.
    """
    try:
        spec = importlib.util.find_spec("jaxssl.configs")
    except ImportError:
        spec = None
    if spec is not None and spec.origin:
        return os.path.dirname(spec.origin)
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")


def config_names() -> list[str]:
    """The names ``--config`` accepts: one per ``.py`` file of :func:`configs_dir`."""
    folder = configs_dir()
    names = os.listdir(folder) if os.path.isdir(folder) else []
    return sorted(
        n.removesuffix(".py") for n in names if n.endswith(".py") and not n.startswith("_")
    )


def resolve_config(argument: str) -> tuple[str, str | None]:
    """``(path, arg)`` of a ``--config`` value: ``NAME[:ARG]`` or ``PATH.py[:ARG]``.

    A value whose part before the first ``:`` holds a path separator or ends
    in ``.py`` is a path (relative ones from the working directory) and comes
    back as it is; otherwise it names a shipped config.

    Raises:
      ValueError: a name that is not a shipped config (the message lists the
        names there are), or a path where no file is.
    """
    target, colon, arg = argument.partition(":")
    separators = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    names = config_names()
    if target.endswith(".py") or any(s in target for s in separators):
        if not os.path.isfile(target):
            stem = os.path.basename(target).removesuffix(".py")
            hint = f"; a shipped config is named {stem}: --config={stem}" if stem in names else ""
            raise ValueError(f"config file {target!r} does not exist{hint}.")
        return target, arg if colon else None
    if target not in names:
        raise ValueError(
            f"no shipped config named {target!r}; the names are: {', '.join(names)} "
            "(or pass a config file: --config=PATH.py[:ARG])."
        )
    return os.path.join(configs_dir(), f"{target}.py"), arg if colon else None


class _NameOrFileParser(config_flags.config_flags.ConfigFileFlagParser):
    """ml_collections' config file parser, turning a shipped config's name into its path first."""

    def parse(self, argument):
        path, arg = resolve_config(argument)
        with warnings.catch_warnings():
            # ml_collections loads the file with importlib's deprecated load_module:
            # nothing a user of the program can act on
            warnings.filterwarnings("ignore", "the load_module", DeprecationWarning)
            return super().parse(path if arg is None else f"{path}:{arg}")


# The flag is defined without a default (nothing is loaded yet), given the
# parser that knows the names, then its default, which that parser loads.
_CONFIG = config_flags.DEFINE_config_file(
    "config",
    None,
    "A shipped config by name, NAME or NAME:ARG (e.g. simclr_cifar10:800), or a config "
    "file, PATH.py or PATH.py:ARG; ARG is passed to its get_config, --config.KEY=VALUE "
    f"overrides a key. The names: {', '.join(config_names())}.",
)
flags.FLAGS["config"].parser = _NameOrFileParser(name="config")
flags.FLAGS.set_default("config", DEFAULT_CONFIG)
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Run directory (checkpoints, metrics); default runs/<timestamp>."
)


def parse_flags(argv: list[str]) -> list[str]:
    """Parses ``argv`` into the flags; returns the arguments left over.

    Raises:
      flags.Error: a bad flag value, an unknown config name, a config file
        that cannot be loaded, or an override ``--config.KEY=...`` of a key
        the config does not have (ml_collections raises a bare
        ``AttributeError: 'KEY'`` for that one).
    """
    try:
        left = flags.FLAGS(argv)
    except (AttributeError, KeyError) as error:
        # ml_collections' message is "'KEY'", or "'KEY'\nDid you mean ..." (quoted
        # again by KeyError) when a key is near: the key is its first name
        found = re.search(r"[A-Za-z_][A-Za-z0-9_]*", str(error))
        key = found.group() if found else ""
        named = [
            a.split("=")[0]
            for a in argv[1:]
            if a.startswith("--config.") and key in a.split("=")[0].split(".")
        ]
        if not named:  # not an override's: an error of the config file itself
            raise
        raise flags.IllegalFlagValueError(
            f"{' '.join(named)}: the config has no key {key!r}{_suggestion(named[0])}; every "
            "key is listed in jaxssl/train/config.py."
        ) from None
    try:
        _CONFIG.value.keys()
    except OSError as error:  # ml_collections defers a missing file's error to first use
        raise flags.IllegalFlagValueError(f"--config: {error}") from error
    return left


def _suggestion(flag: str) -> str:
    """`` (did you mean --config.KEY?)`` for the config key nearest ``--config.NAME``, or ''."""
    from jaxssl.train import config as config_lib

    config = flags.FLAGS["config"].value  # the loaded config, when it got that far
    if not isinstance(config, ml_collections.ConfigDict):
        config = config_lib.default_config()
    keys = [key for key, _ in config_lib._flat(config.to_dict())]  # the dotted keys
    name = flag.removeprefix("--config.")
    parent, _, leaf = name.rpartition(".")
    # a near name in the same section first (a shared prefix would make any
    # key of the section look near), then a near dotted key anywhere
    siblings = [k.rpartition(".")[2] for k in keys if k.rpartition(".")[0] == parent]
    close = [f"{parent}.{c}".lstrip(".") for c in difflib.get_close_matches(leaf, siblings, n=1)]
    close = close or difflib.get_close_matches(name, keys, n=1, cutoff=0.8)
    return f" (did you mean --config.{close[0]}?)" if close else ""


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
    try:
        run(_CONFIG.value, workdir)
    except USER_ERRORS as error:
        if os.environ.get("JAXSSL_TRACEBACK", "") not in ("", "0"):
            raise
        # the message says what was wrong and what to do; a traceback would bury it
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        print("(JAXSSL_TRACEBACK=1 shows where it was raised)", file=sys.stderr, flush=True)
        if jax.distributed.is_initialized():
            # sys.exit would run jax.distributed's shutdown, which waits (up to
            # 5 minutes) for every other process to reach it; the others are
            # mid-run, so the error would look like a hang. Exiting now lets
            # them (or python -m jaxssl.launch) see this process gone.
            sys.stdout.flush()
            os._exit(1)
        sys.exit(1)


def run_cli() -> None:
    """The program: ``jaxssl-train``'s entry point, and what ``train.py`` runs."""
    # --helpshort lists the flags of the main module (absl takes it from
    # sys.argv[0]): this module's, for the script that calls this.
    for name in ("config", "workdir"):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flags.FLAGS[name])
    app.run(main, flags_parser=_parse_flags_or_exit)
