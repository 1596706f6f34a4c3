"""Training: state, optimizers, devices, the generic step, checkpoints, the loop.

``run(config, workdir)`` is the whole program (``train.py`` is a thin CLI
around it); the pieces are usable alone: :func:`make_train_step` is a pure
function of a method and an optax optimizer.
"""

from jaxssl.train.checkpoint import Checkpointer, load_pretrained, restore_params
from jaxssl.train.config import default_config, validate
from jaxssl.train.loop import run, summary_line
from jaxssl.train.optim import decay_mask, make_optimizer, make_schedule, peak_learning_rate
from jaxssl.train.parallel import Parallel, check_batch_size, make_mesh
from jaxssl.train.state import TrainState, create_state
from jaxssl.train.steps import make_finetune_step, make_train_step

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
    "summary_line",
    "validate",
]
