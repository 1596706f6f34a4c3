"""CLIP and SigLIP against their papers' pseudo-code, learnable scale and bias, chunked memory.

The loop-by-loop references, every transform and 8 devices come from the case
table (tests/losses/cases.py); this file adds what the table cannot: the papers'
own vectorised pseudo-code as a peer, gradients w.r.t. the scale and bias, and
the chunked forms' compiled memory.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxssl import losses


def _l2(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def clip_pseudo_code(image_features, text_features, t):
    """Radford et al. 2021, Figure 3, in NumPy (``np.exp(t)`` is our logit_scale)."""
    i_e, t_e = _l2(image_features), _l2(text_features)
    logits = i_e @ t_e.T * np.exp(t)
    n = len(logits)
    labels = np.arange(n)
    loss_i = -_log_softmax(logits, axis=0)[labels, labels].mean()  # cross_entropy(axis=0)
    loss_t = -_log_softmax(logits, axis=1)[labels, labels].mean()  # cross_entropy(axis=1)
    return (loss_i + loss_t) / 2


def siglip_pseudo_code(img_emb, txt_emb, t_prime, b):
    """Zhai et al. 2023, Algorithm 1, in NumPy (``exp(t')`` is our logit_scale)."""
    n = len(img_emb)
    zimg, ztxt = _l2(img_emb), _l2(txt_emb)
    logits = zimg @ ztxt.T * np.exp(t_prime) + b
    labels = 2 * np.eye(n) - np.ones(n)
    log_sigmoid = -np.logaddexp(0.0, -labels * logits)
    return -np.sum(log_sigmoid) / n


@pytest.mark.parametrize("chunk_size", [None, 8])
def test_equal_the_papers_pseudo_code_in_float64(chunk_size, rng):
    img, txt = rng.standard_normal((2, 37, 16))
    t, b = np.log(1 / 0.07), -3.0
    with jax.enable_x64(True):
        clip = losses.clip_loss(img, txt, logit_scale=np.exp(t), chunk_size=chunk_size)
        siglip = losses.siglip_loss(
            img, txt, logit_scale=np.exp(t), logit_bias=b, chunk_size=chunk_size
        )
    np.testing.assert_allclose(float(clip), clip_pseudo_code(img, txt, t), rtol=1e-10)
    np.testing.assert_allclose(float(siglip), siglip_pseudo_code(img, txt, t, b), rtol=1e-10)


@pytest.mark.parametrize("chunk_size", [None, 3])
def test_gradients_reach_a_learnable_scale_and_bias(chunk_size, rng):
    # The log-scale is learned as CLIP and SigLIP do it: logit_scale = exp(t).
    img, txt = rng.standard_normal((2, 7, 4))
    with jax.enable_x64(True):

        def clip(i, x, t):
            return losses.clip_loss(i, x, logit_scale=jnp.exp(t), chunk_size=chunk_size)

        def siglip(i, x, t, b):
            return losses.siglip_loss(
                i, x, logit_scale=jnp.exp(t), logit_bias=b, chunk_size=chunk_size
            )

        t, b = jnp.float64(1.2), jnp.float64(-2.0)
        check_grads(jax.jit(clip), (img, txt, t), order=1, modes=("rev",), eps=1e-6)
        check_grads(jax.jit(siglip), (img, txt, t, b), order=1, modes=("rev",), eps=1e-6)


def _temp_bytes(fn, spec):
    compiled = jax.jit(jax.value_and_grad(fn, argnums=(0, 1))).lower(spec, spec).compile()
    return compiled.memory_analysis().temp_size_in_bytes


@pytest.mark.parametrize("loss", ["clip", "siglip"])
def test_chunked_memory_is_linear_in_the_batch(loss):
    # Compile-time temporary bytes of forward + backward at N = 2048; nothing runs.
    # Chunked: a fixed number of [N, D] arrays (normalised copies, gathered rows,
    # gradients) and a few [N, K] blocks, never [N, N]: at most 12 of the former
    # and 4 of the latter. (At N = 16,384 that is under 5% of the dense form:
    # benchmarks/bench_losses.py --loss clip siglip.)
    n, d, k = 2048, 128, 64
    spec = jax.ShapeDtypeStruct((n, d), jnp.float32)

    def fn(chunk_size):
        if loss == "clip":
            return lambda a, b: losses.clip_loss(a, b, logit_scale=10.0, chunk_size=chunk_size)
        return lambda a, b: losses.siglip_loss(
            a, b, logit_scale=10.0, logit_bias=-10.0, chunk_size=chunk_size
        )

    dense, chunked = _temp_bytes(fn(None), spec), _temp_bytes(fn(k), spec)
    assert dense >= n * n * 4  # the dense form holds at least one [N, N] float32 matrix
    assert chunked <= (12 * n * d + 4 * n * k) * 4, (chunked, dense)
    assert chunked < 0.25 * dense, (chunked, dense)
