"""Grain loading: one global order, each process its slice, resumable iterators, global arrays.

:func:`make_loader` builds a Grain dataset pipeline (``MapDataset``: shuffle
from a seed, repeat, batch, then this JAX process's slice of every global
batch; then an ``IterDataset`` with threaded prefetch, or worker processes).
The examples of global batch ``s`` and their order depend on the seed and
``s`` alone, not on the number of processes. Its iterator's
``get_state()``/``set_state()`` make a resumed run see exactly the batches it
would have seen. Each record gains an ``"index"``: the example's position in
the dataset, which :mod:`jaxssl.data.augment` uses to seed per-example
augmentation. :func:`to_global_batch` turns each process's batch into global
``jax.Array`` s sharded over a mesh axis.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import grain
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


class _IndexedSource:
    """A random-access source whose records are dicts that also carry their index."""

    def __init__(self, source, transform: Callable[[Mapping], Mapping] | None):
        self._source = source
        self._transform = transform

    def __len__(self) -> int:
        return len(self._source)

    def __getitem__(self, index):
        record = dict(self._source[int(index)])
        if self._transform is not None:
            record = dict(self._transform(record))
        record["index"] = np.int64(index)
        return record

    def __repr__(self) -> str:
        return f"IndexedSource({self._source!r})"


def _end_with_parent(worker_index: int, worker_count: int) -> None:
    """Grain worker start-up: the worker exits within a second of its parent's end.

    Grain's workers are daemon processes, which Python ends only when their
    parent exits normally; after a SIGKILL (an out-of-memory kill, a cluster
    preempting the job) they went on for minutes, holding their memory. The
    parent is polled (``os.getppid`` changes when it is gone) rather than
    Linux's ``PR_SET_PDEATHSIG``, which fires when the *thread* that started
    the worker ends and exists on Linux alone.
    """
    del worker_index, worker_count
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="jaxssl-parent-watch", daemon=True).start()


def make_loader(
    source,
    *,
    batch_size: int,
    seed: int = 0,
    shuffle: bool = True,
    num_epochs: int | None = 1,
    drop_remainder: bool = True,
    worker_count: int = 0,
    read_threads: int = 0,
    shard_by_process: bool = True,
    shard: tuple[int, int] | None = None,
    transform: Callable[[Mapping], Mapping] | None = None,
    start_batch: int = 0,
) -> grain.IterDataset:
    """A Grain pipeline over a random-access ``source`` (``len``, ``[i]``): shard, shuffle, batch.

    Args:
      source: e.g. :func:`jaxssl.data.datasets.data_source` or an
        :class:`~jaxssl.data.folder.ImageFolder`; records are dicts.
      batch_size: examples per batch *on this process*; the global batch is
        ``batch_size`` times the number of shards.
      seed: shuffle seed; the same seed gives the same order.
      shuffle: shuffle every epoch (differently per epoch).
      num_epochs: passes over the data; ``None`` repeats forever.
      drop_remainder: drop the last incomplete batch (use True for training,
        so every step has the same shape).
      worker_count: Grain worker processes (0 loads in this process); they
        end with this process, however it ends.
      read_threads: threads per process that read (and ``transform``) batches
        ahead, each holding up to two. 0 reads each batch when it is asked
        for, which still overlaps the device's work on the previous step
        (JAX dispatches asynchronously); threads help when records load or
        decode slowly. Not Grain's default (16 threads, 500 elements ahead):
        the elements here are whole batches, so that default holds 500
        batches in memory, and on a small machine its threads, contending
        for the GIL, made the tiny config's run ~5x slower.
      shard_by_process: give each JAX process its slice of every global batch.
      shard: explicit ``(index, count)`` instead of the JAX process's, for
        readers outside JAX's process group. Shard ``index`` reads rows
        ``index * batch_size`` to ``(index + 1) * batch_size`` of each global
        batch of ``count * batch_size``: concatenated in shard order, the
        shards' batches are what one reader with the global batch size reads
        (what ``jax.make_array_from_process_local_data`` assembles when the
        mesh's devices are in process order, as ``jax.devices()`` is).
        Sharded loaders drop the remainder (``drop_remainder`` must be True).
      transform: optional host-side function applied to each record (decode,
        tokenise); augmentation belongs on device instead.
      start_batch: the first batch to yield: the loader is a function of
        ``seed`` alone, so ``start_batch=k`` continues exactly where a loader
        that yielded ``k`` batches was (a resumed run's data position is its
        step), whatever ``worker_count``, ``read_threads`` and the number of
        shards.

    Returns:
      A ``grain.IterDataset``; ``iter(loader)`` yields dicts of stacked NumPy
      arrays, including ``"index"``, and has ``get_state()``/``set_state()``.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    if isinstance(read_threads, bool) or not isinstance(read_threads, int) or read_threads < 0:
        raise ValueError(f"read_threads must be an int >= 0, got {read_threads!r}.")
    if isinstance(start_batch, bool) or not isinstance(start_batch, int) or start_batch < 0:
        raise ValueError(f"start_batch must be an int >= 0, got {start_batch!r}.")
    if len(source) == 0:
        raise ValueError("source is empty: no example to load.")
    if worker_count > 0:
        from absl import flags

        # Grain's worker processes read absl flags; a program not started by
        # absl.app never parsed them, and the workers would fail on access.
        if not flags.FLAGS.is_parsed():
            flags.FLAGS.mark_as_parsed()
    # Grain's dataset API rather than grain.DataLoader: on the bundled digits
    # the DataLoader spends ~0.8 ms of Python per record (IndexSampler
    # metadata, per-record operations), the dataset pipeline ~0.2 ms, which
    # decides the step time of small-image runs (benchmarks/bench_input.py).
    ds = grain.MapDataset.source(_IndexedSource(source, transform))
    if shard is None:
        shard = (jax.process_index(), jax.process_count()) if shard_by_process else (0, 1)
    index, count = shard
    if not 0 <= index < count:
        raise ValueError(f"shard must be (index, count) with 0 <= index < count, got {shard}.")
    if count > 1 and not drop_remainder:
        raise ValueError(
            f"shard={shard} needs drop_remainder=True: an incomplete last global batch "
            "would not split evenly over the shards."
        )
    if shuffle:
        ds = ds.shuffle(seed=seed)  # one permutation of the whole source per epoch
    ds = ds.repeat(num_epochs)  # reshuffled every epoch
    ahead = grain.ReadOptions(num_threads=read_threads, prefetch_buffer_size=2 * read_threads)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if count > 1:
        # Every count-th sub-batch of batch_size, starting at index: global
        # batch s is sub-batches s*count ... s*count + count - 1, and this
        # shard holds the index-th. A trailing incomplete global batch is dropped.
        ds = ds[: len(ds) // count * count][index::count]
        if len(ds) == 0:
            raise ValueError(
                f"source has {len(source)} examples, fewer than one global batch "
                f"({count} shards x {batch_size})."
            )
    # a lazy slice of the batched MapDataset: batch k is computed from k alone
    ds = (ds[start_batch:] if start_batch else ds).to_iter_dataset(ahead)
    if worker_count > 0:
        ds = ds.mp_prefetch(
            grain.multiprocessing.MultiprocessingOptions(num_workers=worker_count),
            worker_init_fn=_end_with_parent,
        )
    return ds


def to_global_batch(
    batch: Mapping[str, Any], mesh: Mesh, axis: str = "data"
) -> dict[str, jax.Array]:
    """Each process's batch -> global ``jax.Array`` s sharded over ``axis`` along the batch.

    Uses ``jax.make_array_from_process_local_data``: on one process this is a
    ``device_put`` with the sharding; on several, the global batch is the
    concatenation of the processes' batches.
    """
    sharding = NamedSharding(mesh, PartitionSpec(axis))
    return {
        name: jax.make_array_from_process_local_data(sharding, np.asarray(value))
        for name, value in batch.items()
    }
