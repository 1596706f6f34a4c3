"""Bad input fails at trace time with an error naming the argument and what was expected.

Each entry runs eagerly and under `jax.jit` (the error must come from tracing,
before anything is compiled), except the label-range check, which needs
concrete labels and so only runs eagerly.
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl import losses

F = np.zeros((4, 3), np.float32)
F5 = np.zeros((5, 3), np.float32)
V = np.zeros((4,), np.float32)
I = np.zeros((4, 3), np.int32)  # noqa: E741
Y = np.array([0, 0, 1, 1], np.int32)

# (id, loss, arrays, hyperparameters, exception, message fragment, also under jit)
CATALOGUE = [
    (
        "nt_xent shapes differ",
        losses.nt_xent,
        (F, F5),
        {},
        ValueError,
        "z1 and z2 must have the same shape",
        True,
    ),
    (
        "nt_xent rank",
        losses.nt_xent,
        (V, V),
        {},
        ValueError,
        "z1 must have shape [N, D] (rank 2), got shape (4,)",
        True,
    ),
    (
        "nt_xent integer",
        losses.nt_xent,
        (I, I),
        {},
        TypeError,
        "z1 must be a floating-point array, got dtype int32",
        True,
    ),
    (
        "nt_xent temperature 0",
        losses.nt_xent,
        (F, F),
        {"temperature": 0.0},
        ValueError,
        "temperature must be > 0, got 0.0",
        True,
    ),
    (
        "nt_xent temperature < 0",
        losses.nt_xent,
        (F, F),
        {"temperature": -1.0},
        ValueError,
        "temperature must be > 0",
        True,
    ),
    (
        "nt_xent temperature nan",
        losses.nt_xent,
        (F, F),
        {"temperature": float("nan")},
        ValueError,
        "temperature must be > 0, got nan",
        True,
    ),
    (
        "nt_xent temperature vector",
        losses.nt_xent,
        (F, F),
        {"temperature": np.ones(2)},
        ValueError,
        "temperature must be a scalar",
        True,
    ),
    (
        "nt_xent N=1",
        losses.nt_xent,
        (F[:1], F[:1]),
        {},
        ValueError,
        "at least 2 pairs in the global batch",
        True,
    ),
    (
        "nt_xent reduction",
        losses.nt_xent,
        (F, F),
        {"reduction": "avg"},
        ValueError,
        "reduction must be one of ('mean', 'sum', 'none'), got 'avg'",
        True,
    ),
    (
        "contrastive_accuracy top_k",
        losses.contrastive_accuracy,
        (F, F),
        {"top_k": 0},
        ValueError,
        "top_k must be a positive int",
        True,
    ),
    (
        "contrastive_accuracy N=1",
        losses.contrastive_accuracy,
        (F[:1], F[:1]),
        {},
        ValueError,
        "at least 2 pairs",
        True,
    ),
    (
        "info_nce shapes",
        losses.info_nce,
        (F, F5),
        {"temperature": 0.1},
        ValueError,
        "queries and keys must have the same shape",
        True,
    ),
    (
        "info_nce no negatives",
        losses.info_nce,
        (F[:1], F[:1]),
        {"temperature": 0.1},
        ValueError,
        "info_nce has no negative",
        True,
    ),
    (
        "info_nce only-queue without queue",
        losses.info_nce,
        (F, F),
        {"temperature": 0.1, "in_batch_negatives": False},
        ValueError,
        "info_nce has no negative",
        True,
    ),
    (
        "info_nce queue width",
        losses.info_nce,
        (F, F),
        {"temperature": 0.1, "negatives": np.zeros((2, 5), np.float32)},
        ValueError,
        "negatives must have shape [M, D] with D=3",
        True,
    ),
    (
        "info_nce temperature",
        losses.info_nce,
        (F, F),
        {"temperature": 0},
        ValueError,
        "temperature must be > 0",
        True,
    ),
    (
        "sup_con labels length",
        losses.sup_con,
        (F, Y[:3]),
        {"temperature": 0.1},
        ValueError,
        "labels must have shape [N] = (4,)",
        True,
    ),
    (
        "sup_con float labels",
        losses.sup_con,
        (F, Y.astype(np.float32)),
        {"temperature": 0.1},
        TypeError,
        "labels must be an integer array",
        True,
    ),
    (
        "sup_con integer embeddings",
        losses.sup_con,
        (I, Y),
        {"temperature": 0.1},
        TypeError,
        "embeddings must be a floating-point array",
        True,
    ),
    (
        "triplet shapes",
        losses.triplet_margin,
        (F, F, F5),
        {},
        ValueError,
        "anchors and positives and negatives must have the same shape",
        True,
    ),
    (
        "triplet p < 1",
        losses.triplet_margin,
        (F, F, F),
        {"p": 0.5},
        ValueError,
        "p must be >= 1",
        True,
    ),
    (
        "triplet margin < 0",
        losses.triplet_margin,
        (F, F, F),
        {"margin": -1.0},
        ValueError,
        "margin must be >= 0",
        True,
    ),
    (
        "batch_triplet mining",
        losses.batch_triplet,
        (F, Y),
        {"mining": "easy"},
        ValueError,
        "mining must be one of ('hard', 'semi-hard', 'all'), got 'easy'",
        True,
    ),
    (
        "batch_triplet labels length",
        losses.batch_triplet,
        (F, Y[:2]),
        {},
        ValueError,
        "labels must have shape [N] = (4,)",
        True,
    ),
    (
        "cosine shapes",
        losses.cosine_similarity_loss,
        (F, F5),
        {},
        ValueError,
        "x and y must have the same shape",
        True,
    ),
    (
        "byol integer",
        losses.byol_loss,
        (I, F),
        {},
        TypeError,
        "p must be a floating-point array",
        True,
    ),
    (
        "barlow N=1",
        losses.barlow_twins,
        (F[:1], F[:1]),
        {},
        ValueError,
        "barlow_twins needs batch statistics over at least 2 examples",
        True,
    ),
    (
        "barlow lambda",
        losses.barlow_twins,
        (F, F),
        {"lambda_": -1.0},
        ValueError,
        "lambda_ must be >= 0",
        True,
    ),
    ("vicreg weight", losses.vicreg, (F, F), {"cov": -1.0}, ValueError, "cov must be >= 0", True),
    ("vicreg rank", losses.vicreg, (V, V), {}, ValueError, "z1 must have shape [N, D]", True),
    (
        "gan kind",
        losses.gan_discriminator_loss,
        (V, V),
        {"kind": "wasserstein"},
        ValueError,
        "kind must be one of ('bce', 'hinge', 'least_squares'), got 'wasserstein'",
        True,
    ),
    (
        "gan none needs equal shapes",
        losses.gan_discriminator_loss,
        (V, V[:2]),
        {"reduction": "none"},
        ValueError,
        "real_logits and fake_logits must have the same shape",
        True,
    ),
    (
        "generator kind",
        losses.gan_generator_loss,
        (V,),
        {"kind": "bce"},
        ValueError,
        "kind must be one of ('non_saturating', 'hinge', 'least_squares')",
        True,
    ),
    (
        "ce label shape",
        losses.softmax_cross_entropy,
        (F, Y[:3]),
        {},
        ValueError,
        "integer labels must have shape logits.shape[:-1] = (4,)",
        True,
    ),
    (
        "ce prob shape",
        losses.softmax_cross_entropy,
        (F, F5),
        {},
        ValueError,
        "float labels (probabilities) must have the shape of logits (4, 3)",
        True,
    ),
    (
        "ce label range",
        losses.softmax_cross_entropy,
        (F, np.array([0, 1, 2, 3], np.int32)),
        {},
        ValueError,
        "labels must lie in [0, 3)",
        False,
    ),
    (
        "ce smoothing",
        losses.softmax_cross_entropy,
        (F, Y),
        {"label_smoothing": 1.5},
        ValueError,
        "label_smoothing must be in [0.0, 1.0], got 1.5",
        True,
    ),
    (
        "ce where shape",
        losses.softmax_cross_entropy,
        (F, Y),
        {"where": np.ones(3, bool)},
        ValueError,
        "where must have shape (4,)",
        True,
    ),
    (
        "bce shapes",
        losses.sigmoid_binary_cross_entropy,
        (F, F5),
        {},
        ValueError,
        "logits and targets must have the same shape",
        True,
    ),
    (
        "mlm rank",
        losses.masked_lm_loss,
        (F, Y, Y),
        {},
        ValueError,
        "logits must have shape [B, T, V] (rank 3)",
        True,
    ),
    (
        "mlm float targets",
        losses.masked_lm_loss,
        (np.zeros((2, 4, 3), np.float32), np.zeros((2, 4), np.float32), np.ones((2, 4), bool)),
        {},
        TypeError,
        "targets must be an integer array",
        True,
    ),
    (
        "mlm mask shape",
        losses.masked_lm_loss,
        (np.zeros((2, 4, 3), np.float32), np.zeros((2, 4), np.int32), np.ones((2, 3), bool)),
        {},
        ValueError,
        "mask must have shape (2, 4)",
        True,
    ),
    (
        "recon kind",
        losses.reconstruction_loss,
        (F, F),
        {"kind": "l1"},
        ValueError,
        "kind must be one of ('mse', 'bce_logits'), got 'l1'",
        True,
    ),
    (
        "recon feature_reduction",
        losses.reconstruction_loss,
        (F, F),
        {"feature_reduction": "max"},
        ValueError,
        "feature_reduction must be one of ('mean', 'sum')",
        True,
    ),
    (
        "kl shapes",
        losses.gaussian_kl,
        (F, F5),
        {},
        ValueError,
        "mean and logvar must have the same shape",
        True,
    ),
    (
        "elbo batch",
        losses.vae_elbo,
        (F, F, F5, F5),
        {},
        ValueError,
        "recon_logits and mean must share the batch size",
        True,
    ),
    (
        "elbo beta",
        losses.vae_elbo,
        (F, F, F, F),
        {"beta": -0.1},
        ValueError,
        "beta must be >= 0",
        True,
    ),
]


@pytest.mark.parametrize(
    "loss,arrays,kwargs,exc,fragment,under_jit",
    [entry[1:] for entry in CATALOGUE],
    ids=[entry[0] for entry in CATALOGUE],
)
def test_bad_input_is_refused_with_a_clear_error(loss, arrays, kwargs, exc, fragment, under_jit):
    with pytest.raises(exc, match=re.escape(fragment)):
        loss(*arrays, **kwargs)
    if under_jit:
        with pytest.raises(exc, match=re.escape(fragment)):
            jax.jit(lambda *xs: loss(*xs, **kwargs))(*arrays)


def test_catalogue_covers_every_public_loss():
    covered = {entry[1].__name__ for entry in CATALOGUE}
    assert covered == set(losses.__all__)


def test_labels_excluded_by_where_may_hold_anything():
    labels = jnp.array([0, -100, 2, 99])
    where = jnp.array([True, False, True, False])
    value = losses.softmax_cross_entropy(jnp.zeros((4, 3)), labels, where=where)
    np.testing.assert_allclose(value, np.log(3), rtol=1e-6)
