"""MoCo v2: momentum contrast (He et al. 2020; Chen et al. 2020, "Improved baselines").

A query encoder (encoder + MLP head, trained) and a key encoder, its
exponential moving average (:mod:`jaxssl.methods.ema`, m = 0.999), embed two
views of each image. Each query is contrasted with its key and with a FIFO
queue of keys from earlier steps (InfoNCE, temperature 0.2); after every
step the keys of the whole global batch (every device's, in global order)
replace the queue's oldest entries.

The loss is symmetrised (each view is a query once, its other view the key),
as in solo-learn's and MoCo v3's code; MoCo v2's paper uses one direction.

Shuffle-BN is unnecessary here: MoCo shuffles the key batch across GPUs so
that BatchNorm's per-device statistics cannot leak which key matches which
query. jaxssl's BatchNorm statistics are over the global batch (jit over a
mesh, or cross-replica under pmap), so no device's statistics identify its
own examples, and there is nothing to shuffle.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jax import lax

from jaxssl import losses
from jaxssl._src.numerics import NORM_EPS, gather_rows, global_mean, l2_normalize
from jaxssl.methods import ema
from jaxssl.methods.base import TwoViewMethod, as_float32, embedding_std, halves, swap_halves


def _normalize(x: jax.Array) -> jax.Array:
    """The normalisation :func:`jaxssl.losses.info_nce` applies: ``x / max(||x||, 1e-6)``.

    The queue, the keys it receives and the metrics all use it, so the
    metrics' similarities are the ones the loss's logits are made of.
    """
    return l2_normalize(x, eps=NORM_EPS)


def enqueue(queue: jax.Array, ptr: jax.Array, keys: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Writes ``keys`` over the oldest rows of a FIFO ``queue``; returns ``(queue, ptr)``.

    ``ptr`` is the index of the oldest row; the writes wrap around the end,
    so a queue whose length is not a multiple of the batch works too.

    Raises:
      ValueError: more keys than the queue holds, or widths that differ.
    """
    size, n = queue.shape[0], keys.shape[0]
    if n > size or keys.shape[1:] != queue.shape[1:]:
        raise ValueError(
            f"keys must be [N, D] with N <= {size} and D = {queue.shape[1]} as the queue, "
            f"got shape {keys.shape}."
        )
    rows = (ptr + jnp.arange(n)) % size
    return jnp.asarray(queue).at[rows].set(keys.astype(queue.dtype)), (ptr + n) % size


@dataclasses.dataclass(frozen=True)
class MoCo(ema.FollowsOnline, TwoViewMethod):
    """MoCo v2 (see the module docstring).

    Attributes (besides :class:`~jaxssl.methods.base.TwoViewMethod`'s):
      temperature: InfoNCE temperature (MoCo v2: 0.2).
      queue_size: negatives kept (MoCo: 65,536); at least the global batch.
      momentum: the key encoder's EMA momentum m (MoCo: 0.999).
      momentum_schedule: ``'constant'`` or ``'cosine'`` (m rises to 1, as in BYOL).
      num_steps: the run's length, for the cosine schedule.
    """

    temperature: float = 0.2
    queue_size: int = 65536
    momentum: float = 0.999
    momentum_schedule: str = "constant"
    num_steps: int = 1

    def init_method_state(self, variables: dict, rng: jax.Array) -> dict:
        """The key encoder (a copy of the query encoder) and a queue of random unit vectors."""
        dim = self.head.output_dim
        queue = jax.random.normal(rng, (self.queue_size, dim), jnp.float32)
        return {
            "target": ema.init_target(variables["params"]),
            "queue": _normalize(queue),
            "queue_ptr": jnp.zeros((), jnp.int32),
        }

    def loss_fn(self, params, state: dict, batch: dict, rng: jax.Array):
        """Symmetrised InfoNCE against the queue; the new state holds the updated queue."""
        x = self._stacked_views(batch, rng)
        (_, q), batch_stats = self._forward(params, state, x)
        q = as_float32(q)
        method_state = state["method"]
        # Row i's key is the other view of its image.
        k = swap_halves(self._target_forward(method_state["target"], state, x))
        queue = method_state["queue"]
        loss = losses.info_nce(
            q,
            k,
            negatives=queue,
            temperature=self.temperature,
            in_batch_negatives=False,
            axis_name=self.axis_name,
        )
        qn, kn = _normalize(q), _normalize(k)
        # One key per image of the global batch joins the queue: its view 2's,
        # the keys of the view-1 queries (rows :B).
        keys, _ = gather_rows(halves(kn)[0], self.axis_name)
        new_queue, ptr = enqueue(queue, method_state["queue_ptr"], keys)
        pos, neg = jnp.sum(qn * kn, axis=-1), qn @ _normalize(queue).T
        metrics = {
            # the key beats every queued negative
            "top1": global_mean(pos > jnp.max(neg, axis=-1), self.axis_name),
            "pos_sim": global_mean(pos, self.axis_name),
            "neg_sim": global_mean(neg, self.axis_name),
            "z_std": embedding_std(q, self.axis_name),
        }
        new_method = {**method_state, "queue": lax.stop_gradient(new_queue), "queue_ptr": ptr}
        return loss, (self._state(state, batch_stats, new_method), metrics)
