"""Supervised fine-tuning: a (pretrained) encoder, a new linear head, cross-entropy.

Not a self-supervised method but the same contract (``init``, ``loss_fn``,
``features``), so the generic train step, the device mesh, checkpoints and
resume all serve fine-tuning unchanged. With ``config.init_from`` the loop
copies the pretrained encoder (parameters and BatchNorm statistics) into it
before the first step (``init_from_keys``).

Two variants:

* full fine-tune: encoder and head train; BatchNorm in training mode.
* frozen encoder (``freeze_encoder=True``): the encoder runs in inference mode
  and its output goes through ``stop_gradient``, so only the head learns
  (linear evaluation with augmentation). Pair it with an optimizer that leaves
  the encoder alone (``optim.encoder_lr_mult = 0``); weight decay would
  otherwise still shrink the encoder's weights.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxssl.data import augment as aug_lib
from jaxssl.methods.base import EncoderWithHead, encode


@dataclasses.dataclass(frozen=True)
class Classifier:
    """Encoder + linear head trained with (label-smoothed) cross-entropy.

    Attributes:
      encoder: images ``[B, H, W, C]`` -> features ``[B, F]``.
      head: features -> logits ``[B, num_classes]`` (``LinearClassifier``).
      augment: the augmentation preset of pretraining: one view per example,
        keyed by its index, on the training images; its normalisation also
        scales evaluation inputs. None: images only scaled to [0, 1].
      augment_train: False trains on un-augmented (but normalised) images.
      label_smoothing: ``alpha`` of ``optax.smooth_labels``; 0 is plain
        cross-entropy.
      freeze_encoder: train the head only (see the module docstring).
      axis_name: the pmap axis, or None under jit.
      image_key, label_key: the batch's fields.
    """

    encoder: nn.Module
    head: nn.Module
    augment: Any = None
    augment_train: bool = True
    label_smoothing: float = 0.0
    freeze_encoder: bool = False
    axis_name: Hashable | None = None
    image_key: str = "image"
    label_key: str = "label"

    # Copied from a pretraining checkpoint by ``config.init_from``; the head is new.
    init_from_keys = ("encoder",)

    @property
    def net(self) -> EncoderWithHead:
        """The encoder and head as one module."""
        return EncoderWithHead(self.encoder, self.head)

    @property
    def _eval_augment(self):
        return self.augment[0] if isinstance(self.augment, tuple) else self.augment

    def _inputs(self, batch, rng):
        images = batch[self.image_key]
        first = self._eval_augment
        if first is None:
            return aug_lib.to_unit_float(images)
        if not self.augment_train:
            return aug_lib.normalize(aug_lib.to_unit_float(images), first)
        return aug_lib.augment_batch(images, rng, first, indices=batch["index"])

    def init(self, rng: jax.Array, sample: dict) -> dict:
        """Variables (``params``, ``batch_stats``) from a sample batch."""
        return dict(self.net.init(rng, self._inputs(sample, jax.random.key(0)), train=False))

    def loss_fn(self, params, state: dict, batch: dict, rng: jax.Array):
        """Mean cross-entropy of the batch's labels; returns ``(loss, (new_state, metrics))``."""
        x = self._inputs(batch, rng)
        stats = state["batch_stats"]
        if self.freeze_encoder:
            h = self.encoder.apply(
                {"params": params["encoder"], "batch_stats": stats.get("encoder", {})},
                x,
                train=False,
            )
            logits = self.head.apply({"params": params["head"]}, jax.lax.stop_gradient(h))
            new_stats = stats
        else:
            (_, logits), updates = self.net.apply(
                {"params": params, "batch_stats": stats}, x, train=True, mutable=["batch_stats"]
            )
            new_stats = updates.get("batch_stats", {})
        logits = logits.astype(jnp.float32)
        labels = batch[self.label_key]
        targets = jax.nn.one_hot(labels, logits.shape[-1])
        if self.label_smoothing:
            targets = optax.smooth_labels(targets, self.label_smoothing)
        loss = optax.softmax_cross_entropy(logits, targets).mean()
        metrics = {"top1": jnp.mean(jnp.argmax(logits, -1) == labels)}
        return loss, ({"batch_stats": new_stats, "method": state["method"]}, metrics)

    def features(self, params, state: dict, images: jax.Array) -> jax.Array:
        """Encoder features ``[B, F]`` (float32) of un-augmented images, in inference mode."""
        return encode(self.encoder, self._eval_augment, params, state, images)

    def logits(self, params, state: dict, images: jax.Array) -> jax.Array:
        """Class scores ``[B, C]`` (float32) of un-augmented images, in inference mode."""
        h = self.features(params, state, images)
        return self.head.apply({"params": params["head"]}, h).astype(jnp.float32)
