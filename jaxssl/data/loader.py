"""Grain loading: deterministic shuffling, per-process shards, resumable iterators, global arrays.

:func:`make_loader` wraps ``grain.DataLoader`` with an ``IndexSampler``
(shuffle from a seed, sharded by JAX process) and ``Batch``; its iterator's
``get_state()``/``set_state()`` make a resumed run see exactly the batches it
would have seen. Each record gains an ``"index"``: the example's position in
the dataset, which :mod:`jaxssl.data.augment` uses to seed per-example
augmentation. :func:`to_global_batch` turns each process's batch into global
``jax.Array`` s sharded over a mesh axis.
"""

from __future__ import annotations

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


def make_loader(
    source,
    *,
    batch_size: int,
    seed: int = 0,
    shuffle: bool = True,
    num_epochs: int | None = 1,
    drop_remainder: bool = True,
    worker_count: int = 0,
    shard_by_process: bool = True,
    shard: tuple[int, int] | None = None,
    transform: Callable[[Mapping], Mapping] | None = None,
) -> grain.DataLoader:
    """A Grain ``DataLoader`` over a random-access ``source`` (``len`` and ``[i]``).

    Args:
      source: e.g. :func:`jaxssl.data.datasets.data_source` or an
        :class:`~jaxssl.data.folder.ImageFolder`; records are dicts.
      batch_size: examples per batch *on this process*.
      seed: shuffle seed; the same seed gives the same order.
      shuffle: shuffle every epoch (differently per epoch).
      num_epochs: passes over the data; ``None`` repeats forever.
      drop_remainder: drop the last incomplete batch (use True for training,
        so every step has the same shape).
      worker_count: Grain worker processes (0 loads in this process).
      shard_by_process: give each JAX process a disjoint shard.
      shard: explicit ``(index, count)`` instead of the JAX process's, for
        readers outside JAX's process group.
      transform: optional host-side function applied to each record (decode,
        tokenise); augmentation belongs on device instead.

    Returns:
      The loader; ``iter(loader)`` yields dicts of stacked NumPy arrays,
      including ``"index"``.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    if len(source) == 0:
        raise ValueError("source is empty: no example to load.")
    if worker_count > 0:
        from absl import flags

        # Grain's worker processes read absl flags; a program not started by
        # absl.app never parsed them, and the workers would fail on access.
        if not flags.FLAGS.is_parsed():
            flags.FLAGS.mark_as_parsed()
    if shard is not None:
        shard_options = grain.sharding.ShardOptions(shard[0], shard[1], drop_remainder=True)
    elif shard_by_process:
        shard_options = grain.sharding.ShardByJaxProcess(drop_remainder=True)
    else:
        shard_options = grain.sharding.NoSharding()
    sampler = grain.samplers.IndexSampler(
        num_records=len(source),
        shard_options=shard_options,
        shuffle=shuffle,
        num_epochs=num_epochs,
        seed=seed,
    )
    return grain.DataLoader(
        data_source=_IndexedSource(source, transform),
        sampler=sampler,
        operations=[grain.transforms.Batch(batch_size=batch_size, drop_remainder=drop_remainder)],
        worker_count=worker_count,
    )


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
