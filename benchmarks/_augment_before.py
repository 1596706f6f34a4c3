"""The on-device augmentation as it was before the reference crop and the switch-free jitter.

The ops of ``jaxssl/data/augment.py`` at commit 5054d96, kept only so that
``bench_input.py --stages`` can time the old and the new pipelines side by
side in one run. Not part of the library; nothing else imports it. The
presets, normalisation and per-example keys are the library's (unchanged).

Old semantics: each crop side clipped on its own (no tries), colour jitter
with ``lax.switch`` in random order, dm-pix's blur, one key split per op.
"""

import math

import dm_pix as pix
import jax
import jax.numpy as jnp
from jax import lax

from jaxssl.data.augment import Augment, example_keys, normalize, resized_crop, to_unit_float


def random_resized_crop(key, image, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    """Crop of random area fraction and aspect ratio, resized to ``size x size`` (bilinear).

    Crop sides are clipped to the image, so an out-of-range draw becomes the
    largest crop of that shape instead of a retry loop.
    """
    h, w = image.shape[0], image.shape[1]
    k_area, k_ratio, k_y, k_x = jax.random.split(key, 4)
    area = jax.random.uniform(k_area, minval=scale[0], maxval=scale[1]) * h * w
    log_r = jax.random.uniform(k_ratio, minval=math.log(ratio[0]), maxval=math.log(ratio[1]))
    aspect = jnp.exp(log_r)
    crop_w = jnp.clip(jnp.sqrt(area * aspect), 1.0, w)
    crop_h = jnp.clip(jnp.sqrt(area / aspect), 1.0, h)
    y0 = jax.random.uniform(k_y) * (h - crop_h)
    x0 = jax.random.uniform(k_x) * (w - crop_w)
    return resized_crop(image, (y0, x0, crop_h, crop_w), size)  # the resize is unchanged


def color_jitter(key, image, brightness, contrast, saturation, hue):
    """Brightness, contrast, saturation and hue changes in a random order (SimCLR)."""
    k_order, *keys = jax.random.split(key, 5)

    def factor(k, s):
        return jax.random.uniform(k, minval=max(0.0, 1.0 - s), maxval=1.0 + s)

    ops = [
        lambda x: x * factor(keys[0], brightness),
        lambda x: pix.adjust_contrast(x, factor(keys[1], contrast)),
        lambda x: pix.adjust_saturation(x, factor(keys[2], saturation)),
        lambda x: pix.adjust_hue(x, jax.random.uniform(keys[3], minval=-hue, maxval=hue)),
    ]
    ops = [lambda x, op=op: jnp.clip(op(x), 0.0, 1.0) for op in ops]
    for op_index in jax.random.permutation(k_order, 4):
        image = lax.switch(op_index, ops, image)
    return image


def _maybe(key, prob, fn, image):
    """``fn(image)`` with probability ``prob``; exactly the identity when prob == 0."""
    if prob == 0.0:
        return image
    if prob == 1.0:
        return fn(image)
    return jnp.where(jax.random.uniform(key) < prob, fn(image), image)


def augment_image(key: jax.Array, image: jax.Array, aug: Augment) -> jax.Array:
    """Applies ``aug`` to one image ``[H, W, C]`` (uint8 or float in [0, 1]); float32 out."""
    if image.ndim != 3:
        raise ValueError(f"image must have shape [H, W, C], got shape {image.shape}.")
    image = to_unit_float(image)
    ks = jax.random.split(key, 8)
    x = random_resized_crop(ks[0], image, aug.size, aug.crop_scale, aug.crop_ratio)
    x = _maybe(ks[1], aug.flip_prob, lambda x: x[:, ::-1], x)
    rgb = x.shape[-1] == 3
    if rgb:
        jitter = lambda x: color_jitter(  # noqa: E731
            ks[2], x, aug.brightness, aug.contrast, aug.saturation, aug.hue
        )
        x = _maybe(ks[3], aug.jitter_prob, jitter, x)
        gray = lambda x: jnp.broadcast_to(pix.rgb_to_grayscale(x, keep_dims=True), x.shape)  # noqa: E731
        x = _maybe(ks[4], aug.grayscale_prob, gray, x)
    if aug.blur_prob:
        kernel = max(3, int(0.1 * aug.size) // 2 * 2 + 1)
        sigma = jax.random.uniform(ks[5], minval=aug.blur_sigma[0], maxval=aug.blur_sigma[1])
        x = _maybe(ks[6], aug.blur_prob, lambda x: pix.gaussian_blur(x, sigma, kernel), x)
    x = _maybe(ks[7], aug.solarize_prob, lambda x: pix.solarize(x, 0.5), x)
    return normalize(x, aug)


def two_views(images, rng, aug: Augment):
    """Two views of every image (example i keyed by i), as the old ``two_views``."""
    keys = [example_keys(rng, jnp.arange(images.shape[0]), view) for view in (0, 1)]
    one = jax.vmap(lambda k, x: augment_image(k, x, aug))
    return one(keys[0], images), one(keys[1], images)
