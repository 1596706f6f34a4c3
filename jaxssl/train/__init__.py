"""Training: state, optimizers, devices, the generic step, checkpoints, the loop.

The pieces every program shares; what a run does end to end is a program
(:mod:`jaxssl.programs`). ``run(config, workdir)`` here is
:func:`jaxssl.programs.run`, kept as the public entry; the pieces are usable
alone: :func:`make_train_step` is a pure function of a method and an optax
optimizer.
"""

from typing import Any

from jaxssl.train.checkpoint import Checkpointer, load_pretrained, restore_params
from jaxssl.train.config import default_config, validate
from jaxssl.train.optim import decay_mask, make_optimizer, make_schedule, peak_learning_rate
from jaxssl.train.parallel import Parallel, check_batch_size, make_mesh
from jaxssl.train.state import TrainState, create_state
from jaxssl.train.steps import make_finetune_step, make_train_step


def run(config, workdir: str) -> dict[str, Any]:
    """:func:`jaxssl.programs.run`: trains (or resumes) ``config`` in ``workdir``."""
    # jaxssl.programs sits above jaxssl.train (it imports it), so it is
    # imported when called, not when jaxssl.train is.
    from jaxssl.programs import run as run_program

    return run_program(config, workdir)


__all__ = [
    "Checkpointer",
    "Parallel",
    "TrainState",
    "check_batch_size",
    "create_state",
    "decay_mask",
    "default_config",
    "load_pretrained",
    "make_finetune_step",
    "make_mesh",
    "make_optimizer",
    "make_schedule",
    "make_train_step",
    "peak_learning_rate",
    "restore_params",
    "run",
    "validate",
]
