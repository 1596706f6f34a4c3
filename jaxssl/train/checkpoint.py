"""Orbax checkpoints: the TrainState and the resolved config; the data position is the step.

One ``CheckpointManager`` per workdir (``WORKDIR/checkpoints``): asynchronous
saves, the last ``keep`` kept, a save every ``every_steps`` steps and
whenever JAX's preemption notice arrives (Orbax's preemption policy; it needs
``jax.distributed`` on the cluster). Each checkpoint holds two items:
``state`` (the TrainState, whose ``step`` is also the data position: the
loader is a deterministic function of the seed, so a resumed run restarts
it at that batch, :func:`jaxssl.data.make_loader`'s ``start_batch``) and
``config`` (JSON), so a resumed run sees the same batches and random numbers
as one that never stopped. (Grain's own iterator state was saved as a third
item before: it depends on the worker count, so a resume with another
``worker_count`` failed to read an intact checkpoint and set it aside as
damaged. A checkpoint that still has that item restores; the item is not
read.) Once a save is known
to be complete on disk (a synchronous one at once; an asynchronous one at the
next save, wait or close), ``checksums.json`` beside its items lists the
CRC-32 and size of every file in it; a restore checks them first, so a
flipped byte is damage (the previous checkpoint is used), not parameters that
load and give NaN later.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import zlib
from collections.abc import Callable
from typing import Any

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from jax.experimental import multihost_utils
from orbax.checkpoint import checkpoint_managers as policies


class CheckpointSaveError(RuntimeError):
    """A checkpoint could not be written (disk full, permissions); earlier ones are intact."""

    def __init__(self, step: int | None, directory: str, last_good: int | None, cause: Exception):
        what = f"step {step}" if step is not None else "a pending checkpoint"
        kept = f"step {last_good}" if last_good is not None else "none yet"
        super().__init__(
            f"saving {what} in {directory} failed ({type(cause).__name__}: {cause}). The "
            f"newest complete checkpoint is intact: {kept}. Free space or fix permissions, "
            "then rerun the same command to resume from it."
        )


CHECKSUMS = "checksums.json"


def _crc32(path: str) -> int:
    with open(path, "rb") as f:
        crc = 0
        while chunk := f.read(1 << 23):
            crc = zlib.crc32(chunk, crc)
        return crc


def _files(step_dir: str) -> dict[str, str]:
    """Every file under ``step_dir`` but the checksum list: relative path -> path."""
    out = {}
    for folder, _, names in os.walk(step_dir):
        for name in names:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, step_dir)
            if rel not in (CHECKSUMS, f".{CHECKSUMS}.tmp"):  # the list, or a cut-off write of it
                out[rel] = path
    return out


def write_checksums(step_dir: str) -> None:
    """Writes ``step_dir/checksums.json``: size and CRC-32 of each file of a saved checkpoint.

    Orbax keeps no checksum of the arrays it writes (TensorStore's files are
    read back as they are), so a byte changed on disk would load silently.
    CRC-32 (zlib, ~1 GB/s) rather than a cryptographic hash: the faults it is
    for are storage errors, not tampering. Written atomically, by process 0.
    """
    sums = {rel: [os.path.getsize(p), _crc32(p)] for rel, p in sorted(_files(step_dir).items())}
    tmp = os.path.join(step_dir, f".{CHECKSUMS}.tmp")
    with open(tmp, "w") as f:
        json.dump({"algorithm": "crc32", "files": sums}, f)
    os.replace(tmp, os.path.join(step_dir, CHECKSUMS))


def verify_checksums(step_dir: str) -> bool:
    """Checks ``step_dir`` against its ``checksums.json``; False when it has none.

    A checkpoint without the list (written by an older jaxssl, or by a run
    killed between the save and the list) is not checked here; Orbax's read
    still fails on a missing or truncated file.

    Raises:
      OSError: a listed file is missing, of another size or another CRC-32;
        the message names it.
    """
    try:
        with open(os.path.join(step_dir, CHECKSUMS)) as f:
            listed = json.load(f)["files"]
    except FileNotFoundError:
        return False
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise OSError(f"{os.path.join(step_dir, CHECKSUMS)} is unreadable ({e})") from e
    try:
        entries = [(rel, int(size), int(crc)) for rel, (size, crc) in listed.items()]
    except (AttributeError, TypeError, ValueError) as e:
        raise OSError(f"{os.path.join(step_dir, CHECKSUMS)} is malformed ({e})") from e
    for rel, size, crc in entries:
        path = os.path.join(step_dir, rel)
        if not os.path.isfile(path):
            raise OSError(f"{path} is missing (listed in {CHECKSUMS})")
        if os.path.getsize(path) != size:
            raise OSError(f"{path} has {os.path.getsize(path)} bytes, {size} when saved")
        if _crc32(path) != crc:
            raise OSError(f"{path} fails its checksum (CRC-32 differs from when it was saved)")
    return True


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
        self.async_save = async_save
        # the step of the last asynchronous save not yet known to be on disk:
        # its failure surfaces only at the next save or wait, which must name it
        self._pending: int | None = None

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
        config: ml_collections.ConfigDict,
        *,
        force: bool = False,
    ) -> bool:
        """Saves if the policy says so at ``step`` (or ``force``); returns whether it did.

        Raises:
          CheckpointSaveError: this save failed, or the previous asynchronous
            one did (found here, where Orbax waits for it); it names that step.
        """
        if not force and not self.manager.should_save(step):
            return False
        self.wait()  # the previous asynchronous save, if any: its error is its own
        if jax.process_count() == 1:
            # One process holds every array: it writes host copies. Given the
            # device arrays, Orbax splits each replicated one into a slice per
            # device ("replica-parallel" writing, for pods), and every slice
            # is a device op: 413 of them for the tiny model on 8 devices, a
            # save took ~1.0 s, and ~0.15 s this way (2-core CPU). The array
            # files are the same (the metadata records NumPy as the type), and
            # every restore here passes its target's layout, so it gives
            # device arrays laid out like that target.
            state = jax.device_get(state)
        args = ocp.args.Composite(
            state=ocp.args.StandardSave(state),
            config=ocp.args.JsonSave(config.to_dict()),
        )
        try:
            # the policy was asked above: force=True keeps Orbax from asking it again
            saved = self.manager.save(step, args=args, force=True)
            self.manager.check_for_errors()
        except Exception as e:
            raise CheckpointSaveError(step, self.directory, self.latest_step(), e) from e
        if saved and self.async_save:
            self._pending = step
        elif saved:
            self._seal(step)
        return saved

    def _seal(self, step: int) -> None:
        """Writes the checksum list of checkpoint ``step``, complete on disk (process 0)."""
        step_dir = os.path.join(self.directory, str(step))
        if jax.process_index() == 0 and os.path.isdir(step_dir):  # max_to_keep may have gone
            write_checksums(step_dir)

    def restore_latest(
        self, abstract_state: Any, warn: Callable[[str], None]
    ) -> tuple[Any, int] | None:
        """The newest readable checkpoint's state and step, or None when there is none.

        A checkpoint that cannot be read (a truncated or missing file) is
        moved, whole, to ``WORKDIR/damaged_checkpoints/STEP-<time>`` (never
        deleted: a later save of that step would otherwise collide with it),
        ``warn`` is called with what happened, and the previous one is tried.

        Raises:
          ValueError: the newest checkpoint holds a model of other shapes
            (another config); names the first mismatched parameters. Nothing
            is moved.
          RuntimeError: checkpoints exist but none could be read.
        """
        steps = sorted(self.manager.all_steps(), reverse=True)
        if not steps:
            return None
        self._check_shapes(steps[0], abstract_state)
        errors = []
        for step in steps:
            try:
                return self.restore(step, abstract_state), step
            except Exception as e:  # any failure to read it counts as damage
                errors.append(f"step {step}: {type(e).__name__}: {str(e)[:300]}")
                where = self._set_aside(step)
                warn(
                    f"warning: checkpoint step {step} could not be read ({errors[-1]}); "
                    f"kept in {where}; trying the previous one"
                )
        raise RuntimeError(
            f"no checkpoint in {self.directory} could be read ({'; '.join(errors)}). They are "
            f"kept in {self._damaged_root()}; use another workdir to start afresh."
        )

    def saved_config(self, step: int) -> dict | None:
        """The config checkpoint ``step`` was written with; None when it cannot be read."""
        try:
            with open(os.path.join(self.directory, str(step), "config", "metadata")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def _damaged_root(self) -> str:
        return os.path.join(os.path.dirname(self.directory), "damaged_checkpoints")

    def _set_aside(self, step: int) -> str:
        """Moves checkpoint ``step`` out of the manager's sight; returns where to."""
        target = os.path.join(self._damaged_root(), f"{step}-{time.strftime('%Y%m%d-%H%M%S')}")
        if jax.process_index() == 0:  # one mover; the others wait for it, then look again
            os.makedirs(self._damaged_root(), exist_ok=True)
            shutil.move(os.path.join(self.directory, str(step)), target)
        if jax.process_count() > 1:
            multihost_utils.sync_global_devices(f"jaxssl_set_aside_{step}")
        self.manager.reload()
        return target

    def _check_shapes(self, step: int, abstract_state: Any) -> None:
        """ValueError when the checkpoint's parameters have other shapes than this model's."""
        try:
            item = os.path.join(self.directory, str(step), "state")
            stored = ocp.PyTreeCheckpointer().metadata(item).item_metadata.tree
            stored_params = stored["params"]
        except Exception:  # unreadable metadata: restore() below reports the damage
            return
        got = {
            jax.tree_util.keystr(k): tuple(v.shape)
            for k, v in jax.tree_util.tree_flatten_with_path(stored_params)[0]
        }
        want = {
            jax.tree_util.keystr(k): tuple(v.shape)
            for k, v in jax.tree_util.tree_flatten_with_path(abstract_state.params)[0]
        }
        diffs = [
            f"{name}: {got.get(name, 'missing')} in the checkpoint, {shape} in this model"
            for name, shape in want.items()
            if got.get(name) != shape
        ] + [f"{name}: not in this model" for name in got if name not in want]
        if diffs:
            shown = "; ".join(diffs[:5]) + (
                f"; and {len(diffs) - 5} more" if len(diffs) > 5 else ""
            )
            raise ValueError(
                f"the checkpoint at step {step} in {self.directory} is of another model "
                f"({shown}). Resume with the config it was written with (its config.json), "
                "or use another workdir."
            )
        # The rest of the state by its arrays' shapes (an optimizer's state is a
        # tree of named tuples that Orbax stores under other key names): another
        # optimizer or method state is a config mismatch, never damage.
        for part in ("opt_state", "method_state", "batch_stats"):
            if part not in stored:
                continue
            have = sorted(tuple(getattr(x, "shape", ())) for x in jax.tree.leaves(stored[part]))
            need = sorted(tuple(x.shape) for x in jax.tree.leaves(getattr(abstract_state, part)))
            if have != need:
                raise ValueError(
                    f"the checkpoint at step {step} in {self.directory} has another {part} "
                    f"({len(have)} arrays, {len(need)} in this run): it was written with "
                    "another optimizer or method setting and cannot go on with this one. "
                    "Nothing was moved; resume with its config (its config.json), or use "
                    "another workdir."
                )

    def restore(self, step: int, abstract_state: Any) -> Any:
        """The state at ``step``, laid out like ``abstract_state``.

        Raises:
          OSError: a file fails its checksum (see :func:`verify_checksums`).
        """
        self._verify(step)
        restored = self.manager.restore(
            step,
            args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state)),
        )
        return restored["state"]

    def _verify(self, step: int) -> None:
        """:func:`verify_checksums` of ``step``, one verdict for every process.

        Process 0 reads the files and the others take its answer: processes
        that judged alone (a file cached differently on one host) could part
        ways, one setting the checkpoint aside while another restores it.
        """
        step_dir = os.path.join(self.directory, str(step))
        if jax.process_count() == 1:
            verify_checksums(step_dir)
            return
        error = ""
        if jax.process_index() == 0:
            try:
                verify_checksums(step_dir)
            except OSError as e:
                error = str(e)
        code = np.frombuffer(error.encode()[:1000].ljust(1000), np.uint8)
        shared = np.asarray(multihost_utils.broadcast_one_to_all(code), np.uint8)
        message = shared.tobytes().decode(errors="replace").strip()
        if message:
            raise OSError(message)

    def wait(self) -> None:
        """Blocks until pending asynchronous saves are on disk.

        Raises:
          CheckpointSaveError: an asynchronous save failed (the earlier
            checkpoints are untouched: Orbax writes to a temporary folder and
            renames it only when complete).
        """
        pending, self._pending = self._pending, None
        try:
            self.manager.wait_until_finished()
            self.manager.check_for_errors()
        except Exception as e:
            raise CheckpointSaveError(pending, self.directory, self.latest_step(), e) from e
        if pending is not None:
            self._seal(pending)

    def close(self) -> None:
        """Finishes pending saves and releases the manager."""
        try:
            self.wait()
        finally:
            self.manager.close()


def latest_checkpoint(directory: str) -> tuple[str, int]:
    """``(checkpoints folder, newest step)`` of a run's workdir or checkpoints folder.

    Raises:
      FileNotFoundError: no such directory, or no checkpoint in it.
    """
    path = os.path.abspath(directory)
    if os.path.isdir(os.path.join(path, "checkpoints")):
        path = os.path.join(path, "checkpoints")
    if not os.path.isdir(path):
        raise FileNotFoundError(f"config.init_from={directory!r}: no such directory.")
    manager = ocp.CheckpointManager(path, options=ocp.CheckpointManagerOptions(read_only=True))
    step = manager.latest_step()
    manager.close()
    if step is None:
        raise FileNotFoundError(f"config.init_from={directory!r}: no checkpoint found in {path}.")
    return path, step


def read_state(directory: str) -> dict:
    """The newest checkpoint's state item under ``directory``, every leaf a host NumPy array.

    ``directory`` is a run's workdir or its ``checkpoints`` folder.

    Raises:
      FileNotFoundError: no checkpoint there, or its state metadata is gone.
      OSError: a file of it fails its checksum list (named).
    """
    path, step = latest_checkpoint(directory)
    try:
        verify_checksums(os.path.join(path, str(step)))
    except OSError as e:
        raise OSError(
            f"the checkpoint at step {step} in {path} is damaged: {e}. Resume its run to "
            "fall back to an older checkpoint, or point at another run."
        ) from None
    # Read the state item alone, every leaf as a host NumPy array: the run
    # that wrote it may have had another device layout than this one.
    item = os.path.join(path, str(step), "state")
    checkpointer = ocp.PyTreeCheckpointer()
    metadata = checkpointer.metadata(item).item_metadata
    if metadata is None:  # Orbax gives None when state/_METADATA is missing or unreadable
        raise FileNotFoundError(
            f"the checkpoint at step {step} in {path} has no readable state metadata "
            f"({item}/_METADATA); it is damaged or incomplete. Resume its run to fall back "
            "to an older checkpoint, or point at another run."
        )
    tree = metadata.tree
    restore_args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), tree)
    return checkpointer.restore(item, args=ocp.args.PyTreeRestore(restore_args=restore_args))


def _match(stored: Any, like: Any, directory: str, what: str) -> Any:
    """``stored`` cast to ``like``'s dtypes, after checking it has ``like``'s tree and shapes."""
    want = jax.tree_util.tree_flatten_with_path(like)[0]
    got = dict(jax.tree_util.tree_flatten_with_path(stored)[0])
    for path_, leaf in want:
        if path_ not in got or got[path_].shape != leaf.shape:
            found = got[path_].shape if path_ in got else "missing"
            raise ValueError(
                f"config.init_from={directory!r}: {what} {jax.tree_util.keystr(path_)} has "
                f"shape {leaf.shape} in this model but {found} in the checkpoint."
            )
    return jax.tree.map(lambda p, q: np.asarray(q).astype(p.dtype), like, stored)


def restore_params(directory: str, like: Any = None) -> Any:
    """The ``params`` of the newest checkpoint under ``directory`` (for ``config.init_from``).

    ``directory`` is a run's workdir or its ``checkpoints`` folder. The
    parameters must have the same tree and shapes as ``like`` (None: returned
    as stored, NumPy arrays); the optimizer and method state of that run are
    not read.

    Raises:
      FileNotFoundError: no checkpoint there.
      OSError: the checkpoint fails its checksum list (see :func:`read_state`).
      ValueError: the parameters do not match ``like`` (names the first difference).
    """
    params = read_state(directory)["params"]
    return params if like is None else _match(params, like, directory, "parameter")


def load_pretrained(
    directory: str, params: Any, batch_stats: Any, keys: tuple[str, ...] | None = None
) -> tuple[Any, Any]:
    """``(params, batch_stats)`` with the parts ``keys`` replaced by those of a checkpoint.

    ``keys=None`` replaces everything (continuing a method's own training);
    ``('encoder',)`` copies only the encoder into a model with a new head
    (fine-tuning, probes). BatchNorm statistics come along: an encoder in
    inference mode needs the running averages it was trained with.

    Raises:
      FileNotFoundError: no checkpoint under ``directory``.
      ValueError: a part is missing from the checkpoint or has other shapes.
    """
    stored = read_state(directory)

    def graft(ours, theirs, what):
        theirs = theirs if isinstance(theirs, dict) else {}
        if keys is None:
            return _match(theirs, ours, directory, what)
        out = dict(ours)
        for key in keys:
            if key not in ours:
                continue
            if key not in theirs and jax.tree.leaves(ours[key]):
                raise ValueError(
                    f"config.init_from={directory!r}: the checkpoint has no {what}s under "
                    f"{key!r} (it has {sorted(theirs)})."
                )
            out[key] = _match(theirs.get(key, {}), ours[key], directory, what)
        return out

    return (
        graft(params, stored["params"], "parameter"),
        graft(batch_stats, stored.get("batch_stats", {}), "BatchNorm statistic"),
    )
