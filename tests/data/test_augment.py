"""On-device augmentation: shapes, ranges, determinism, probabilities, device independence."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
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
