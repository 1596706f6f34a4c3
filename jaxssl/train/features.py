"""A method's function (``features``, ``logits``, held-out terms) over a whole split, on devices."""

from __future__ import annotations

import jax
import ml_collections
import numpy as np

from jaxssl.data.loader import make_loader
from jaxssl.data.subsets import Subset
from jaxssl.train.parallel import Parallel


class Features:
    """Runs ``fn(params, state, images)`` (a method's ``features`` or ``logits``) over a split.

    Batches are sharded over every device; the outputs come back as NumPy.
    """

    def __init__(self, fn, par: Parallel, config: ml_collections.ConfigDict, transform):
        self.par = par
        self.config = config
        self.transform = transform
        local_devices = len(par.local_devices)
        per_process = max(config.eval.batch_size // jax.process_count(), local_devices)
        self.batch_size = per_process // local_devices * local_devices
        self._fn = jax.jit(fn, out_shardings=par.replicated)

    def _batches(self, source, limit: int):
        n = min(len(source), limit) if limit else len(source)
        indices = source if n == len(source) else Subset(source, np.arange(n))
        loader = make_loader(
            indices,
            batch_size=self.batch_size,
            shuffle=False,
            num_epochs=1,
            drop_remainder=False,
            shard_by_process=jax.process_count() > 1,
            read_threads=self.config.read_threads,
            transform=self.transform,
        )
        for batch in loader:
            size = len(batch["index"])
            pad = self.batch_size - size

            def padded(x, pad=pad):
                return np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)]) if pad else x

            yield {k: padded(np.asarray(v)) for k, v in batch.items()}, size

    def __call__(self, params, state: dict, source, *, limit: int = 0, raw: bool = False):
        """``(features [n, F], labels [n])`` as NumPy, ``raw=True`` for flattened pixels."""
        key, label = self.config.image_key, self.config.label_key
        feats, labels = [], []
        params = jax.device_put(params, self.par.replicated)
        state = jax.device_put(state, self.par.replicated)
        for batch, size in self._batches(source, limit):
            if raw:
                out = batch[key].reshape(len(batch[key]), -1).astype(np.float32) / 255.0
            else:
                images = jax.make_array_from_process_local_data(self.par.sharded, batch[key])
                out = np.asarray(jax.device_get(self._fn(params, state, images)))
            feats.append(out[:size])
            if label in batch:  # text rows have none
                labels.append(batch[label][:size])
        feats = np.concatenate(feats)
        labels = np.concatenate(labels) if labels else np.zeros((len(feats),), np.int64)
        if jax.process_count() > 1:
            from jax.experimental import multihost_utils

            # Processes hold equal shards (the loader drops the remainder), so
            # the gathered arrays line up.
            feats = np.asarray(multihost_utils.process_allgather(feats, tiled=True))
            labels = np.asarray(multihost_utils.process_allgather(labels, tiled=True))
        return feats, labels
