"""Jigsaw puzzles (Noroozi & Favaro 2016): which permutation shuffled the tiles?

From "Unsupervised Learning of Visual Representations by Solving Jigsaw
Puzzles", ECCV 2016. Each image, augmented once on device, is cut into a
``grid x grid`` array of cells. Every cell gives one tile, ``jitter``
pixels smaller than the cell at a random offset inside it (the paper's gap
between tiles, so that matching edges and continued lines cannot solve the
puzzle), standardised on its own (each tile's own mean and standard
deviation, the paper's guard against matching tiles by their colour
statistics). The tiles are shuffled by one of a fixed set of permutations and
the network classifies which one.

The paper's context-free network is one encoder shared by the tiles, its
features concatenated and classified by fully connected layers; here the
encoder is the run's encoder, each tile resized to ``image_size`` first, so
that the encoder sees inputs of the size it is evaluated on (kNN, probes and
fine-tuning use the whole image) and any encoder works, including those with a
dense layer after flattening. The head is an MLP on the concatenated features.

The permutation set is chosen once, deterministically: greedy farthest-point
selection over all ``(grid²)!`` permutations, each new one the permutation
whose smallest Hamming distance to those already chosen is largest (first in
lexicographic order among ties), starting from the identity. The paper's
Algorithm 1 maximises the same distance (it reports the average and the
minimum; greedy selection as here).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxssl import losses
from jaxssl._src.numerics import example_keys, global_mean
from jaxssl.methods.base import TwoViewMethod, as_float32


@functools.lru_cache(maxsize=8)
def permutation_set(grid: int, count: int) -> np.ndarray:
    """``[count, grid²]`` permutations of the tiles, spread by Hamming distance.

    Greedy farthest-point selection from the identity (see the module
    docstring); ``count`` at most ``(grid²)!``.

    Example:
      >>> perms = permutation_set(2, 3)
      >>> perms.tolist()[0], int((perms[1] != perms[0]).sum())  # identity, then 4 tiles moved
      ([0, 1, 2, 3], 4)
    """
    tiles = grid * grid
    if tiles > 9:
        raise ValueError(
            f"jigsaw grid must be 2 or 3 (the permutation search is over (grid²)!), got {grid}."
        )
    every = np.array(list(itertools.permutations(range(tiles))), np.int8)
    if not 1 <= count <= len(every):
        raise ValueError(
            f"jigsaw.num_permutations must be in [1, {len(every)}] for a {grid}x{grid} grid, "
            f"got {count}."
        )
    chosen = [0]  # the identity comes first in lexicographic order
    nearest = (every != every[0]).sum(axis=1)
    for _ in range(count - 1):
        best = int(np.argmax(nearest))  # argmax: the first among ties
        chosen.append(best)
        nearest = np.minimum(nearest, (every != every[best]).sum(axis=1))
    return every[chosen].astype(np.int32)


class JigsawNet(nn.Module):
    """The encoder on each tile, the head on their concatenated features.

    ``tiles [B, T, H, W, C]`` -> logits ``[B, P]`` (``head``'s output width).
    Parameters live under ``encoder`` and ``head``, as in every method.
    """

    encoder: nn.Module
    head: nn.Module

    def __call__(self, tiles, train: bool):
        """Tiles -> permutation logits."""
        b, t = tiles.shape[:2]
        h = self.encoder(tiles.reshape(b * t, *tiles.shape[2:]), train=train)
        return self.head(h.reshape(b, t * h.shape[-1]), train=train)


def _tiles(image, key, perm_table, grid: int, jitter: int):
    """One image ``[H, W, C]`` -> (its shuffled tiles ``[T, H, W, C]``, the permutation's index)."""
    h, w, c = image.shape
    cell_h, cell_w = h // grid, w // grid
    tile_h, tile_w = cell_h - jitter, cell_w - jitter
    k_perm, k_jitter = jax.random.split(key)
    label = jax.random.randint(k_perm, (), 0, perm_table.shape[0])
    offsets = jax.random.randint(k_jitter, (grid * grid, 2), 0, jitter + 1)

    def tile(i):
        row, col = i // grid, i % grid
        y = row * cell_h + offsets[i, 0]
        x = col * cell_w + offsets[i, 1]
        patch = jax.lax.dynamic_slice(image, (y, x, 0), (tile_h, tile_w, c))
        mean = patch.mean()
        patch = (patch - mean) / jnp.sqrt(jnp.mean(jnp.square(patch - mean)) + 1e-5)
        return jax.image.resize(patch, (h, w, c), "linear")

    tiles = jax.vmap(tile)(jnp.arange(grid * grid))
    return tiles[perm_table[label]], label


@dataclasses.dataclass(frozen=True)
class Jigsaw(TwoViewMethod):
    """Jigsaw puzzles; ``head`` maps the concatenated tile features to ``num_permutations`` logits.

    One augmented view per image (``augment``'s first pipeline).

    Attributes (besides :class:`TwoViewMethod`'s):
      grid: tiles per side (2 or 3; the paper: 3).
      num_permutations: size of the permutation set (the paper: 1000 of 9!;
        at most 24 for a 2x2 grid).
      jitter: pixels by which a tile is smaller than its cell (the paper: 21 px
        cells of 85 px, tiles of 64); 0 lets edges touch.
    """

    grid: int = 3
    num_permutations: int = 100
    jitter: int = 1

    def __post_init__(self):
        super().__post_init__()
        permutation_set(self.grid, self.num_permutations)  # checks both

    @property
    def net(self) -> JigsawNet:
        """Encoder on each tile, head on the concatenation."""
        return JigsawNet(self.encoder, self.head)

    def _puzzles(self, batch: dict, rng: jax.Array) -> tuple[jax.Array, jax.Array]:
        views = self._one_view(batch, rng)
        cell = min(views.shape[1], views.shape[2]) // self.grid
        if not 0 <= self.jitter < cell:
            raise ValueError(
                f"jigsaw.jitter must be in [0, {cell - 1}] for {self.grid}x{self.grid} cells of "
                f"{cell} px (images {views.shape[1]}x{views.shape[2]}), got {self.jitter}."
            )
        perms = jnp.asarray(permutation_set(self.grid, self.num_permutations))
        # per-example keys from the global index: the puzzles do not depend on
        # the device count or the batch's split over devices
        keys = example_keys(rng, batch["index"], view=1)
        return jax.vmap(lambda x, k: _tiles(x, k, perms, self.grid, self.jitter))(views, keys)

    def init(self, rng: jax.Array, sample: dict) -> dict:
        """Variables (``params``, ``batch_stats``) from a sample batch."""
        tiles, _ = self._puzzles(sample, jax.random.key(0))
        return dict(self.net.init(rng, tiles, train=False))

    def loss_fn(self, params, state: dict, batch: dict, rng: jax.Array) -> tuple[Any, Any]:
        """Cross-entropy over the permutation set; returns ``(loss, (new_state, metrics))``."""
        tiles, labels = self._puzzles(batch, rng)
        logits, batch_stats = self._forward(params, state, tiles)
        logits = as_float32(logits)
        loss = global_mean(
            losses.softmax_cross_entropy(logits, labels, reduction="none"), self.axis_name
        )
        metrics = {"top1": global_mean(jnp.argmax(logits, -1) == labels, self.axis_name)}
        return loss, (self._state(state, batch_stats), metrics)
