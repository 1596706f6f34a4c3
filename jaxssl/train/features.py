"""A method's function (``features``, ``logits``, held-out terms) over a whole split, on devices."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxssl.data.loader import make_loader
from jaxssl.data.subsets import Subset
from jaxssl.train.parallel import Parallel


def _pixels(params, state, images):
    """Raw pixels as features: each image flattened, scaled to [0, 1]."""
    del params, state
    return images.reshape(images.shape[0], -1).astype(jnp.float32) / 255.0


class Features:
    """Runs ``fn(params, state, images)`` (a method's ``features`` or ``logits``) over a split.

    The split is read in order, in global batches sharded over every device
    of every process: process ``p`` reads rows ``p * L`` to ``(p + 1) * L`` of
    each global batch (``L`` its devices' share), the last batch padded with
    repeats of the last example. The outputs and labels come back replicated,
    so every process returns the same NumPy arrays in the split's order, with
    nothing dropped or repeated: what one process alone returns.
    """

    def __init__(self, fn, par: Parallel, config: ml_collections.ConfigDict, transform):
        self.par = par
        self.config = config
        self.transform = transform
        per_device = max(config.eval.batch_size // par.num_devices, 1)
        self.batch_size = per_device * par.num_devices  # global
        self.local_batch_size = per_device * len(par.local_devices)
        # the first local row of this process in each global batch (the mesh's
        # devices are in process order, see jaxssl.data.loader.make_loader)
        self._offset = per_device * [d.process_index for d in par.mesh.devices.flat].index(
            jax.process_index()
        )
        outs = (par.replicated, par.replicated)
        self._fn = jax.jit(lambda p, s, x, y: (fn(p, s, x), y), out_shardings=outs)
        self._raw = jax.jit(lambda p, s, x, y: (_pixels(p, s, x), y), out_shardings=outs)

    def _batches(self, source, n: int):
        """This process's rows of each global batch over the first ``n`` examples."""
        steps = -(-n // self.batch_size)
        starts = np.arange(steps)[:, None] * self.batch_size + self._offset
        rows = (starts + np.arange(self.local_batch_size)).reshape(-1)
        loader = make_loader(
            Subset(source, np.minimum(rows, n - 1)),  # past the end: the last example again
            batch_size=self.local_batch_size,
            shuffle=False,
            num_epochs=1,
            shard_by_process=False,
            read_threads=self.config.read_threads,
            transform=self.transform,
        )
        for step, batch in enumerate(loader):
            yield batch, min(self.batch_size, n - step * self.batch_size)

    def __call__(self, params, state: dict, source, *, limit: int = 0, raw: bool = False):
        """``(features [n, F], labels [n])`` as NumPy, ``raw=True`` for flattened pixels.

        ``limit``: only the first ``limit`` examples (0: all).
        """
        key, label = self.config.image_key, self.config.label_key
        n = min(len(source), limit) if limit else len(source)
        fn = self._raw if raw else self._fn
        feats, labels = [], []
        params = jax.device_put(params, self.par.replicated)
        state = jax.device_put(state, self.par.replicated)
        for batch, size in self._batches(source, n):
            n_rows = len(batch[key])  # text rows have no label: zeros stand in
            ys = (
                np.asarray(batch[label], np.int32) if label in batch else np.zeros(n_rows, np.int32)
            )
            images, ys = (
                jax.make_array_from_process_local_data(self.par.sharded, np.asarray(x))
                for x in (batch[key], ys)
            )
            out, ys = jax.device_get(fn(params, state, images, ys))
            feats.append(np.asarray(out)[:size])
            labels.append(np.asarray(ys)[:size].astype(np.int64))
        return np.concatenate(feats), np.concatenate(labels)
