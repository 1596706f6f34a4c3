"""DCGAN (Radford et al. 2016): alternating discriminator and generator updates in one pure step.

Both networks live in one :class:`~jaxssl.train.TrainState`: ``params``,
``batch_stats`` and ``opt_state`` each hold ``{'generator': ...,
'discriminator': ...}``. Each network has its own optimizer state (the
run's optimizer, one instance per network: :func:`per_network`). One call of
:meth:`GAN.update` (which the generic train step runs instead of its single
gradient step) does, in order:

1. the discriminator step: real images and ``G(z)`` (no gradient to G),
   ``losses.gan_discriminator_loss``, an update of D's parameters only;
2. the generator step against the **updated** discriminator:
   ``losses.gan_generator_loss`` of ``D(G(z))``, an update of G's parameters
   only (D's running statistics from this pass are discarded).

The losses are ``non_saturating`` (Goodfellow et al. 2014: D's binary
cross-entropy, G's ``-log D(G(z))``), ``hinge`` (Miyato et al. 2018) or
``least_squares`` (LSGAN). Images are scaled to [-1, 1] (the generator ends
in ``tanh``). The noise is drawn per example from its global index, so jit
and pmap see the same numbers; under pmap the gradients are averaged over
devices and BatchNorm statistics are cross-replica.

Metrics: ``d_loss``, ``g_loss``, ``d_real`` (mean D(x), a probability for the
non-saturating loss: sigmoid of the logit), ``d_fake`` (mean D(G(z))),
``d_accuracy`` (real scored > 0, fake < 0) and ``diversity``: the mean
pairwise distance between generated images over that between real images
of the batch, a mode-collapse signal (near 0 when G collapses to one image;
about 1 when its samples are as varied as the data).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax import lax

from jaxssl import losses, models
from jaxssl.data.augment import to_unit_float
from jaxssl.methods.generative import per_example_noise

LOSSES = {  # config name -> (discriminator kind, generator kind) of jaxssl.losses
    "non_saturating": ("bce", "non_saturating"),
    "hinge": ("hinge", "hinge"),
    "least_squares": ("least_squares", "least_squares"),
}
NETS = ("generator", "discriminator")


def per_network(tx: optax.GradientTransformation) -> optax.GradientTransformation:
    """``tx`` applied separately to ``params['generator']`` and ``params['discriminator']``.

    Its state is ``{'generator': ..., 'discriminator': ...}``. ``update`` steps
    only the networks present in the gradients it is given, and leaves the
    other's state as it was: :meth:`GAN.update` steps one network at a time
    (a zero gradient instead would still move Adam's moments and weights).
    """

    def init(params):
        return {k: tx.init(params[k]) for k in NETS}

    def update(updates, state, params=None):
        new_updates, new_state = {}, dict(state)
        for k in updates:
            new_updates[k], new_state[k] = tx.update(
                updates[k], state[k], None if params is None else params[k]
            )
        return new_updates, new_state

    return optax.GradientTransformation(init, update)


def _signed(images: jax.Array) -> jax.Array:
    """uint8 or [0, 1] images -> [-1, 1] float32."""
    return 2.0 * to_unit_float(images) - 1.0


def _mean_pairwise_distance(x: jax.Array) -> jax.Array:
    flat = x.reshape(x.shape[0], -1)
    sq = jnp.sum(flat**2, axis=1)
    d2 = jnp.maximum(sq[:, None] + sq[None, :] - 2.0 * flat @ flat.T, 0.0)
    n = flat.shape[0]
    return jnp.sum(jnp.sqrt(d2 + 1e-12) * (1.0 - jnp.eye(n))) / (n * (n - 1))


@dataclasses.dataclass(frozen=True)
class GAN:
    """DCGAN with the alternating update described in the module docstring.

    Attributes:
      latent_dim: size of the generator's input noise.
      base_features: DCGAN width next to the image (doubles towards 4x4).
      loss: ``'non_saturating'``, ``'hinge'`` or ``'least_squares'``.
      dtype: computation dtype.
      axis_name: the pmap axis, or None under jit.
      image_key: the batch's image field.
    """

    latent_dim: int = 64
    base_features: int = 64
    loss: str = "non_saturating"
    dtype: Any = jnp.float32
    axis_name: Hashable | None = None
    image_key: str = "image"

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {self.loss!r}.")

    def nets(self, image_shape):
        """``(generator, discriminator)`` for images of ``image_shape`` ``(H, W, C)``."""
        kw = {
            "image_shape": tuple(image_shape),
            "base_features": self.base_features,
            "dtype": self.dtype,
            "axis_name": self.axis_name,
        }
        return models.DCGANGenerator(**kw), models.DCGANDiscriminator(**kw)

    def optimizer(self, tx: optax.GradientTransformation) -> optax.GradientTransformation:
        """The run's optimizer, one instance per network."""
        return per_network(tx)

    def init(self, rng: jax.Array, sample: dict) -> dict:
        """``params`` and ``batch_stats``, each ``{'generator', 'discriminator'}``."""
        x = _signed(sample[self.image_key])
        gen, disc = self.nets(x.shape[1:])
        z = jnp.zeros((x.shape[0], self.latent_dim), jnp.float32)
        g = gen.init(jax.random.fold_in(rng, 0), z, train=False)
        d = disc.init(jax.random.fold_in(rng, 1), x, train=False)
        return {
            "params": {"generator": g["params"], "discriminator": d["params"]},
            "batch_stats": {
                "generator": g.get("batch_stats", {}),
                "discriminator": d.get("batch_stats", {}),  # none in a one-stage D (8x8)
            },
        }

    def _pmean(self, tree):
        return tree if self.axis_name is None else lax.pmean(tree, self.axis_name)

    def update(self, state, batch: dict, rng: jax.Array, tx: optax.GradientTransformation):
        """One D step then one G step; returns ``(state, grads, metrics)`` (see the module doc)."""
        x = _signed(batch[self.image_key])
        gen, disc = self.nets(x.shape[1:])
        d_kind, g_kind = LOSSES[self.loss]
        params, stats = state.params, state.batch_stats
        z = per_example_noise(rng, batch["index"], (self.latent_dim,))

        def generate(g_params):
            variables = {"params": g_params, "batch_stats": stats["generator"]}
            images, v = gen.apply(variables, z, train=True, mutable=["batch_stats"])
            return images.astype(jnp.float32), v.get("batch_stats", {})

        # One forward pass of G serves both steps: D sees its output as data,
        # and G's gradient is pulled back through it from the updated D.
        fake, g_pullback, g_stats = jax.vjp(generate, params["generator"], has_aux=True)

        def d_loss_fn(d_params):
            variables = {"params": d_params, "batch_stats": stats["discriminator"]}
            real_logits, v = disc.apply(variables, x, train=True, mutable=["batch_stats"])
            variables = {"params": d_params, "batch_stats": v.get("batch_stats", {})}
            fake_logits, v = disc.apply(variables, fake, train=True, mutable=["batch_stats"])
            real_logits, fake_logits = (
                real_logits.astype(jnp.float32),
                fake_logits.astype(jnp.float32),
            )
            loss = losses.gan_discriminator_loss(real_logits, fake_logits, kind=d_kind)
            return loss, (v.get("batch_stats", {}), real_logits, fake_logits)

        (d_loss, (d_stats, real_logits, fake_logits)), d_grads = jax.value_and_grad(
            d_loss_fn, has_aux=True
        )(params["discriminator"])
        d_grads = self._pmean(d_grads)
        d_updates, opt_state = tx.update(
            {"discriminator": d_grads}, state.opt_state, {"discriminator": params["discriminator"]}
        )
        d_params = optax.apply_updates(params["discriminator"], d_updates["discriminator"])

        def g_loss_fn(images):
            # D in training mode (batch statistics), as in its own step; the
            # statistics it would record here are dropped
            logits, _ = disc.apply(
                {"params": d_params, "batch_stats": d_stats},
                images,
                train=True,
                mutable=["batch_stats"],
            )
            return losses.gan_generator_loss(logits.astype(jnp.float32), kind=g_kind)

        g_loss, image_grads = jax.value_and_grad(g_loss_fn)(fake)
        (g_grads,) = g_pullback(image_grads)
        g_grads = self._pmean(g_grads)
        g_updates, opt_state = tx.update(
            {"generator": g_grads}, opt_state, {"generator": params["generator"]}
        )
        g_params = optax.apply_updates(params["generator"], g_updates["generator"])

        score = jax.nn.sigmoid if d_kind == "bce" else (lambda v: v)
        metrics = {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "loss": d_loss + g_loss,
            "d_real": jnp.mean(score(real_logits)),
            "d_fake": jnp.mean(score(fake_logits)),
            "d_accuracy": 0.5 * (jnp.mean(real_logits > 0) + jnp.mean(fake_logits < 0)),
            "diversity": _mean_pairwise_distance(fake) / _mean_pairwise_distance(x),
        }
        new_state = state.replace(
            params={"generator": g_params, "discriminator": d_params},
            batch_stats={"generator": g_stats, "discriminator": d_stats},
            opt_state=opt_state,
        )
        grads = {"generator": g_grads, "discriminator": d_grads}
        return new_state, grads, self._pmean(metrics)

    def features(self, params, state: dict, images: jax.Array) -> jax.Array:
        """The discriminator's last feature map, flattened (Radford et al.'s representation)."""
        x = _signed(images)
        _, disc = self.nets(x.shape[1:])
        variables = {
            "params": params["discriminator"],
            "batch_stats": state["batch_stats"]["discriminator"],
        }
        _, feats = disc.apply(variables, x, train=False, return_features=True)
        return feats.astype(jnp.float32)

    def pictures(self, params, state: dict, images: jax.Array, rng: jax.Array) -> dict:
        """``{'samples': G(z)}`` for fixed noise (``rng``), in [0, 1], one per image given."""
        gen, _ = self.nets(images.shape[1:])
        z = jax.random.normal(rng, (images.shape[0], self.latent_dim), jnp.float32)
        variables = {
            "params": params["generator"],
            "batch_stats": state["batch_stats"]["generator"],
        }
        fake = gen.apply(variables, z, train=False)
        return {"samples": (fake.astype(jnp.float32) + 1.0) / 2.0}
