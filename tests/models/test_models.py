"""The model zoo: parameter counts, shapes and dtypes, masks, tied heads, cross-replica BN.

Full-size models only go through `jax.eval_shape` (no allocation, no compute);
everything that runs uses tiny widths so the file stays fast on a 2-core CPU.
"""

import functools
import zlib
from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl import models


# Keys use the "rbg" PRNG: compiling threefry's bit generation for every
# initialiser dominated these tests' time on CPU (about 3x slower to init a
# tiny CNN); the model code is the same for any key type.
def key_(seed: int) -> jax.Array:
    return jax.random.key(seed, impl="rbg")


@pytest.fixture
def key(request) -> jax.Array:
    """This module's seeded key, as conftest's but of the rbg kind."""
    return key_(zlib.crc32(request.node.nodeid.encode()))


def init(model, *args, **kwargs):
    """``model.init(key_(0), *args, **kwargs)`` compiled (faster than Flax's eager init)."""
    return jax.jit(partial(model.init, **kwargs))(key_(0), *args)


def apply(model, variables, *args, **kwargs):
    """``model.apply`` compiled; keyword arguments are static."""
    return jax.jit(partial(model.apply, **kwargs))(variables, *args)


def n_params(variables) -> int:
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(variables["params"]))


def abstract_init(model, *args, **kwargs):
    return jax.eval_shape(partial(model.init, **kwargs), key_(0), *args)


IMAGENET = jax.ShapeDtypeStruct((1, 224, 224, 3), jnp.float32)

# Published counts with a 1000-class head at 224x224: torchvision's ResNet
# model cards (conv without bias, BN scale+bias, fc with bias) and timm's
# vit_{tiny,small,base}_patch16_224.
PUBLISHED = [
    ("resnet18", 11_689_512),
    ("resnet34", 21_797_672),
    ("resnet50", 25_557_032),
    ("resnet101", 44_549_160),
    ("resnet152", 60_192_808),
    ("vit_ti", 5_717_416),
    ("vit_s", 22_050_664),
    ("vit_b", 86_567_656),
]


@pytest.mark.parametrize(("name", "count"), PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_parameter_counts_equal_published(name, count):
    variables = abstract_init(models.get_model(name, num_classes=1000), IMAGENET, train=False)
    assert n_params(variables) == count


def test_gpt2_small_layout_has_gpt2_parameter_count():
    # GPT-2 small (Radford et al. 2019): 12 x 768, 12 heads, 1024 positions,
    # vocabulary 50257, tied output embedding: 124,439,808 parameters.
    model = models.get_model("gpt", vocab_size=50257, max_len=1024)
    tokens = jax.ShapeDtypeStruct((1, 16), jnp.int32)
    assert n_params(abstract_init(model, tokens, train=False)) == 124_439_808


def test_feature_widths_without_head():
    for name, width in [("resnet18", 512), ("resnet50", 2048), ("vit_s", 384)]:
        model = models.get_model(name)
        variables = abstract_init(model, IMAGENET, train=False)
        out = jax.eval_shape(partial(model.apply, train=False), variables, IMAGENET)
        assert out.shape == (1, width), name
    wide = models.get_model("resnet50", width_multiplier=2)
    out = jax.eval_shape(
        partial(wide.apply, train=False), abstract_init(wide, IMAGENET, train=False), IMAGENET
    )
    assert out.shape == (1, 4096)


# Tiny instances of every module: (id, model, make inputs, expected output shapes).
def _images(b, h, w, c):
    return lambda key: (jax.random.uniform(key, (b, h, w, c)),)


def _tokens(b, t, vocab):
    return lambda key: (jax.random.randint(key, (b, t), 0, vocab),)


TINY = {
    "resnet_cifar": (
        partial(models.ResNet, stage_sizes=(1, 1), block_cls=models.BasicBlock, stem="cifar"),
        {"num_classes": 10},
        _images(4, 8, 8, 3),
        [(4, 10)],
    ),
    "resnet_bottleneck_imagenet": (
        partial(models.ResNet, stage_sizes=(1, 1), block_cls=models.Bottleneck),
        {},
        _images(2, 32, 32, 3),
        [(2, 512)],
    ),
    "small_cnn": (models.SmallCNN, {"num_classes": 10}, _images(4, 8, 8, 1), [(4, 10)]),
    "small_cnn_encoder": (models.SmallCNN, {}, _images(2, 32, 32, 3), [(2, 512)]),
    "small_cnn_bn_mean_pool": (
        models.SmallCNN,
        {"features": (8, 16), "dense_features": 0, "batch_norm": True, "pool": "mean"},
        _images(3, 12, 12, 1),
        [(3, 16)],
    ),
    "vit_mean_pool": (
        models.ViT,
        {"patch_size": 4, "hidden_dim": 32, "depth": 2, "num_heads": 4, "mlp_dim": 64,
         "pool": "mean", "num_classes": 5},
        _images(2, 16, 16, 3),
        [(2, 5)],
    ),
    "vit_cls": (
        models.ViT,
        {"patch_size": 4, "hidden_dim": 32, "depth": 1, "num_heads": 2, "mlp_dim": 64},
        _images(2, 8, 8, 3),
        [(2, 32)],
    ),
    "simclr_v1_head": (
        models.SimCLRv1Head, {"hidden_dim": 32, "output_dim": 16},
        lambda key: (jax.random.normal(key, (6, 24)),), [(6, 16)],
    ),
    "simclr_v2_head": (
        models.SimCLRv2Head, {"hidden_dim": 32, "output_dim": 16},
        lambda key: (jax.random.normal(key, (6, 24)),), [(6, 16)],
    ),
    "prediction_head": (
        models.PredictionHead, {"hidden_dim": 32, "output_dim": 16},
        lambda key: (jax.random.normal(key, (6, 16)),), [(6, 16)],
    ),
    "linear": (
        models.LinearClassifier, {"num_classes": 3},
        lambda key: (jax.random.normal(key, (6, 16)),), [(6, 3)],
    ),
    "autoencoder": (
        models.ConvAutoencoder, {"features": (8, 16)}, _images(3, 8, 8, 1), [(3, 8, 8, 1)]
    ),
    "vae": (
        models.ConvVAE,
        {"image_shape": (8, 8, 1), "latent_dim": 4, "features": (8, 16)},
        lambda key: (jax.random.uniform(key, (3, 8, 8, 1)), key_(7)),
        [(3, 8, 8, 1), (3, 4), (3, 4)],
    ),
    "dcgan_generator_8": (
        models.DCGANGenerator, {"image_shape": (8, 8, 1), "base_features": 8},
        lambda key: (jax.random.normal(key, (3, 10)),), [(3, 8, 8, 1)],
    ),
    "dcgan_generator_32": (
        models.DCGANGenerator, {"image_shape": (32, 32, 3), "base_features": 4},
        lambda key: (jax.random.normal(key, (2, 10)),), [(2, 32, 32, 3)],
    ),
    "dcgan_discriminator": (
        models.DCGANDiscriminator, {"image_shape": (16, 16, 3), "base_features": 8},
        _images(3, 16, 16, 3), [(3,)],
    ),
    "bert": (
        models.BertEncoder,
        {"vocab_size": 50, "max_len": 16, "hidden_dim": 32, "depth": 2, "num_heads": 4,
         "mlp_dim": 64, "dropout_rate": 0.0},
        _tokens(2, 12, 50), [(2, 12, 50)],
    ),
    "gpt": (
        models.GPT,
        {"vocab_size": 50, "max_len": 16, "hidden_dim": 32, "depth": 2, "num_heads": 4,
         "mlp_dim": 64, "dropout_rate": 0.0},
        _tokens(2, 12, 50), [(2, 12, 50)],
    ),
    "lstm_lm": (
        models.LSTMLanguageModel,
        {"vocab_size": 50, "embed_dim": 16, "hidden_dim": 24, "num_layers": 2},
        _tokens(2, 12, 50), [(2, 12, 50)],
    ),
}  # fmt: skip


@functools.cache
def _run(name, dtype):
    """Initialises and applies TINY[name] under jit (one compile each; eager
    dispatch of every Flax op is slower on CPU). Cached: the f32 run serves
    several tests."""
    cls, kw, make, _ = TINY[name]
    model = cls(dtype=dtype, **kw)
    inputs = make(key_(zlib.crc32(name.encode())))
    variables = init(model, *inputs, train=False)
    out = apply(model, variables, *inputs, train=False)
    return model, inputs, variables, (out if isinstance(out, tuple) else (out,))


@pytest.mark.parametrize("name", TINY)
def test_shapes_dtypes_and_abstract_init(name):
    model, inputs, variables, outs = _run(name, jnp.float32)
    abstract = jax.eval_shape(partial(model.init, train=False), key_(0), *inputs)
    assert jax.tree.map(lambda x: (x.shape, x.dtype), abstract) == jax.tree.map(
        lambda x: (x.shape, x.dtype), variables
    )
    assert [o.shape for o in outs] == TINY[name][3]
    for o in outs:
        assert o.dtype == jnp.float32
        assert np.isfinite(np.asarray(o)).all()
    assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(variables["params"]))


@pytest.mark.parametrize("name", TINY)
def test_bf16_compute_is_finite_and_close_to_float32(name):
    # bf16 keeps 8 mantissa bits (relative rounding 2^-9 = 0.2% per op); after
    # a few layers the outputs stay within 5% of the float32 output's scale.
    # Parameters stay float32 (param_dtype) in both runs and are initialised
    # from the same key, so the same network is compared.
    *_, ref = _run(name, jnp.float32)
    _, _, variables, outs = _run(name, jnp.bfloat16)
    assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(variables["params"]))
    for o, r in zip(outs, ref, strict=True):
        assert o.dtype == jnp.bfloat16
        o, r = np.asarray(o, np.float32), np.asarray(r)
        assert np.isfinite(o).all()
        np.testing.assert_allclose(o, r, atol=0.05 * max(np.abs(r).max(), 1e-3))


@pytest.mark.parametrize("name", ["gpt", "lstm_lm"])
def test_causal_outputs_ignore_future_tokens(name, key):
    cls, kw, make, _ = TINY[name]
    model = cls(**kw)
    (tokens,) = make(key)
    variables = init(model, tokens, train=False)
    t = 5
    changed = tokens.at[:, t + 1 :].set((tokens[:, t + 1 :] + 1) % kw["vocab_size"])
    a = apply(model, variables, tokens, train=False)
    b = apply(model, variables, changed, train=False)
    np.testing.assert_array_equal(a[:, : t + 1], b[:, : t + 1])
    assert np.abs(np.asarray(a[:, t + 1 :] - b[:, t + 1 :])).max() > 1e-4  # later ones do move


def test_small_cnn_mean_pool_is_the_mean_of_the_flattened_positions(key):
    # Without a dense layer the two pools see the same last block: 12 -> 6 -> 3
    # positions, 16 channels, flattened row-major (positions outer, channels inner).
    kw = {"features": (8, 16), "dense_features": 0, "batch_norm": True}
    x = jax.random.uniform(key, (4, 12, 12, 1))
    variables = init(models.SmallCNN(pool="mean", **kw), x, train=False)
    mean = apply(models.SmallCNN(pool="mean", **kw), variables, x, train=False)
    flat = apply(models.SmallCNN(pool="flatten", **kw), variables, x, train=False)
    assert flat.shape == (4, 3 * 3 * 16)
    np.testing.assert_allclose(mean, np.asarray(flat).reshape(4, 9, 16).mean(1), rtol=1e-6)
    # BatchNorm's batch statistics while training: each image's output then
    # depends on the rest of the batch, which it does not in inference mode.
    out, _ = models.SmallCNN(pool="mean", **kw).apply(
        variables, x, train=True, mutable=["batch_stats"]
    )
    out2, _ = models.SmallCNN(pool="mean", **kw).apply(
        variables, x.at[1:].multiply(3.0), train=True, mutable=["batch_stats"]
    )
    assert np.abs(np.asarray(out[0] - out2[0])).max() > 1e-3
    with pytest.raises(ValueError, match="pool must be one of 'flatten', 'mean'"):
        init(models.SmallCNN(pool="max", **kw), x, train=False)


def test_bert_sees_both_directions(key):
    cls, kw, make, _ = TINY["bert"]
    model = cls(**kw)
    (tokens,) = make(key)
    variables = init(model, tokens, train=False)
    changed = tokens.at[:, -1].set((tokens[:, -1] + 1) % kw["vocab_size"])
    a = apply(model, variables, tokens, train=False)
    b = apply(model, variables, changed, train=False)
    assert np.abs(np.asarray(a[:, 0] - b[:, 0])).max() > 1e-4


def test_bert_padding_mask_hides_padded_tokens(key):
    cls, kw, make, _ = TINY["bert"]
    model = cls(**kw)
    (tokens,) = make(key)
    real = jnp.arange(tokens.shape[1])[None, :] < 8  # last 4 positions are padding
    real = jnp.broadcast_to(real, tokens.shape)
    variables = init(model, tokens, real, train=False)
    changed = tokens.at[:, 8:].set((tokens[:, 8:] + 3) % kw["vocab_size"])
    a = apply(model, variables, tokens, real, train=False)
    b = apply(model, variables, changed, real, train=False)
    np.testing.assert_allclose(a[:, :8], b[:, :8], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["bert", "gpt"])
def test_output_layer_is_the_token_embedding(name, key):
    # Tied: no [hidden, vocab] output kernel exists, and editing the embedding
    # row of a token absent from the input changes that token's logit column
    # and no other.
    cls, kw, make, _ = TINY[name]
    model = cls(**kw)
    (tokens,) = make(key)
    tokens = tokens % (kw["vocab_size"] - 1)  # token vocab_size - 1 never occurs
    variables = init(model, tokens, train=False)
    kernels = [
        x.shape
        for path, x in jax.tree_util.tree_leaves_with_path(variables["params"])
        if "kernel" in jax.tree_util.keystr(path)
    ]
    assert all(kw["vocab_size"] not in shape for shape in kernels), kernels
    v = kw["vocab_size"] - 1
    params = variables["params"]
    emb = params["token_embed"]["embedding"]
    delta = jax.random.normal(key_(1), emb.shape[1:])
    edited = {**params, "token_embed": {"embedding": emb.at[v].add(delta)}}
    a = apply(model, {"params": params}, tokens, train=False)
    b = apply(model, {"params": edited}, tokens, train=False)
    np.testing.assert_allclose(a[..., :v], b[..., :v], rtol=1e-6, atol=1e-6)
    assert np.abs(np.asarray(a[..., v] - b[..., v])).min() > 1e-4


def test_resnet_v1_5_puts_the_stride_on_the_3x3_conv(key):
    model = models.ResNet(stage_sizes=(1, 1), block_cls=models.Bottleneck, stem="cifar")
    x = jax.random.uniform(key, (1, 8, 8, 3))
    variables = init(model, x, train=False)
    _, state = apply(model, variables, x, train=False, capture_intermediates=True)
    block = state["intermediates"]["stage2_block1"]
    assert variables["params"]["stage2_block1"]["Conv_1"]["kernel"].shape[:2] == (3, 3)
    assert block["Conv_0"]["__call__"][0].shape[1:3] == (8, 8)  # 1x1 reduce: full resolution
    assert block["Conv_1"]["__call__"][0].shape[1:3] == (4, 4)  # 3x3: stride 2


def test_zero_init_last_bn_makes_blocks_identity(key):
    block = models.BasicBlock(features=8, zero_init_last_bn=True)
    x = jax.random.normal(key, (2, 4, 4, 8))
    variables = block.init(key_(0), x, train=False)
    np.testing.assert_allclose(block.apply(variables, x, train=False), nn.relu(x), atol=1e-6)
    plain = models.BasicBlock(features=8)
    y = plain.apply(plain.init(key_(0), x, train=False), x, train=False)
    assert np.abs(np.asarray(y - nn.relu(x))).max() > 1e-2


def test_vae_reparameterisation_uses_the_explicit_rng(key):
    cls, kw, make, _ = TINY["vae"]
    model = cls(**kw)
    x, rng = make(key)
    variables = init(model, x, rng)
    logits_a, mean_a, _ = apply(model, variables, x, rng)
    logits_b, _, _ = apply(model, variables, x, rng)
    logits_c, mean_c, _ = apply(model, variables, x, key_(8))
    np.testing.assert_array_equal(logits_a, logits_b)
    np.testing.assert_array_equal(mean_a, mean_c)  # the encoder does not see the rng
    assert np.abs(np.asarray(logits_a - logits_c)).max() > 1e-5
    samples = apply(model, variables, jnp.zeros((5, kw["latent_dim"])), method="decode")
    assert samples.shape == (5, 8, 8, 1)


def test_generator_output_in_tanh_range(key):
    cls, kw, make, _ = TINY["dcgan_generator_32"]
    model = cls(**kw)
    (z,) = make(key)
    variables = init(model, z, train=False)
    images, _ = apply(model, variables, 10 * z, train=True, mutable=["batch_stats"])
    assert float(jnp.abs(images).max()) <= 1.0


def test_dcgan_stages_follow_image_size():
    for side, stages in [(8, 1), (16, 2), (32, 3), (64, 4)]:
        disc = models.DCGANDiscriminator(image_shape=(side, side, 3))
        spec = jax.ShapeDtypeStruct((1, side, side, 3), jnp.float32)
        convs = [
            k for k in abstract_init(disc, spec, train=False)["params"] if k.startswith("Conv")
        ]
        assert len(convs) == stages, side


@pytest.mark.parametrize(
    "make_model",
    [
        lambda axis: models.ResNet(
            stage_sizes=(1,), block_cls=models.BasicBlock, stem="cifar", axis_name=axis
        ),
        lambda axis: models.SimCLRv2Head(hidden_dim=16, output_dim=8, axis_name=axis),
    ],
    ids=["resnet", "simclr_v2_head"],
)
def test_cross_replica_batch_norm_under_pmap_equals_global_batch(make_model, rng):
    n_dev = jax.device_count()
    single = make_model(None)
    shape = (2 * n_dev, 8, 8, 3) if isinstance(single, models.ResNet) else (2 * n_dev, 12)
    x = jnp.asarray(rng.standard_normal(shape), jnp.float32)
    variables = single.init(key_(0), x, train=False)
    out_1, state_1 = single.apply(variables, x, train=True, mutable=["batch_stats"])

    def per_device(model):
        def f(v, xs):
            return model.apply(v, xs, train=True, mutable=["batch_stats"])

        return jax.pmap(f, axis_name="data", in_axes=(None, 0))(
            variables, x.reshape(n_dev, 2, *x.shape[1:])
        )

    out_n, state_n = per_device(make_model("data"))
    np.testing.assert_allclose(out_n.reshape(out_1.shape), out_1, rtol=1e-4, atol=1e-5)
    for a, b in zip(jax.tree.leaves(state_n), jax.tree.leaves(state_1), strict=True):
        np.testing.assert_allclose(a, np.broadcast_to(b, a.shape), rtol=1e-4, atol=1e-6)
    # Without axis_name each device normalises with its own 2 examples: different.
    out_local, _ = per_device(make_model(None))
    assert np.abs(np.asarray(out_local.reshape(out_1.shape) - out_1)).max() > 1e-3


@pytest.mark.parametrize("partitionable", [True, False])
def test_conv_kernels_are_flax_lecun_normal_bit_for_bit(partitionable):
    """The models' convolution initialiser draws exactly Flax's default's numbers.

    The reference is Flax's own ``lecun_normal`` on the kernel's real shape,
    under either threefry layout; the tree of a whole model is checked too.
    """
    from jaxssl.models._common import Conv, lecun_normal_kernel

    reference = nn.initializers.lecun_normal()
    with jax.threefry_partitionable(partitionable):
        for shape, dtype in (((3, 3, 2, 4), jnp.float32), ((2, 3, 5), jnp.bfloat16)):
            got = lecun_normal_kernel(jax.random.key(7), shape, dtype)
            want = reference(jax.random.key(7), shape, dtype)
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(np.asarray(got, np.float32), np.asarray(want, np.float32))
        x = jnp.zeros((1, 4, 4, 2))
        ours = Conv(4, (3, 3)).init(jax.random.key(1), x)
        flax_default = nn.Conv(4, (3, 3)).init(jax.random.key(1), x)
    assert jax.tree.all(jax.tree.map(np.array_equal, ours, flax_default))


def test_unknown_model_name_lists_known_ones():
    with pytest.raises(ValueError, match=r"unknown model 'resnet19'; known models: .*resnet18"):
        models.get_model("resnet19")


@pytest.mark.parametrize(
    ("model", "shape", "message"),
    [
        (models.ResNet18(stem="tiny"), (1, 8, 8, 3), "stem must be one of 'imagenet', 'cifar'"),
        (models.ViT(patch_size=16), (1, 40, 40, 3), "multiples of patch_size=16"),
        (models.ViT(pool="max"), (1, 32, 32, 3), "pool must be one of 'cls', 'mean'"),
        (models.DCGANDiscriminator(image_shape=(12, 12, 1)), (1, 12, 12, 1), "power-of-two"),
        (models.ConvAutoencoder(features=(8, 8, 8)), (1, 12, 12, 1), "divisible by 8"),
        (models.SimCLRv1Head(num_layers=0), (2, 4), "num_layers must be a positive int"),
    ],
)
def test_bad_configuration_names_the_argument(model, shape, message):
    with pytest.raises(ValueError, match=message):
        jax.eval_shape(partial(model.init, train=False), key_(0), jnp.zeros(shape, jnp.float32))


def test_token_models_reject_too_long_sequences():
    model = models.GPT(vocab_size=10, max_len=4, hidden_dim=8, depth=1, num_heads=2, mlp_dim=8)
    with pytest.raises(ValueError, match="more than max_len=4"):
        init(model, jnp.zeros((1, 6), jnp.int32), train=False)


# --- torchvision's ViT: its state_dict layout and forward pass, written from
# torchvision.models.vision_transformer (no torch needed)


def _torchvision_vit_state(gen, *, channels, patch, dim, depth, mlp, tokens, classes):
    """Random weights under torchvision's VisionTransformer names and shapes."""

    def w(*shape, scale=0.2):
        return (scale * gen.standard_normal(shape)).astype(np.float32)

    sd = {
        "conv_proj.weight": w(dim, channels, patch, patch),
        "conv_proj.bias": w(dim),
        "class_token": w(1, 1, dim),
        "encoder.pos_embedding": w(1, tokens, dim),
        "encoder.ln.weight": 1 + w(dim),
        "encoder.ln.bias": w(dim),
        "heads.head.weight": w(classes, dim),
        "heads.head.bias": w(classes),
    }
    for i in range(depth):
        p = f"encoder.layers.encoder_layer_{i}"
        sd |= {
            f"{p}.ln_1.weight": 1 + w(dim),
            f"{p}.ln_1.bias": w(dim),
            f"{p}.self_attention.in_proj_weight": w(3 * dim, dim),
            f"{p}.self_attention.in_proj_bias": w(3 * dim),
            f"{p}.self_attention.out_proj.weight": w(dim, dim),
            f"{p}.self_attention.out_proj.bias": w(dim),
            f"{p}.ln_2.weight": 1 + w(dim),
            f"{p}.ln_2.bias": w(dim),
            f"{p}.mlp.0.weight": w(mlp, dim),
            f"{p}.mlp.0.bias": w(mlp),
            f"{p}.mlp.3.weight": w(dim, mlp),
            f"{p}.mlp.3.bias": w(dim),
        }
    return sd


def _torchvision_vit_forward(sd, images_nchw, *, patch, heads, depth):
    """torchvision's VisionTransformer.forward in float64 NumPy (eval mode)."""
    from scipy.special import erf

    sd = {k: v.astype(np.float64) for k, v in sd.items()}

    def ln(x, p):  # LayerNorm(eps=1e-6)
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-6) * sd[f"{p}.weight"] + sd[f"{p}.bias"]

    def linear(x, p):
        return x @ sd[f"{p}.weight"].T + sd[f"{p}.bias"]

    b, c, h, w = images_nchw.shape
    # conv_proj: a p x p convolution with stride p, then [B, D, h, w] -> [B, h*w, D]
    cols = images_nchw.reshape(b, c, h // patch, patch, w // patch, patch)
    cols = cols.transpose(0, 2, 4, 1, 3, 5).reshape(b, -1, c * patch * patch)
    x = cols @ sd["conv_proj.weight"].reshape(len(sd["conv_proj.bias"]), -1).T
    x = x + sd["conv_proj.bias"]
    x = np.concatenate([np.broadcast_to(sd["class_token"], (b, 1, x.shape[-1])), x], 1)
    x = x + sd["encoder.pos_embedding"]
    dim = x.shape[-1]
    hd = dim // heads
    for i in range(depth):
        p = f"encoder.layers.encoder_layer_{i}"
        y = ln(x, f"{p}.ln_1")
        qkv = (
            y @ sd[f"{p}.self_attention.in_proj_weight"].T + sd[f"{p}.self_attention.in_proj_bias"]
        )
        q, k, v = (a.reshape(b, -1, heads, hd).transpose(0, 2, 1, 3) for a in np.split(qkv, 3, -1))
        logits = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd)
        att = np.exp(logits - logits.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        y = (att @ v).transpose(0, 2, 1, 3).reshape(b, -1, dim)
        x = x + linear(y, f"{p}.self_attention.out_proj")
        y = linear(ln(x, f"{p}.ln_2"), f"{p}.mlp.0")
        y = 0.5 * y * (1 + erf(y / np.sqrt(2)))  # nn.GELU(): the exact form
        x = x + linear(y, f"{p}.mlp.3")
    return linear(ln(x, "encoder.ln")[:, 0], "heads.head")


def test_torchvision_vit_weights_give_torchvisions_logits_with_the_exact_gelu():
    shape = {"channels": 3, "patch": 4, "dim": 16, "depth": 2, "mlp": 32, "classes": 5}
    gen = np.random.default_rng(0)
    sd = _torchvision_vit_state(gen, **shape, tokens=1 + (8 // 4) * (12 // 4))
    images = gen.uniform(size=(2, 3, 8, 12))  # NCHW, as torchvision takes them
    want = _torchvision_vit_forward(sd, images, patch=4, heads=2, depth=2)
    params = models.vit.from_torchvision(sd, num_heads=2)
    kw = {"patch_size": 4, "hidden_dim": 16, "depth": 2, "num_heads": 2, "mlp_dim": 32}
    nhwc = jnp.asarray(images.transpose(0, 2, 3, 1), jnp.float32)

    def logits(approximate):
        model = models.ViT(**kw, num_classes=5, approximate_gelu=approximate)
        return np.asarray(jax.jit(partial(model.apply, train=False))({"params": params}, nhwc))

    exact, tanh = logits(False), logits(True)
    np.testing.assert_allclose(exact, want, rtol=1e-5, atol=2e-6)  # measured: 2.4e-7 off
    assert np.abs(tanh - want).max() > 10 * np.abs(exact - want).max()  # the form matters
    # the converted tree is exactly what the module expects
    shapes = jax.eval_shape(
        partial(models.ViT(**kw, num_classes=5).init, train=False), key_(0), nhwc
    )["params"]
    assert jax.tree.map(np.shape, params) == jax.tree.map(lambda s: s.shape, shapes)


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("shape", [(3, 8, 8, 4), (2, 7, 5, 3)])
def test_max_pool_2x2_is_flax_max_pool_forward_and_backward(rng, padding, shape):
    from jaxssl.models._common import max_pool_2x2

    # whole numbers: equal positive values in a window, whose tie the gradient must break alike
    x = jnp.asarray(rng.integers(-3, 4, size=shape), jnp.float32)
    flax_pool = lambda x: nn.max_pool(nn.relu(x), (2, 2), strides=(2, 2), padding=padding)  # noqa: E731
    ours = lambda x: max_pool_2x2(nn.relu(x), padding)  # noqa: E731
    np.testing.assert_array_equal(jax.jit(ours)(x), jax.jit(flax_pool)(x))
    weights = jnp.asarray(rng.normal(size=flax_pool(x).shape), jnp.float32)
    grad = lambda pool: jax.jit(jax.grad(lambda x: jnp.sum(pool(x) * weights)))(x)  # noqa: E731
    np.testing.assert_array_equal(grad(ours), grad(flax_pool))
    with pytest.raises(ValueError, match="padding must be 'SAME' or 'VALID'"):
        max_pool_2x2(x, "FULL")
