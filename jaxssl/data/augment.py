"""On-device image augmentation: pure, jit- and vmap-able, one RNG per example.

:func:`augment_image` takes ``(key, image)`` for one ``[H, W, C]`` image and
draws all of that image's random numbers at once (:func:`draws`); the ops
take those numbers. :func:`augment_batch` and :func:`two_views` derive each
example's key from the example's *global* index
(``fold_in(fold_in(rng, view), index)``), so a global batch gets the same
views whether it is processed on one device or sharded over eight.

The ops follow SimCLR's reference, op by op in their docstrings: the random
resized crop of torchvision's ``get_params`` (:func:`crop_box`; ten tries,
then a centre crop), flip, colour jitter in random order clipped after each
op (:func:`color_jitter`), greyscale, Gaussian blur (:func:`gaussian_blur`),
solarize. ``Augment.semantics`` picks SimCLR's TF formulas (the default) or
torchvision's for contrast, saturation and grey. Greyscale and solarize are
dm-pix's; crop, jitter and blur are written here, each saying why.

Presets follow the papers: :func:`simclr` (Chen et al. 2020, appendix A),
:func:`byol` (Grill et al. 2020, table 6; asymmetric views), :func:`grey`
(SimCLR's on one channel: crop, flip, brightness and contrast), and
:func:`digits` for 8x8 grey digits (small crop/shift/scale, no colour, no flip).
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import dm_pix as pix
import jax
import jax.numpy as jnp

# One key per example from its global index, fold_in(fold_in(rng, view), index):
# defined with the other shared numerics, re-exported here.
from jaxssl._src.numerics import example_keys as example_keys

SEMANTICS = ("simclr", "torchvision")


def _check_semantics(semantics: str) -> None:
    if semantics not in SEMANTICS:
        raise ValueError(f"semantics must be one of {SEMANTICS}, got {semantics!r}.")


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
      semantics: ``'simclr'`` (default): contrast, saturation and grey as
        SimCLR's TF code computes them (``tf.image``); ``'torchvision'``: as
        torchvision does, which lightly and solo-learn use (see
        :func:`color_jitter`). Crop, flip, brightness, hue, blur and
        solarize are the same in both.
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
    semantics: str = "simclr"

    def __post_init__(self):
        _check_semantics(self.semantics)
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


def grey(size: int, strength: float = 1.0) -> Augment:
    """For small grey images (Fashion-MNIST, MNIST): crop, flip, brightness and contrast.

    SimCLR's crop (scale 0.08-1) and flip, and its jitter restricted to what
    a grey image has: brightness and contrast ``0.8 s`` in random order with
    probability 0.8 (:func:`grey_jitter`). What :func:`simclr` does to one
    channel up to 32x32 (above it adds blur) is the same, its saturation and
    hue leaving grey pixels as they are and its greyscale step skipped.
    """
    return Augment(
        size=size,
        brightness=0.8 * strength,
        contrast=0.8 * strength,
        saturation=0.0,
        hue=0.0,
        grayscale_prob=0.0,
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
#
# Every random number an image needs comes from one draw, ``uniform(key, (N_DRAWS,))``,
# split into named slices below: one random-bits call per image and view,
# where one call per op (a ``split`` and a ``uniform`` each) made the random
# numbers a large part of every train step's compile. The layout is fixed, so
# an image's crop is the same whichever other ops a pipeline turns on.

CROP_TRIES = 10  # candidate (area, aspect) draws of the random resized crop

_LAYOUT = {
    "crop_area": CROP_TRIES,
    "crop_ratio": CROP_TRIES,
    "crop_y": 1,
    "crop_x": 1,
    "flip": 1,
    "jitter": 1,
    "jitter_factors": 4,  # brightness, contrast, saturation, hue
    "jitter_order": 4,
    "grayscale": 1,
    "blur": 1,
    "blur_sigma": 1,
    "solarize": 1,
}
# (accumulate gives one more offset, the end: zip drops it)
_OFFSETS = dict(zip(_LAYOUT, itertools.accumulate(_LAYOUT.values(), initial=0), strict=False))
N_DRAWS = sum(_LAYOUT.values())


def draws(key: jax.Array) -> dict[str, jax.Array]:
    """The uniform [0, 1) numbers of one image, by use (see ``_LAYOUT``)."""
    u = jax.random.uniform(key, (N_DRAWS,))
    return {name: u[_OFFSETS[name] : _OFFSETS[name] + n] for name, n in _LAYOUT.items()}


def crop_box(
    u_area, u_ratio, u_y, u_x, height: int, width: int, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)
):
    """``(y0, x0, h, w)`` of a random resized crop of a ``height x width`` image.

    torchvision's ``RandomResizedCrop.get_params`` (SimCLR's reference crop),
    with its ten tries drawn at once:

    1. each try draws an area ``s * height * width`` with ``s`` uniform in
       ``scale`` and an aspect ``w / h = exp(r)`` with ``r`` uniform in
       ``log(ratio)``, so ``w = sqrt(area * aspect)``, ``h = sqrt(area / aspect)``;
    2. the first try with ``w <= width`` and ``h <= height`` is taken, at an
       offset uniform over the positions where it fits;
    3. if none fits, the centre crop of the largest box whose aspect is the
       image's clamped to ``ratio``.

    Sides are not rounded to whole pixels (the crop is resampled anyway, and
    on an 8x8 image rounding would leave a handful of crop sizes).

    Args:
      u_area: ``[CROP_TRIES]`` uniform [0, 1) numbers for the areas.
      u_ratio: ``[CROP_TRIES]`` uniform [0, 1) numbers for the aspects.
      u_y: a uniform [0, 1) number for the vertical offset.
      u_x: one for the horizontal offset.
      height: the image's height (static).
      width: its width (static).
      scale: the area-fraction range.
      ratio: the aspect-ratio (width / height) range.
    """
    area = height * width * (scale[0] + (scale[1] - scale[0]) * u_area)
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = jnp.exp(log_lo + (log_hi - log_lo) * u_ratio)
    ws, hs = jnp.sqrt(area * aspect), jnp.sqrt(area / aspect)
    fits = (ws <= width) & (hs <= height)
    first = jnp.argmax(fits)  # the first True (0 if none: replaced below)
    # the fallback: the image's own aspect clamped to the range, centred
    in_ratio = width / height
    if in_ratio < ratio[0]:
        fw, fh = float(width), width / ratio[0]
    elif in_ratio > ratio[1]:
        fw, fh = height * ratio[1], float(height)
    else:
        fw, fh = float(width), float(height)
    found = fits.any()
    w = jnp.where(found, ws[first], fw)
    h = jnp.where(found, hs[first], fh)
    y0 = jnp.where(found, u_y * (height - h), (height - h) / 2)
    x0 = jnp.where(found, u_x * (width - w), (width - w) / 2)
    return y0, x0, h, w


def resized_crop(image: jax.Array, box, size: int) -> jax.Array:
    """The ``box = (y0, x0, h, w)`` of ``image [H, W, C]`` resized to ``size x size``.

    Bilinear with antialiasing (torchvision's ``resized_crop`` with
    ``antialias=True``), on ``jax.image.scale_and_translate``: dm-pix has no
    crop of a random box.
    """
    y0, x0, h, w = box
    sy, sx = size / h, size / w
    return jax.image.scale_and_translate(
        image,
        (size, size, image.shape[2]),
        spatial_dims=(0, 1),
        scale=jnp.stack([sy, sx]),
        translation=jnp.stack([-y0 * sy, -x0 * sx]),
        method="linear",
        antialias=True,
    )


def _random_resized_crop(u, image, size, scale, ratio):
    """The crop of :func:`crop_box` with the draws ``u`` of :func:`draws`, resized."""
    box = crop_box(
        u["crop_area"], u["crop_ratio"], u["crop_y"][0], u["crop_x"][0],
        image.shape[0], image.shape[1], scale, ratio,
    )  # fmt: skip
    return resized_crop(image, box, size)


def random_resized_crop(key, image, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    """A random resized crop of ``image [H, W, C]`` to ``size x size``; see :func:`crop_box`."""
    return _random_resized_crop(draws(key), image, size, scale, ratio)


# Rec. 601 luma to 3 digits, as torchvision weighs grey (tf.image and dm-pix, whose
# rgb_to_grayscale the 'simclr' semantics uses: 0.2989, 0.5870, 0.1140)
_TORCHVISION_LUMA = (0.299, 0.587, 0.114)


def _grey(x, semantics: str):
    """The grey image ``[..., 1]`` of ``x [..., 3]`` with ``semantics``' weights.

    For 'simclr' dm-pix's ``rgb_to_grayscale``; written out for torchvision's weights.
    """
    if semantics == "simclr":
        return pix.rgb_to_grayscale(x, keep_dims=False)
    return _luma(x[..., 0:1], x[..., 1:2], x[..., 2:3], _TORCHVISION_LUMA)


def _luma(r, g, b, weights):
    """The weighted sum of the channels ``r, g, b`` (any matching shapes)."""
    return weights[0] * r + weights[1] * g + weights[2] * b


def _wrap6(h):
    """``h mod 6`` for floats, with floor: XLA:CPU's float remainder is a slow scalar call."""
    return h - 6.0 * jnp.floor(h * (1.0 / 6.0))


def _hsv_parts(r, g, b):
    """Per pixel of the planes r, g, b: V (max), C (max - min), 1 / C (1 where C = 0), H.

    H is in [-1, 5), not yet taken mod 6: both callers add a hue shift first
    and wrap once.
    """
    v = jnp.maximum(jnp.maximum(r, g), b)
    c = v - jnp.minimum(jnp.minimum(r, g), b)
    inv = 1.0 / jnp.where(c > 0, c, 1.0)
    h = jnp.where(
        v == r, (g - b) * inv, jnp.where(v == g, (b - r) * inv + 2.0, (r - g) * inv + 4.0)
    )
    return v, c, inv, h


def _hue_channel(v, c, h, n):
    """Channel ``n`` (5 red, 3 green, 1 blue) of the colour with value V, chroma C and hue H."""
    k = n + h
    k = jnp.where(k >= 6.0, k - 6.0, k)  # (n + H) mod 6, H in [0, 6)
    return v - c * jnp.clip(jnp.minimum(k, 4.0 - k), 0.0, 1.0)


def adjust_hue(image: jax.Array, delta) -> jax.Array:
    """The HSV hue of ``image [..., 3]`` turned by ``delta`` (a fraction of a turn); S, V kept.

    Exactly ``tf.image.adjust_hue`` and torchvision's ``adjust_hue`` (RGB to
    HSV, shift, back; dm-pix's too), as one elementwise pass: with V the max,
    C = max - min and H in [0, 6), channel n (5, 3, 1 for red, green, blue)
    is ``V - C * clip(min(k, 4 - k), 0, 1)`` with ``k = (n + H + 6 delta) mod 6``.
    """
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    v, c, _, h = _hsv_parts(r, g, b)
    h = _wrap6(h + 6.0 * delta)
    return jnp.stack([_hue_channel(v, c, h, n) for n in (5.0, 3.0, 1.0)], axis=-1)


def color_jitter(image, factors, order, semantics: str = "simclr"):
    """Brightness, contrast, saturation and hue in the order ``order``, each clipped to [0, 1].

    Args:
      image: ``[H, W, 3]`` floats in [0, 1].
      factors: ``[4]``: the brightness, contrast and saturation factors and the
        hue shift (a fraction of a turn).
      order: ``[4]`` a permutation of 0..3 (brightness, contrast, saturation,
        hue): the op applied in each of the four slots.
      semantics: ``'simclr'`` (SimCLR's TF code, ``tf.image``) or
        ``'torchvision'`` (what lightly and solo-learn use).

    The ops, with ``f`` the op's factor:

    * brightness: ``x * f`` (SimCLR v2's multiplicative form; torchvision's
      blend with black is the same);
    * contrast: ``(x - m) * f + m``, with ``m`` the current image's mean per
      channel (``tf.image.adjust_contrast``), or for ``'torchvision'`` the
      mean of its grey image (one number);
    * saturation: HSV saturation times ``f``, clipped to 1
      (``tf.image.adjust_saturation``), which is ``V - (V - x) * min(f, V / C)``
      per pixel; for ``'torchvision'`` a blend with the grey image,
      ``grey + f * (x - grey)``;
    * hue: the exact HSV hue turn of :func:`adjust_hue` (both semantics).

    Written without ``lax.switch``: under ``vmap`` a switch on each image's own
    op computes all four branches in every slot, and two of them went through
    HSV and back. Here brightness, contrast and saturation are each
    ``a * x + (1 - a) * ref`` (``ref`` 0, the mean, V or the grey image), so a
    slot is that one blend with ``a`` and ``ref`` picked for its op, and the
    hue turn, kept where the slot is hue's. The channels are separate planes
    while it runs (XLA:CPU vectorises planes, not a minor axis of 3).
    A rotation in YIQ instead of the HSV turn would cost less, but it is not
    the same op: at a tenth of a turn it is 0.09 off HSV's on average and up
    to 0.38.
    """
    _check_semantics(semantics)
    fb, fc, fs, dh = factors[0], factors[1], factors[2], factors[3]
    planes = [image[..., i] for i in range(3)]
    pixels = planes[0].size
    for slot in range(4):
        op = order[slot]
        r, g, b = planes
        v, c, inv, h = _hsv_parts(r, g, b)
        h = _wrap6(h + 6.0 * dh)
        if semantics == "simclr":
            # min(f, V / C); where C = 0 the pixel is grey (x == V) and any a keeps it
            sat_a, sat_ref = jnp.where(c * fs > v, v * inv, fs), v
            means = [jnp.sum(p) / pixels for p in planes]
        else:
            grey = _luma(r, g, b, _TORCHVISION_LUMA)
            sat_a, sat_ref = fs, grey
            means = [jnp.sum(grey) / pixels] * 3
        a = jnp.where(op == 0, fb, jnp.where(op == 1, fc, sat_a))
        new = []
        for p, mean, n in zip(planes, means, (5.0, 3.0, 1.0), strict=True):
            ref = jnp.where(op == 0, 0.0, jnp.where(op == 1, mean, sat_ref))
            out = jnp.where(op == 3, _hue_channel(v, c, h, n), a * p + (1.0 - a) * ref)
            new.append(jnp.clip(out, 0.0, 1.0))
        planes = new
    return jnp.stack(planes, axis=-1)


def grey_jitter(image, factors, order):
    """:func:`color_jitter` of a one-channel image: brightness and contrast in the order ``order``.

    Args:
      image: ``[H, W, 1]`` floats in [0, 1].
      factors: ``[2]``: the brightness and contrast factors.
      order: ``[4]`` the permutation of 0..3 the RGB jitter would use: the
        slots of saturation (2) and hue (3) leave a grey image as it is.

    What :func:`color_jitter` does to the RGB image of three equal channels
    (the image as its grey RGB copy would be jittered), up to rounding:
    brightness ``x * f``, contrast ``(x - m) * f + m`` around the image's
    mean (both semantics agree on a grey image), each clipped to [0, 1];
    saturation and hue do not change a grey pixel.
    """
    x = image
    pixels = image.size
    for slot in range(4):
        op = order[slot]
        mean = jnp.sum(x) / pixels
        a = jnp.where(op == 0, factors[0], factors[1])
        ref = jnp.where(op == 0, 0.0, mean)
        x = jnp.where(op >= 2, x, jnp.clip(a * x + (1.0 - a) * ref, 0.0, 1.0))
    return x


def gaussian_blur(image: jax.Array, sigma, kernel_size: int) -> jax.Array:
    """Separable Gaussian blur of ``image [H, W, C]``, zero padding ("SAME").

    The kernel is ``exp(-t^2 / (2 sigma^2))`` for ``t`` in ``-r..r``,
    ``r = kernel_size // 2``, normalised to sum 1: dm-pix's ``gaussian_blur``
    and SimCLR's. Written as a weighted sum of ``2r + 1`` shifted copies per
    axis because ``sigma`` differs per image: under ``vmap`` dm-pix's
    convolution becomes a grouped convolution with one group per image and
    channel, which XLA runs far slower (on the CPU, 4x the cost of the rest of
    the SimCLR pipeline at 224x224).
    """
    r = kernel_size // 2
    t = jnp.arange(-r, r + 1, dtype=jnp.float32)
    weights = jnp.exp(-(t**2) / (2.0 * sigma**2))
    weights = weights / jnp.sum(weights)
    h, w = image.shape[0], image.shape[1]
    pad = jnp.pad(image, ((r, r), (0, 0), (0, 0)))
    x = sum(weights[i] * pad[i : i + h] for i in range(2 * r + 1))
    pad = jnp.pad(x, ((0, 0), (r, r), (0, 0)))
    return sum(weights[i] * pad[:, i : i + w] for i in range(2 * r + 1))


def _maybe(u, prob, fn, image):
    """``fn(image)`` where ``u < prob``; exactly the identity when prob == 0."""
    if prob == 0.0:
        return image
    if prob == 1.0:
        return fn(image)
    return jnp.where(u < prob, fn(image), image)


def _uniform(u, lo, hi):
    return lo + (hi - lo) * u


def augment_image(key: jax.Array, image: jax.Array, aug: Augment) -> jax.Array:
    """Applies ``aug`` to one image ``[H, W, C]`` (uint8 or float in [0, 1]); float32 out.

    In order: random resized crop (:func:`crop_box`), horizontal flip, colour
    jitter (:func:`color_jitter` on RGB; on one channel :func:`grey_jitter`,
    brightness and contrast only), greyscale (Rec. 601 luma, RGB only), blur
    (:func:`gaussian_blur`, sigma uniform in ``blur_sigma``), solarize at 0.5,
    normalisation; each probabilistic op applies where its own draw is below
    its probability.
    """
    if image.ndim != 3:
        raise ValueError(f"image must have shape [H, W, C], got shape {image.shape}.")
    image = to_unit_float(image)
    u = draws(key)
    x = _random_resized_crop(u, image, aug.size, aug.crop_scale, aug.crop_ratio)
    x = _maybe(u["flip"][0], aug.flip_prob, lambda x: x[:, ::-1], x)
    fu = u["jitter_factors"]
    factors = jnp.stack(
        [
            _uniform(fu[0], max(0.0, 1.0 - aug.brightness), 1.0 + aug.brightness),
            _uniform(fu[1], max(0.0, 1.0 - aug.contrast), 1.0 + aug.contrast),
            _uniform(fu[2], max(0.0, 1.0 - aug.saturation), 1.0 + aug.saturation),
            _uniform(fu[3], -aug.hue, aug.hue),
        ]
    )
    order = jnp.argsort(u["jitter_order"])  # a uniformly random permutation of 0..3
    if x.shape[-1] == 3:
        jitter = lambda x: color_jitter(x, factors, order, aug.semantics)  # noqa: E731
        x = _maybe(u["jitter"][0], aug.jitter_prob, jitter, x)
        grey = lambda x: jnp.broadcast_to(_grey(x, aug.semantics), x.shape)  # noqa: E731
        x = _maybe(u["grayscale"][0], aug.grayscale_prob, grey, x)
    elif x.shape[-1] == 1:  # brightness and contrast: what a grey image has of the jitter
        jitter = lambda x: grey_jitter(x, factors[:2], order)  # noqa: E731
        x = _maybe(u["jitter"][0], aug.jitter_prob, jitter, x)
    if aug.blur_prob:
        kernel = max(3, int(0.1 * aug.size) // 2 * 2 + 1)
        sigma = _uniform(u["blur_sigma"][0], *aug.blur_sigma)
        x = _maybe(u["blur"][0], aug.blur_prob, lambda x: gaussian_blur(x, sigma, kernel), x)
    x = _maybe(u["solarize"][0], aug.solarize_prob, lambda x: pix.solarize(x, 0.5), x)
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
