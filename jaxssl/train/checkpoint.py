"""Orbax checkpoints: the TrainState, the Grain iterator state and the resolved config.

One ``CheckpointManager`` per workdir (``WORKDIR/checkpoints``): asynchronous
saves, the last ``keep`` kept, a save every ``every_steps`` steps and
whenever JAX's preemption notice arrives (Orbax's preemption policy; it needs
``jax.distributed`` on the cluster). Each checkpoint holds three items:
``state`` (the TrainState), ``data`` (every process's iterator position, via
Grain's Orbax handler) and ``config`` (JSON), so a resumed run sees the same
batches and random numbers as one that never stopped.
"""

from __future__ import annotations

import os
from typing import Any

import grain
import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers as policies


class Checkpointer:
    """Saves and restores a run's checkpoints under ``directory``."""

    def __init__(
        self, directory: str, *, every_steps: int = 1000, keep: int = 3, async_save: bool = True
    ):
        self.directory = os.path.abspath(directory)
        options = ocp.CheckpointManagerOptions(
            max_to_keep=keep,
            enable_async_checkpointing=async_save,
            save_decision_policy=policies.AnySavePolicy(
                [
                    policies.FixedIntervalPolicy(every_steps),
                    policies.PreemptionCheckpointingPolicy(),
                ]
            ),
        )
        self.manager = ocp.CheckpointManager(self.directory, options=options)

    def latest_step(self) -> int | None:
        """The newest complete checkpoint's step, or None."""
        return self.manager.latest_step()

    def should_save(self, step: int) -> bool:
        """Whether the policy (every K steps, or a preemption notice) wants a save at ``step``."""
        return self.manager.should_save(step)

    def reached_preemption(self, step: int) -> bool:
        """Whether every process has seen a preemption notice by ``step`` (then stop)."""
        return self.manager.reached_preemption(step)

    def save(
        self,
        step: int,
        state: Any,
        data_iterator,
        config: ml_collections.ConfigDict,
        *,
        force: bool = False,
    ) -> bool:
        """Saves if the policy says so at ``step`` (or ``force``); returns whether it did."""
        args = ocp.args.Composite(
            state=ocp.args.StandardSave(state),
            data=grain.checkpoint.CheckpointSave(data_iterator),
            config=ocp.args.JsonSave(config.to_dict()),
        )
        return self.manager.save(step, args=args, force=force)

    def restore(self, step: int, abstract_state: Any, data_iterator) -> Any:
        """The state at ``step``, laid out like ``abstract_state``; moves ``data_iterator`` too."""
        restored = self.manager.restore(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract_state),
                data=grain.checkpoint.CheckpointRestore(data_iterator),
            ),
        )
        return restored["state"]

    def wait(self) -> None:
        """Blocks until pending asynchronous saves are on disk."""
        self.manager.wait_until_finished()

    def close(self) -> None:
        """Finishes pending saves and releases the manager."""
        self.manager.close()


def restore_params(directory: str, like: Any = None) -> Any:
    """The ``params`` of the newest checkpoint under ``directory`` (for ``config.init_from``).

    ``directory`` is a run's workdir or its ``checkpoints`` folder. The
    parameters must have the same tree and shapes as ``like`` (None: returned
    as stored, NumPy arrays); the optimizer and method state of that run are
    not read.

    Raises:
      FileNotFoundError: no checkpoint there.
      ValueError: the parameters do not match ``like`` (names the first difference).
    """
    path = os.path.abspath(directory)
    if os.path.isdir(os.path.join(path, "checkpoints")):
        path = os.path.join(path, "checkpoints")
    manager = ocp.CheckpointManager(path, options=ocp.CheckpointManagerOptions(read_only=True))
    step = manager.latest_step()
    if step is None:
        raise FileNotFoundError(f"config.init_from={directory!r}: no checkpoint found in {path}.")
    manager.close()
    # Read the state item alone, every leaf as a host NumPy array: the run
    # that wrote it may have had another device layout than this one.
    item = os.path.join(path, str(step), "state")
    checkpointer = ocp.PyTreeCheckpointer()
    tree = checkpointer.metadata(item).item_metadata.tree
    restore_args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), tree)
    restored = checkpointer.restore(item, args=ocp.args.PyTreeRestore(restore_args=restore_args))
    restored = restored["params"]
    if like is None:
        return restored
    want = jax.tree_util.tree_flatten_with_path(like)[0]
    got = dict(jax.tree_util.tree_flatten_with_path(restored)[0])
    for path_, leaf in want:
        if path_ not in got or got[path_].shape != leaf.shape:
            found = got[path_].shape if path_ in got else "missing"
            raise ValueError(
                f"config.init_from={directory!r}: parameter {jax.tree_util.keystr(path_)} has "
                f"shape {leaf.shape} in this model but {found} in the checkpoint."
            )
    return jax.tree.map(lambda p, q: np.asarray(q).astype(p.dtype), like, restored)
