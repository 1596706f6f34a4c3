"""On-device image augmentation: pure, jit- and vmap-able, one RNG per example.

Every op takes ``(key, image)`` for one ``[H, W, C]`` float image in [0, 1].
:func:`augment_batch` and :func:`two_views` derive each example's key from
the example's *global* index (``fold_in(fold_in(rng, view), index)``), so a
global batch gets the same views whether it is processed on one device or
sharded over eight. Colour, grayscale, blur and solarize use dm-pix; the
random resized crop is written here on ``jax.image.scale_and_translate``
because dm-pix has no scale/aspect-ratio crop.

Presets follow the papers: :func:`simclr` (Chen et al. 2020, appendix A),
:func:`byol` (Grill et al. 2020, table 6; asymmetric views), and
:func:`digits` for 8x8 grey digits (small crop/shift/scale, no colour, no flip).
"""

from __future__ import annotations

import dataclasses
import math

import dm_pix as pix
import jax
import jax.numpy as jnp
from jax import lax

# One key per example from its global index, fold_in(fold_in(rng, view), index):
# defined with the other shared numerics, re-exported here.
from jaxssl._src.numerics import example_keys as example_keys


@dataclasses.dataclass(frozen=True)
class Augment:
    """One augmentation pipeline; every probability in [0, 1].

    Attributes:
      size: output side (square).
      crop_scale: area fraction range of the random resized crop.
      crop_ratio: aspect-ratio range of the crop.
      flip_prob: horizontal-flip probability.
      jitter_prob: probability of colour jitter.
      brightness, contrast, saturation, hue: jitter strengths (factors in
        ``[1 - b, 1 + b]`` etc., hue shift in ``[-h, h]`` of a full turn),
        applied in random order as SimCLR does.
      grayscale_prob: probability of converting to grayscale.
      blur_prob: probability of Gaussian blur with sigma in ``blur_sigma``
        and a kernel of 10% of ``size`` (odd, >= 3).
      blur_sigma: sigma range of the blur, in pixels.
      solarize_prob: probability of solarizing at 0.5.
      mean, std: per-channel normalisation applied last; None skips it.
    """

    size: int
    crop_scale: tuple[float, float] = (0.08, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_prob: float = 0.5
    jitter_prob: float = 0.8
    brightness: float = 0.8
    contrast: float = 0.8
    saturation: float = 0.8
    hue: float = 0.2
    grayscale_prob: float = 0.2
    blur_prob: float = 0.0
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    solarize_prob: float = 0.0
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def __post_init__(self):
        if not isinstance(self.size, int) or self.size < 1:
            raise ValueError(f"size must be a positive int, got {self.size!r}.")
        for f in dataclasses.fields(self):
            if f.name.endswith("_prob") and not 0.0 <= getattr(self, f.name) <= 1.0:
                raise ValueError(f"{f.name} must be in [0, 1], got {getattr(self, f.name)!r}.")
        lo, hi = self.crop_scale
        if not 0.0 < lo <= hi <= 1.0:
            raise ValueError(f"crop_scale must satisfy 0 < lo <= hi <= 1, got {self.crop_scale}.")
        if not 0.0 < self.crop_ratio[0] <= self.crop_ratio[1]:
            raise ValueError(f"crop_ratio must satisfy 0 < lo <= hi, got {self.crop_ratio}.")


def simclr(size: int, strength: float = 1.0, *, blur: bool | None = None) -> Augment:
    """SimCLR's augmentation: crop, flip, colour jitter (s), grayscale, blur on large images.

    Jitter is ``0.8 s`` for brightness/contrast/saturation and ``0.2 s`` for
    hue with probability 0.8; grayscale 0.2; blur with probability 0.5 when
    ``blur`` (default: for images larger than 32x32, as in the paper's CIFAR
    setting that drops it).
    """
    blur = size > 32 if blur is None else blur
    return Augment(
        size=size,
        brightness=0.8 * strength,
        contrast=0.8 * strength,
        saturation=0.8 * strength,
        hue=0.2 * strength,
        blur_prob=0.5 if blur else 0.0,
    )


def byol(size: int) -> tuple[Augment, Augment]:
    """BYOL's asymmetric pair: view 1 always blurred; view 2 rarely blurred, sometimes solarized."""
    common = {
        "size": size,
        "brightness": 0.4,
        "contrast": 0.4,
        "saturation": 0.2,
        "hue": 0.1,
    }
    return (
        Augment(**common, blur_prob=1.0, solarize_prob=0.0),
        Augment(**common, blur_prob=0.1, solarize_prob=0.2),
    )


def digits(size: int = 8) -> Augment:
    """For 8x8 grey digits: a mild crop (scale 0.6-1, near-square), no flip, no colour."""
    return Augment(
        size=size,
        crop_scale=(0.6, 1.0),
        crop_ratio=(0.8, 1.25),
        flip_prob=0.0,
        jitter_prob=0.0,
        grayscale_prob=0.0,
    )


# --- single-image ops ---------------------------------------------------------


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
    sy, sx = size / crop_h, size / crop_w
    return jax.image.scale_and_translate(
        image,
        (size, size, image.shape[2]),
        spatial_dims=(0, 1),
        scale=jnp.stack([sy, sx]),
        translation=jnp.stack([-y0 * sy, -x0 * sx]),
        method="linear",
        antialias=True,
    )


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


def to_unit_float(images: jax.Array) -> jax.Array:
    """Images ``[..., C]``: uint8 -> float32 in [0, 1]; floats -> float32 unchanged."""
    if jnp.issubdtype(images.dtype, jnp.integer):
        return images.astype(jnp.float32) / 255.0
    return images.astype(jnp.float32)


def normalize(images: jax.Array, aug: Augment) -> jax.Array:
    """``(images - aug.mean) / aug.std`` over the channel axis ``[..., C]``; unchanged if no mean.

    The last step of :func:`augment_image`, also for un-augmented images
    (evaluation) so they see the same input scale as the views.
    """
    if aug.mean is None:
        return images
    mean = jnp.asarray(aug.mean, jnp.float32)
    std = jnp.asarray(aug.std if aug.std is not None else 1.0, jnp.float32)
    return (images - mean) / std


def augment_batch(
    images: jax.Array, rng: jax.Array, aug: Augment, *, indices=None, view: int = 0
) -> jax.Array:
    """Augments ``[B, H, W, C]`` images, example i with the key of ``indices[i]``.

    Args:
      images: a batch of uint8 or [0, 1] float images.
      rng: the step's key.
      aug: the pipeline.
      indices: ``[B]`` global example indices (default ``0..B-1``). Pass the
        indices the loader gives, so results do not depend on the device count
        or on where an example sits in a batch.
      view: folded into the key, so views of one example differ.
    """
    if images.ndim != 4:
        raise ValueError(f"images must have shape [B, H, W, C], got shape {images.shape}.")
    if indices is None:
        indices = jnp.arange(images.shape[0])
    keys = example_keys(rng, jnp.asarray(indices), view)
    return jax.vmap(lambda k, x: augment_image(k, x, aug))(keys, images)


def two_views(
    images: jax.Array, rng: jax.Array, preset: Augment | tuple[Augment, Augment], *, indices=None
) -> tuple[jax.Array, jax.Array]:
    """Two augmented views of every image; ``preset`` is one pipeline or a (view 1, view 2) pair."""
    first, second = preset if isinstance(preset, tuple) else (preset, preset)
    return (
        augment_batch(images, rng, first, indices=indices, view=0),
        augment_batch(images, rng, second, indices=indices, view=1),
    )
