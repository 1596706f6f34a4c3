"""Generative pretraining on images: the convolutional autoencoder and the VAE.

Both follow the method contract (``init``, ``loss_fn``, ``features``), so
``train.py`` trains them with the generic step and evaluates their encoders
with kNN, the linear probe and k-means like the contrastive methods. Each
also has:

* ``eval_terms(params, state, images) -> [B, T]``: per-example held-out
  numbers (the names in ``EVAL_TERMS``), averaged over the eval split by the
  loop;
* ``pictures(params, state, images, rng) -> {name: [N, H, W, C] in [0, 1]}``:
  what the loop saves as PNG grids in the workdir.

Images are uint8 (or floats in [0, 1]); the decoders output Bernoulli
logits, so reconstruction is binary cross-entropy against the pixel
intensities in [0, 1] (the standard choice for MNIST-like data).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxssl import losses, models
from jaxssl._src.numerics import example_keys
from jaxssl.data.augment import to_unit_float


def per_example_noise(rng: jax.Array, indices: jax.Array, shape) -> jax.Array:
    """``[B, *shape]`` standard-normal draws, example ``b``'s from ``fold_in(rng, indices[b])``."""
    keys = example_keys(rng, indices, view=None)
    return jax.vmap(lambda k: jax.random.normal(k, shape, jnp.float32))(keys)


@dataclasses.dataclass(frozen=True)
class Autoencoder:
    """Convolutional autoencoder trained on per-pixel binary cross-entropy.

    The loss is the mean over pixels and examples of
    ``-x log sigmoid(l) - (1 - x) log(1 - sigmoid(l))``; ``mse`` of the
    sigmoid reconstruction is reported beside it. ``features`` are the
    encoder's codes, flattened.

    Attributes:
      net: a :class:`~jaxssl.models.ConvAutoencoder`.
      axis_name: the pmap axis, or None under jit.
      image_key: the batch's image field.
    """

    net: nn.Module
    axis_name: Hashable | None = None
    image_key: str = "image"

    EVAL_TERMS = ("bce", "mse")

    def init(self, rng: jax.Array, sample: dict) -> dict:
        """``{'params': ...}`` from a sample batch."""
        return dict(self.net.init(rng, to_unit_float(sample[self.image_key])))

    def _terms(self, params, x):
        logits = self.net.apply({"params": params}, x).astype(jnp.float32)
        bce = losses.reconstruction_loss(logits, x, kind="bce_logits", reduction="none")
        mse = jnp.mean((jax.nn.sigmoid(logits) - x) ** 2, axis=(1, 2, 3))
        return logits, jnp.stack([bce, mse], axis=1)

    def loss_fn(self, params, state: dict, batch: dict, rng: jax.Array):
        """Mean per-pixel BCE of this (device's) batch; metrics ``bce``, ``mse``."""
        del rng
        _, terms = self._terms(params, to_unit_float(batch[self.image_key]))
        means = jnp.mean(terms, axis=0)
        return means[0], (state, {"bce": means[0], "mse": means[1]})

    def features(self, params, state: dict, images: jax.Array) -> jax.Array:
        """The encoder's codes ``[B, h * w * c]`` (float32)."""
        del state
        code = self.net.apply({"params": params}, to_unit_float(images), method="encode")
        return code.reshape(code.shape[0], -1).astype(jnp.float32)

    def eval_terms(self, params, state: dict, images: jax.Array) -> jax.Array:
        """``[B, 2]``: each example's mean per-pixel BCE and MSE."""
        del state
        return self._terms(params, to_unit_float(images))[1]

    def pictures(self, params, state: dict, images: jax.Array, rng: jax.Array) -> dict:
        """``{'reconstructions': originals and reconstructions, alternating rows}``."""
        del state, rng
        x = to_unit_float(images)
        recon = jax.nn.sigmoid(self._terms(params, x)[0])
        return {"reconstructions": _interleave_rows(x, recon)}


@dataclasses.dataclass(frozen=True)
class VAE:
    """Variational autoencoder (Kingma & Welling 2014) with a beta weight on the KL.

    The loss is :func:`jaxssl.losses.vae_elbo`: per example, the Bernoulli
    negative log-likelihood summed over pixels plus ``beta`` times the KL of
    the posterior from N(0, I), in nats per image, averaged over the batch.
    The reparameterisation noise is drawn per example from its global index
    (the same under jit and pmap). ``features`` are the posterior means.

    Attributes:
      latent_dim: size of z.
      widths: encoder widths of the :class:`~jaxssl.models.ConvVAE` (its ``features``).
      beta: the KL weight (1: the ELBO).
      dtype: computation dtype.
      axis_name: the pmap axis, or None under jit.
      image_key: the batch's image field.
    """

    latent_dim: int = 16
    widths: tuple[int, ...] = (32, 64)
    beta: float = 1.0
    dtype: Any = jnp.float32
    axis_name: Hashable | None = None
    image_key: str = "image"

    # held-out: the true ELBO (beta = 1) whatever beta trained
    EVAL_TERMS = ("neg_elbo", "reconstruction", "kl")

    def __post_init__(self):
        if not self.beta >= 0:
            raise ValueError(f"beta must be >= 0, got {self.beta!r}.")

    def net(self, image_shape) -> nn.Module:
        """The VAE for images of ``image_shape`` ``(H, W, C)`` (its decoder needs the shape)."""
        return models.ConvVAE(
            image_shape=tuple(image_shape),
            latent_dim=self.latent_dim,
            features=self.widths,
            dtype=self.dtype,
        )

    def init(self, rng: jax.Array, sample: dict) -> dict:
        """``{'params': ...}`` from a sample batch."""
        x = to_unit_float(sample[self.image_key])
        return dict(self.net(x.shape[1:]).init(rng, x, jax.random.key(0)))

    def _parts(self, params, x, noise):
        net = self.net(x.shape[1:])
        mean, logvar = net.apply({"params": params}, x, method="encode")
        mean, logvar = mean.astype(jnp.float32), logvar.astype(jnp.float32)
        z = mean + jnp.exp(0.5 * logvar) * noise
        logits = net.apply({"params": params}, z, method="decode").astype(jnp.float32)
        return logits, mean, logvar

    def loss_fn(self, params, state: dict, batch: dict, rng: jax.Array):
        """Negative beta-ELBO (nats per image); metrics ``reconstruction``, ``kl``, ``neg_elbo``."""
        x = to_unit_float(batch[self.image_key])
        noise = per_example_noise(rng, batch["index"], (self.latent_dim,))
        logits, mean, logvar = self._parts(params, x, noise)
        loss, parts = losses.vae_elbo(logits, x, mean, logvar, beta=self.beta, return_metrics=True)
        metrics = {**parts, "neg_elbo": parts["reconstruction"] + parts["kl"]}
        return loss, (state, metrics)

    def features(self, params, state: dict, images: jax.Array) -> jax.Array:
        """Posterior means ``[B, latent_dim]`` (float32)."""
        del state
        x = to_unit_float(images)
        mean, _ = self.net(x.shape[1:]).apply({"params": params}, x, method="encode")
        return mean.astype(jnp.float32)

    def eval_terms(self, params, state: dict, images: jax.Array) -> jax.Array:
        """``[B, 3]``: negative ELBO, reconstruction NLL and KL per image, one fixed noise draw."""
        del state
        x = to_unit_float(images)
        keys = jnp.arange(x.shape[0])
        noise = per_example_noise(jax.random.key(0), keys, (self.latent_dim,))
        logits, mean, logvar = self._parts(params, x, noise)
        recon = losses.reconstruction_loss(
            logits, x, kind="bce_logits", feature_reduction="sum", reduction="none"
        )
        kl = losses.gaussian_kl(mean, logvar, reduction="none")
        return jnp.stack([recon + kl, recon, kl], axis=1)

    def pictures(self, params, state: dict, images: jax.Array, rng: jax.Array) -> dict:
        """Reconstructions (posterior means decoded) and samples of z ~ N(0, I)."""
        del state
        x = to_unit_float(images)
        net, variables = self.net(x.shape[1:]), {"params": params}
        mean, _ = net.apply(variables, x, method="encode")
        recon = jax.nn.sigmoid(net.apply(variables, mean, method="decode"))
        z = jax.random.normal(rng, (x.shape[0], self.latent_dim), jnp.float32)
        samples = jax.nn.sigmoid(net.apply(variables, z, method="decode"))
        return {
            "reconstructions": _interleave_rows(x, recon.astype(jnp.float32)),
            "samples": samples.astype(jnp.float32),
        }


def _interleave_rows(originals: jax.Array, recon: jax.Array, per_row: int = 8) -> jax.Array:
    """Rows of ``per_row`` originals, each followed by the row of their reconstructions."""
    n = originals.shape[0] // per_row * per_row
    a = originals[:n].reshape(-1, per_row, *originals.shape[1:])
    b = recon[:n].reshape(-1, per_row, *recon.shape[1:])
    return jnp.stack([a, b], axis=1).reshape(-1, *originals.shape[1:])
