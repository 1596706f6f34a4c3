"""What the two-view methods share: the network, the views, the forward pass, features.

SimCLR, MoCo, BYOL, SimSiam, Barlow Twins, VICReg and triplet pretraining all
make two augmented views of each image on device, run an encoder and a head
(and for BYOL and SimSiam a predictor) on both views at once, and are
evaluated on the encoder's features. :class:`TwoViewMethod` holds that; each
method adds its loss (and, for MoCo and BYOL, a target network in the state's
``method`` collection).

Both views go through the network as one batch of 2B images, so BatchNorm's
statistics are over every view of the global batch, as in SimCLR's TF code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from jaxssl._src import numerics
from jaxssl._src.numerics import as_float32 as as_float32  # re-exported for the methods
from jaxssl.data import augment as aug_lib


class EncoderWithHead(nn.Module):
    """``encoder``, then ``head`` and optionally ``predictor``.

    Returns ``(features, projections)``, or ``(features, projections,
    predictions)`` with a predictor (BYOL, SimSiam).
    """

    encoder: nn.Module
    head: nn.Module
    predictor: nn.Module | None = None

    def __call__(self, x, train: bool):
        """Images -> (encoder features, head outputs[, predictor outputs])."""
        h = self.encoder(x, train=train)
        z = self.head(h, train=train)
        if self.predictor is None:
            return h, z
        return h, z, self.predictor(z, train=train)


def embedding_std(z: jax.Array, axis_name: Hashable | None) -> jax.Array:
    r"""Collapse monitor: the per-dimension standard deviation of L2-normalised ``z``, averaged.

    Over the global batch. A collapsed representation (every example mapped
    to one vector) gives 0; embeddings spread evenly over the unit sphere in
    :math:`D` dimensions give about :math:`1/\sqrt{D}` (SimSiam, Chen & He
    2021, section 4.1). The rows are normalised as ``z / max(||z||, 1e-12)``.
    """
    z = numerics.l2_normalize(z.astype(jnp.float32), eps=1e-12, form="divide")
    mean = numerics.global_mean_rows(z, axis_name)
    var = numerics.global_mean_rows(jnp.square(z - mean), axis_name)
    return jnp.mean(jnp.sqrt(var))


def halves(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The two views' rows of an output over ``concat([view1, view2])``."""
    n = x.shape[0] // 2
    return x[:n], x[n:]


def swap_halves(x: jax.Array) -> jax.Array:
    """``concat([view2, view1])`` from ``concat([view1, view2])``: each row's other view."""
    a, b = halves(x)
    return jnp.concatenate([b, a])


@dataclasses.dataclass(frozen=True)
class TwoViewMethod:
    """The shared part of a two-view method (see the module docstring).

    Attributes:
      encoder: a Flax module, images ``[B, H, W, C]`` -> features ``[B, F]``.
      head: a Flax module, features -> projections ``[B, D]``.
      augment: one :class:`~jaxssl.data.augment.Augment` or a pair (view 1, view 2).
      predictor: optional Flax module, projections -> predictions (BYOL, SimSiam).
      axis_name: the pmap axis, or None under jit (global arrays).
      image_key: the batch's image field (uint8 ``[B, H, W, C]``); the batch
        also needs ``'index'`` (global example indices, from the loader) to
        seed each example's augmentation.
    """

    encoder: nn.Module
    head: nn.Module
    augment: Any
    predictor: nn.Module | None = None
    axis_name: Hashable | None = None
    image_key: str = "image"

    # BYOL and SimSiam set it: their loss compares a prediction with a projection.
    needs_predictor: ClassVar[bool] = False

    def __post_init__(self):
        if self.needs_predictor and self.predictor is None:
            raise ValueError(
                f"{type(self).__name__} needs a predictor module (e.g. "
                "jaxssl.models.PredictionHead), got predictor=None."
            )

    @property
    def net(self) -> EncoderWithHead:
        """The online network: encoder, head (and predictor) as one module."""
        return EncoderWithHead(self.encoder, self.head, self.predictor)

    def _views(self, batch, rng):
        return aug_lib.two_views(batch[self.image_key], rng, self.augment, indices=batch["index"])

    def init(self, rng: jax.Array, sample: dict) -> dict:
        """Variables (``params``, ``batch_stats``; ``method`` for a target) from a sample batch."""
        view, _ = self._views(sample, jax.random.key(0))
        variables = dict(self.net.init(rng, view, train=False))
        method_state = self.init_method_state(variables, jax.random.fold_in(rng, 1))
        if method_state:
            variables["method"] = method_state
        return variables

    def init_method_state(self, variables: dict, rng: jax.Array) -> dict:
        """What the method carries besides parameters (a target network, a queue); none here."""
        del variables, rng
        return {}

    def _one_view(self, batch: dict, rng: jax.Array) -> jax.Array:
        """One augmented view ``[B, H, W, C]``, from ``augment``'s first pipeline.

        The input of the single-view methods: rotation, jigsaw, inpainting.
        """
        first = self.augment[0] if isinstance(self.augment, tuple) else self.augment
        return aug_lib.augment_batch(batch[self.image_key], rng, first, indices=batch["index"])

    def _stacked_views(self, batch: dict, rng: jax.Array) -> jax.Array:
        """``concat([view1, view2])``: ``[2B, H, W, C]``, rows ``:B`` are view 1."""
        return jnp.concatenate(self._views(batch, rng))

    def _forward(self, params, state: dict, x: jax.Array):
        """The online network on ``x`` (both views) in training mode.

        Returns ``(outputs, new_batch_stats)``; ``outputs`` is the network's tuple.
        """
        outputs, updates = self.net.apply(
            {"params": params, "batch_stats": state["batch_stats"]},
            x,
            train=True,
            mutable=["batch_stats"],
        )
        return outputs, updates.get("batch_stats", {})

    def _target_forward(self, target: dict, state: dict, x: jax.Array) -> jax.Array:
        """A target network's (encoder + head) projections of ``x``, without gradient.

        It runs in training mode, on batch statistics like the online network;
        its running averages are never used, so they are dropped.
        """
        stats = {k: v for k, v in state["batch_stats"].items() if k in ("encoder", "head")}
        (_, z), _ = EncoderWithHead(self.encoder, self.head).apply(
            {"params": target, "batch_stats": stats}, x, train=True, mutable=["batch_stats"]
        )
        return lax.stop_gradient(as_float32(z))

    def _state(self, state: dict, batch_stats, method_state=None) -> dict:
        method_state = state["method"] if method_state is None else method_state
        return {"batch_stats": batch_stats, "method": method_state}

    def features(self, params, state: dict, images: jax.Array) -> jax.Array:
        """Encoder features ``[B, F]`` (float32) of un-augmented images, in inference mode."""
        first = self.augment[0] if isinstance(self.augment, tuple) else self.augment
        return encode(self.encoder, first, params, state, images)


def encode(encoder: nn.Module, augment, params, state: dict, images: jax.Array) -> jax.Array:
    """``encoder``'s features ``[B, F]`` (float32) of un-augmented images, in inference mode.

    The images get the same scaling as the training views (``augment``'s
    normalisation, or none when ``augment`` is None); ``params`` and
    ``state['batch_stats']`` hold the encoder under the key ``'encoder'``.
    """
    x = aug_lib.to_unit_float(images)
    if augment is not None:
        x = aug_lib.normalize(x, augment)
    h = encoder.apply(
        {"params": params["encoder"], "batch_stats": state["batch_stats"].get("encoder", {})},
        x,
        train=False,
    )
    return h.astype(jnp.float32)
