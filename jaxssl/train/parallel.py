"""Devices: the ``'data'`` mesh, where state and batches live, and jit or pmap compilation.

The default is SPMD ``jax.jit`` over a one-axis mesh of every device: the
batch is sharded over ``'data'``, the state replicated, and XLA inserts the
collectives (the loss sees the global batch; BatchNorm's statistics are over
the global batch). ``mode='pmap'`` runs the same pure step per device with
``axis_name='data'`` for codebases that still use pmap; both give the same
numbers (tested on 8 simulated devices).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from jaxssl.data.loader import to_global_batch

AXIS = "data"


# The per-device copies of a pmap state, in and out, each one compiled program
# for the whole tree: the same ops leaf by leaf compile one program per leaf
# shape (about 30 compiles of ~30 ms each for a small model's state, at a
# run's first log and first checkpoint).
@jax.jit
def _first(tree):
    """Device 0's copy of each leaf of a pmap tree: ``x[0]``."""
    return jax.tree.map(lambda x: x[0], tree)


@functools.partial(jax.jit, static_argnums=1)
def _stack(tree, n: int):
    """Each leaf broadcast to ``n`` per-device copies: ``[n, *x.shape]``."""
    return jax.tree.map(lambda x: jnp.broadcast_to(x, (n, *jnp.shape(x))), tree)


def make_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A one-axis ``'data'`` mesh over ``devices`` (default: every device of every process).

    The devices are in process order (then by id): each process's devices are
    one contiguous block of the axis, so the global batch is the processes'
    batches concatenated in process order, which the one global data order
    relies on (``jaxssl.data.loader.make_loader``, ``jaxssl.train.features``).
    Not ``jax.make_mesh``: on TPU it reorders the devices along the physical
    topology, which can interleave the processes along the axis (and it
    refuses multi-slice pods). A one-axis all-reduce spans every device
    whatever their order, so the order costs nothing in the collectives.
    """
    devices = sorted(jax.devices() if devices is None else devices, key=_process_order)
    return Mesh(np.array(devices), (AXIS,), axis_types=(AxisType.Auto,))


def _process_order(device: jax.Device) -> tuple[int, int]:
    return device.process_index, device.id


def select_devices(num_devices: int = 0) -> list[jax.Device]:
    """Every device (``num_devices=0``), or the first ``num_devices`` of a one-process run.

    Raises:
      ValueError: more devices than there are, or a subset asked of a
        multi-process run (each process must bring all of its devices).
    """
    devices = jax.devices()
    if not num_devices:
        return devices
    if jax.process_count() > 1:
        raise ValueError(
            f"config.num_devices={num_devices} selects devices of a one-process run; with "
            f"{jax.process_count()} processes every device is used: set it to 0."
        )
    if num_devices > len(devices):
        raise ValueError(
            f"config.num_devices={num_devices}, but there are only {len(devices)} devices."
        )
    return devices[:num_devices]


def check_mode(mode: str, num_processes: int = 1) -> None:
    """``config.parallel`` must be 'jit' when the run has several processes, else ValueError.

    pmap's state lives as per-device copies of each process's own, which
    cannot be made from (or saved as) the global arrays that a run of
    several processes holds; jit gives the same numbers.
    """
    if mode == "pmap" and num_processes > 1:
        raise ValueError(
            f"config.parallel='pmap' runs in one process, and this run has {num_processes}: "
            "use 'jit' (the default; the same numbers, tested on 8 devices)."
        )


def check_batch_size(batch_size: int, num_devices: int, num_processes: int = 1) -> None:
    """The global batch must split evenly over processes and devices, else ``ValueError``."""
    for count, what in ((num_devices, "devices"), (num_processes, "processes")):
        if batch_size % count:
            raise ValueError(
                f"config.batch_size={batch_size} does not divide over {count} {what}; "
                f"use a multiple of {count} (e.g. {max(count, batch_size // count * count)})."
            )


class Parallel:
    """Placement and compilation for one mode (``'jit'`` or ``'pmap'``) over ``mesh``."""

    def __init__(self, mesh: Mesh, mode: str = "jit"):
        if mode not in ("jit", "pmap"):
            raise ValueError(f"mode must be 'jit' or 'pmap', got {mode!r}.")
        self.mesh = mesh
        self.mode = mode
        self.replicated = NamedSharding(mesh, PartitionSpec())
        self.sharded = NamedSharding(mesh, PartitionSpec(AXIS))
        self.local_devices = [
            d for d in mesh.devices.flat if d.process_index == jax.process_index()
        ]

    @property
    def axis_name(self) -> str | None:
        """The collective axis the method must use: ``'data'`` under pmap, None under jit."""
        return AXIS if self.mode == "pmap" else None

    @property
    def num_devices(self) -> int:
        """Devices in the mesh, over every process."""
        return self.mesh.devices.size

    def init(self, fn: Callable[[], Any]) -> Any:
        """Runs ``fn`` (e.g. state creation) so that its outputs are born replicated on the mesh.

        ``jax.eval_shape`` gives the output tree without computing it; the
        compiled ``fn`` then writes every leaf straight to its devices, so no
        host or single-device copy of the parameters is ever made.
        """
        shapes = jax.eval_shape(fn)
        out = jax.jit(fn, out_shardings=jax.tree.map(lambda _: self.replicated, shapes))()
        return self.to_device(out) if self.mode == "pmap" else out

    def to_device(self, state: Any) -> Any:
        """A host or mesh state -> this mode's layout (replicated; a device axis under pmap)."""
        if self.mode == "jit":
            return jax.device_put(state, self.replicated)
        n = len(self.local_devices)
        stacked = NamedSharding(Mesh(np.array(self.local_devices), (AXIS,)), PartitionSpec(AXIS))
        return jax.device_put(_stack(state, n), stacked)

    def from_device(self, tree: Any) -> Any:
        """This mode's layout -> one replicated copy (for saving, metrics, evaluation)."""
        if self.mode == "jit":
            return tree
        return _first(tree)

    def put_batch(self, batch: dict[str, np.ndarray]) -> dict[str, jax.Array]:
        """This process's host batch -> the step's input (global arrays; per device under pmap)."""
        if self.mode == "jit":
            return to_global_batch(batch, self.mesh, AXIS)
        n = len(self.local_devices)
        return {k: np.asarray(v).reshape(n, -1, *np.shape(v)[1:]) for k, v in batch.items()}

    def compile_step(self, step: Callable, *, donate: bool = True) -> Callable:
        """``jax.jit`` with shardings (batch over 'data', state replicated) or ``jax.pmap``."""
        donate_argnums = (0,) if donate else ()
        if self.mode == "pmap":
            return jax.pmap(
                step, axis_name=AXIS, devices=self.local_devices, donate_argnums=donate_argnums
            )
        return jax.jit(
            step,
            in_shardings=(self.replicated, self.sharded),
            out_shardings=(self.replicated, self.replicated),
            donate_argnums=donate_argnums,
        )
