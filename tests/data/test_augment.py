"""On-device augmentation: shapes, ranges, determinism, probabilities, device independence."""

import colorsys
import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxssl.data import augment


def _images(rng, b=8, side=32, c=3):
    return jnp.asarray(rng.integers(0, 256, (b, side, side, c)), jnp.uint8)


PRESETS = {
    "simclr32": (augment.simclr(32), 32, 3),
    "simclr_blur": (augment.simclr(24, blur=True), 32, 3),
    "byol": (augment.byol(24), 32, 3),
    "digits": (augment.digits(), 8, 1),
}


@pytest.mark.parametrize("name", PRESETS)
def test_views_shape_dtype_range_and_determinism(name, rng):
    preset, side, c = PRESETS[name]
    images = _images(rng, 8, side, c)
    fn = jax.jit(lambda x, k: augment.two_views(x, k, preset))
    v1, v2 = fn(images, jax.random.key(0))
    size = (preset[0] if isinstance(preset, tuple) else preset).size
    for v in (v1, v2):
        assert v.shape == (8, size, size, c) and v.dtype == jnp.float32
        assert float(v.min()) >= 0.0 and float(v.max()) <= 1.0
    again = fn(images, jax.random.key(0))
    np.testing.assert_array_equal(v1, again[0])
    assert not np.allclose(v1, v2)  # the two views differ
    same = jnp.broadcast_to(images[:1], images.shape)  # one image, 8 times
    w1, _ = fn(same, jax.random.key(0))
    assert not np.allclose(w1[0], w1[1])  # examples get different draws


IDENTITY = augment.Augment(
    size=16,
    crop_scale=(1.0, 1.0),
    crop_ratio=(1.0, 1.0),
    flip_prob=0.0,
    jitter_prob=0.0,
    grayscale_prob=0.0,
)


# jitted: one compile per pipeline instead of one per op (what these tests
# check does not depend on jit)
_augment_batch = jax.jit(augment.augment_batch, static_argnums=2)
_augment_image = jax.jit(augment.augment_image, static_argnums=2)


def test_probability_zero_is_the_identity(rng):
    images = _images(rng, 4, 16)
    out = _augment_batch(images, jax.random.key(1), IDENTITY)
    np.testing.assert_allclose(out, np.asarray(images, np.float32) / 255.0, atol=1e-6)


def test_probability_one_always_applies(rng):
    images = _images(rng, 4, 16)
    base = np.asarray(images, np.float32) / 255.0
    flip = _augment_batch(images, jax.random.key(1), _with(flip_prob=1.0))
    np.testing.assert_allclose(flip, base[:, :, ::-1], atol=1e-6)
    solar = _augment_batch(images, jax.random.key(1), _with(solarize_prob=1.0))
    np.testing.assert_allclose(solar, np.where(base < 0.5, base, 1.0 - base), atol=1e-6)
    gray = _augment_batch(images, jax.random.key(1), _with(grayscale_prob=1.0))
    np.testing.assert_allclose(gray[..., 0], gray[..., 2], atol=1e-6)


def _with(**kw):
    return dataclasses.replace(IDENTITY, **kw)


@pytest.mark.parametrize(("scale", "span"), [(1.0, 1.0), (0.25, 0.5)])
def test_crop_area_matches_scale(scale, span):
    # A horizontal ramp (value = x / 31): a square crop of area fraction s
    # spans sqrt(s) of the width, so each output row ranges over about that.
    ramp = np.broadcast_to(np.linspace(0, 255, 32)[None, :, None], (32, 32, 3))
    images = jnp.asarray(np.repeat(ramp[None], 16, 0).round(), jnp.uint8)
    aug = _with(size=32, crop_scale=(scale, scale))
    out = np.asarray(_augment_batch(images, jax.random.key(2), aug))
    row_range = out[:, 16, :, 0].max(axis=1) - out[:, 16, :, 0].min(axis=1)
    np.testing.assert_allclose(row_range, span, atol=0.06)


def test_same_views_on_one_and_eight_devices(rng):
    images = _images(rng, 16, 16)
    indices = jnp.arange(100, 116)
    preset = augment.simclr(16)
    fn = jax.jit(lambda x, i, k: augment.two_views(x, k, preset, indices=i))
    one = fn(images, indices, jax.random.key(5))
    mesh = jax.make_mesh((8,), ("data",), axis_types=(AxisType.Auto,))
    put = lambda x: jax.device_put(x, NamedSharding(mesh, P("data")))  # noqa: E731
    eight = fn(put(images), put(indices), jax.random.key(5))
    assert len(eight[0].sharding.device_set) == 8
    for a, b in zip(one, eight, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    # keyed by global index: the same example at another batch position gets the same view
    perm = np.random.default_rng(0).permutation(16)
    shuffled = fn(images[perm], indices[perm], jax.random.key(5))
    np.testing.assert_allclose(shuffled[0], one[0][perm], atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="flip_prob must be in"):
        augment.Augment(size=8, flip_prob=2.0)
    with pytest.raises(ValueError, match="crop_scale must satisfy"):
        augment.Augment(size=8, crop_scale=(0.0, 1.0))
    with pytest.raises(ValueError, match=r"images must have shape \[B, H, W, C\]"):
        augment.augment_batch(jnp.zeros((8, 8, 3)), jax.random.key(0), IDENTITY)


def test_to_unit_float_and_normalize(rng):
    pixels = rng.integers(0, 256, size=(2, 4, 4, 3), dtype=np.uint8)
    unit = augment.to_unit_float(jnp.asarray(pixels))
    np.testing.assert_allclose(unit, pixels / 255.0, rtol=1e-6)
    assert augment.to_unit_float(unit).dtype == jnp.float32
    aug = augment.Augment(size=4, mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.5))
    want = (pixels / 255.0 - np.array([0.5, 0.4, 0.3])) / np.array([0.2, 0.25, 0.5])
    np.testing.assert_allclose(augment.normalize(unit, aug), want, rtol=1e-5, atol=1e-6)
    assert augment.normalize(unit, augment.Augment(size=4)) is unit  # no mean: unchanged
    # augment_image normalises last: the same key with and without mean/std differs by it
    key = jax.random.key(0)
    plain = _augment_image(key, jnp.asarray(pixels[0]), dataclasses.replace(aug, mean=None))
    normed = _augment_image(key, jnp.asarray(pixels[0]), aug)
    np.testing.assert_allclose(normed, augment.normalize(plain, aug), rtol=1e-5, atol=1e-6)


# --- the ops against references written from tf.image's and torchvision's formulas


def _torchvision_get_params(gen, height, width, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    """torchvision's RandomResizedCrop.get_params, in NumPy: (top, left, h, w) in whole pixels."""
    area = height * width
    log_ratio = np.log(ratio)
    for _ in range(10):
        target_area = area * gen.uniform(*scale)
        aspect = np.exp(gen.uniform(*log_ratio))
        w = round(np.sqrt(target_area * aspect))
        h = round(np.sqrt(target_area / aspect))
        if 0 < w <= width and 0 < h <= height:
            return gen.integers(0, height - h + 1), gen.integers(0, width - w + 1), h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, round(width / min(ratio))
    elif in_ratio > max(ratio):
        h, w = height, round(height * max(ratio))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


@functools.partial(jax.jit, static_argnums=(1, 2))
def _crop_boxes(key, height, width):
    """20,000 crop boxes (y0, x0, h, w) of a height x width image, scale and ratio the defaults."""
    k_area, k_ratio, k_y, k_x = jax.random.split(key, 4)
    tries = (20_000, augment.CROP_TRIES)
    return jax.vmap(lambda a, r, y, x: augment.crop_box(a, r, y, x, height, width))(
        jax.random.uniform(k_area, tries),
        jax.random.uniform(k_ratio, tries),
        jax.random.uniform(k_y, (20_000,)),
        jax.random.uniform(k_x, (20_000,)),
    )


@pytest.mark.parametrize(("height", "width"), [(256, 341), (64, 512)])
def test_crop_boxes_follow_torchvision(height, width):
    """Inside the image, aspect in range; on 256x341 area and aspect as get_params' (KS < 0.03)."""
    y0, x0, h, w = (
        np.asarray(a, np.float64) for a in _crop_boxes(jax.random.key(0), height, width)
    )
    assert (h <= height).all() and (w <= width).all() and (y0 >= 0).all() and (x0 >= 0).all()
    assert (y0 + h <= height + 1e-3).all() and (x0 + w <= width + 1e-3).all()
    assert (w / h >= 3 / 4 - 1e-6).all() and (w / h <= 4 / 3 + 1e-6).all()
    gen = np.random.default_rng(0)
    ref = np.array([_torchvision_get_params(gen, height, width) for _ in range(20_000)], float)
    if height == 256:
        for ours, theirs in (
            (h * w / (height * width), ref[:, 2] * ref[:, 3] / (height * width)),
            (w / h, ref[:, 3] / ref[:, 2]),
        ):
            assert scipy.stats.ks_2samp(ours, theirs).statistic < 0.03
    else:  # a wide image: most tries do not fit, then the centred crop of aspect 4/3
        fallback = np.isclose(h, 64) & np.isclose(w, 64 * 4 / 3)
        theirs = (ref[:, 2] == 64) & (ref[:, 3] == round(64 * 4 / 3))  # whole pixels there
        assert abs(fallback.mean() - theirs.mean()) < 0.02 and fallback.mean() > 0.5
        np.testing.assert_allclose(x0[fallback], (width - 64 * 4 / 3) / 2, rtol=1e-5)
        np.testing.assert_allclose(y0[fallback], 0.0, atol=1e-4)


def _hsv_map(image, fn):
    """``fn(h, s, v) -> (h, s, v)`` on every pixel through Python's colorsys (float64)."""
    out = np.empty(image.shape)
    for idx in np.ndindex(image.shape[:-1]):
        out[idx] = colorsys.hsv_to_rgb(*fn(*colorsys.rgb_to_hsv(*image[idx])))
    return out


def _reference_op(op, x, f, semantics):
    """One jitter op from tf.image's ('simclr') or torchvision's formulas, clipped to [0, 1]."""
    luma = np.array([0.2989, 0.587, 0.114] if semantics == "simclr" else [0.299, 0.587, 0.114])
    grey = x @ luma
    if op == 0:  # brightness: x * f (torchvision: a blend with black)
        out = x * f
    elif op == 1 and semantics == "simclr":  # tf.image.adjust_contrast: per-channel mean
        mean = x.mean(axis=(0, 1))
        out = (x - mean) * f + mean
    elif op == 1:  # torchvision: a blend with the mean of the grey image
        out = f * x + (1 - f) * grey.mean()
    elif op == 2 and semantics == "simclr":  # tf.image.adjust_saturation: HSV saturation
        out = _hsv_map(x, lambda h, s, v: (h, min(s * f, 1.0), v))
    elif op == 2:  # torchvision: a blend with the grey image
        out = f * x + (1 - f) * grey[..., None]
    else:  # hue, both: HSV hue turned by f
        out = _hsv_map(x, lambda h, s, v: ((h + f) % 1.0, s, v))
    return np.clip(out, 0.0, 1.0)


@pytest.mark.parametrize("semantics", augment.SEMANTICS)
def test_color_jitter_is_each_op_in_the_given_order(semantics):
    gen = np.random.default_rng(1)
    # a colour cast (red high, blue low): the two contrasts and saturations differ on it
    image = np.clip(gen.uniform(size=(6, 5, 3)) * [0.4, 0.8, 0.5] + [0.5, 0.1, 0.0], 0, 1)
    image[0, 0] = 0.3  # a grey pixel (no hue, no saturation)
    orders = np.array([gen.permutation(4) for _ in range(6)])
    factors = np.stack(
        [gen.uniform(0.2, 1.8, 6), gen.uniform(0.2, 1.8, 6), gen.uniform(0.2, 1.8, 6),
         gen.uniform(-0.5, 0.5, 6)], axis=1,
    )  # fmt: skip
    got = jax.jit(
        jax.vmap(lambda x, f, o: augment.color_jitter(x, f, o, semantics), in_axes=(None, 0, 0))
    )(jnp.asarray(image, jnp.float32), jnp.asarray(factors, jnp.float32), jnp.asarray(orders))
    for i in range(6):
        want = image
        for op in orders[i]:
            want = _reference_op(op, want, factors[i, op], semantics)
        np.testing.assert_allclose(got[i], want, atol=2e-5)


_color_jitter = jax.jit(augment.color_jitter, static_argnums=3)


@pytest.mark.parametrize("semantics", augment.SEMANTICS)
def test_grey_jitter_is_the_rgb_jitter_of_three_equal_channels(semantics):
    gen = np.random.default_rng(5)
    grey = gen.uniform(size=(6, 5, 1))
    orders = np.array([gen.permutation(4) for _ in range(6)])
    factors = np.stack([gen.uniform(0.2, 1.8, 6), gen.uniform(0.2, 1.8, 6)], axis=1)
    got = jax.jit(jax.vmap(augment.grey_jitter, in_axes=(None, 0, 0)))(
        jnp.asarray(grey, jnp.float32), jnp.asarray(factors, jnp.float32), jnp.asarray(orders)
    )
    rgb = np.repeat(grey, 3, axis=-1)
    for i in range(6):
        want = rgb
        for op in orders[i]:  # saturation and hue (any factor) on grey pixels
            f = factors[i, op] if op < 2 else gen.uniform(0.2, 0.5)
            want = _reference_op(op, want, f, semantics)
        np.testing.assert_allclose(got[i], want[..., :1], atol=2e-5)


def test_one_channel_images_get_brightness_and_contrast():
    image = jnp.asarray(np.random.default_rng(6).integers(0, 256, (8, 8, 1)), jnp.uint8)
    still = augment.Augment(size=8, crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), flip_prob=0.0)
    plain = dataclasses.replace(still, jitter_prob=0.0)
    jittered = dataclasses.replace(still, jitter_prob=1.0, brightness=0.5, contrast=0.0)
    run = jax.jit(augment.augment_image, static_argnums=2)
    key = jax.random.key(0)
    np.testing.assert_allclose(run(key, image, plain), augment.to_unit_float(image), atol=1e-6)
    ratio = run(key, image, jittered) / jnp.maximum(augment.to_unit_float(image), 1e-3)
    bright = ratio[(image > 25) & (image < 170)]  # one factor in [0.5, 1.5], never clipped here
    assert float(jnp.abs(bright - bright[0]).max()) < 1e-4 and abs(float(bright[0]) - 1) > 1e-3


def test_the_two_semantics_differ_where_they_should():
    """On a colour cast, contrast and saturation differ between the semantics; the others do not."""
    image = jnp.asarray(
        np.random.default_rng(2).uniform(size=(8, 8, 3)) * [0.3, 0.9, 0.2] + [0.6, 0, 0]
    )
    for op, differs in ((0, False), (1, True), (2, True), (3, False)):
        factors = jnp.ones(4).at[3].set(0.0).at[op].set(0.1 if op == 3 else 1.5)
        order = jnp.array([op] + [i for i in range(4) if i != op])
        a, b = (_color_jitter(image, factors, order, s) for s in augment.SEMANTICS)
        assert (float(jnp.abs(a - b).max()) > 0.01) == differs, op
    with pytest.raises(ValueError, match=r"semantics must be one of \('simclr', 'torchvision'\)"):
        augment.Augment(size=8, semantics="tf")


def _reference_blur(image, sigma, kernel_size):
    """Separable Gaussian blur with zero padding, in NumPy (SimCLR's and dm-pix's "SAME")."""
    r = kernel_size // 2
    t = np.arange(-r, r + 1)
    w = np.exp(-(t**2) / (2 * sigma**2))
    w /= w.sum()
    out = np.apply_along_axis(lambda v: np.convolve(v, w, mode="same"), 0, image)
    return np.apply_along_axis(lambda v: np.convolve(v, w, mode="same"), 1, out)


def test_blur_has_each_images_own_sigma():
    images = np.random.default_rng(3).uniform(size=(3, 12, 10, 3))
    sigmas = np.array([0.1, 0.9, 2.0])
    got = jax.jit(jax.vmap(lambda x, s: augment.gaussian_blur(x, s, 5)))(
        jnp.asarray(images, jnp.float32), jnp.asarray(sigmas, jnp.float32)
    )
    for x, s, g in zip(images, sigmas, got, strict=True):
        np.testing.assert_allclose(g, _reference_blur(x, s, 5), atol=1e-5)


def test_adjust_hue_is_the_hsv_turn():
    """adjust_hue alone (any leading axes) against colorsys, turns of both signs and past a half."""
    image = np.random.default_rng(4).uniform(size=(2, 5, 3))
    image[0, 0] = 0.6  # grey: no hue to turn
    for delta in (-0.45, 0.1, 0.5):
        want = _hsv_map(image, lambda h, s, v, d=delta: ((h + d) % 1.0, s, v))
        got = jax.jit(augment.adjust_hue)(jnp.asarray(image, jnp.float32), delta)
        np.testing.assert_allclose(got, want, atol=2e-6)
