"""One table of every loss: how to make its inputs, call it, and its reference.

The transform tests (eager, jit, vmap, float64 gradients, multi-device) are
written once over this table, so every loss gets every check.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from jaxssl import losses
from tests.losses import reference as ref


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable  # jaxssl loss with hyperparameters bound; arrays positional
    ref: Callable  # float64 reference on the same arrays
    make: Callable[[np.random.Generator, int], tuple]  # inputs for a batch of n
    sizes: tuple[int, ...] = (2, 5, 16)  # smallest valid batch first
    cross_example: bool = False  # depends on other examples: takes axis_name
    float_args: tuple[int, ...] = (0, 1)  # positions of float inputs
    rtol: float = 2e-5
    atol: float = 1e-5


def _normal(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _pair(d):
    return lambda rng, n: (_normal(rng, n, d), _normal(rng, n, d))


def _labelled(d, classes):
    def make(rng, n):
        labels = rng.integers(0, classes, n).astype(np.int32)
        labels[:2] = 0  # the smallest batch still has a positive pair
        return _normal(rng, n, d), labels

    return make


def _triplets(rng, n):
    return _normal(rng, n, 6), _normal(rng, n, 6), _normal(rng, n, 6)


CASES = [
    Case(
        "nt_xent",
        partial(losses.nt_xent, temperature=0.5),
        partial(ref.nt_xent, temperature=0.5),
        _pair(8),
        cross_example=True,
    ),
    Case(
        "info_nce",
        partial(losses.info_nce, temperature=0.2),
        partial(ref.info_nce, temperature=0.2),
        _pair(8),
        cross_example=True,
    ),
    # Blockwise forms: K=3 divides none of the tested candidate counts
    # (2N = 4, 10, 32 for NT-Xent; N = 2, 5, 16 for InfoNCE), so the padded
    # last block is exercised everywhere, multi-device included.
    Case(
        "nt_xent_chunked",
        partial(losses.nt_xent, temperature=0.5, chunk_size=3),
        partial(ref.nt_xent, temperature=0.5),
        _pair(8),
        cross_example=True,
    ),
    Case(
        "info_nce_chunked",
        partial(losses.info_nce, temperature=0.2, chunk_size=3),
        partial(ref.info_nce, temperature=0.2),
        _pair(8),
        cross_example=True,
    ),
    Case(
        "clip_loss",
        partial(losses.clip_loss, logit_scale=3.0),
        partial(ref.clip, logit_scale=3.0),
        _pair(8),
        cross_example=True,
    ),
    Case(  # K=3 divides none of N = 2, 5, 16 nor the per-device 2 under 8 devices
        "clip_loss_chunked",
        partial(losses.clip_loss, logit_scale=3.0, chunk_size=3),
        partial(ref.clip, logit_scale=3.0),
        _pair(8),
        cross_example=True,
    ),
    Case(
        "siglip_loss",
        partial(losses.siglip_loss, logit_scale=2.0, logit_bias=-1.5),
        partial(ref.siglip, logit_scale=2.0, logit_bias=-1.5),
        _pair(8),
        cross_example=True,
    ),
    Case(
        "siglip_loss_chunked",
        partial(losses.siglip_loss, logit_scale=2.0, logit_bias=-1.5, chunk_size=3),
        partial(ref.siglip, logit_scale=2.0, logit_bias=-1.5),
        _pair(8),
        cross_example=True,
    ),
    Case(
        "sup_con",
        partial(losses.sup_con, temperature=0.3),
        partial(ref.sup_con, temperature=0.3),
        _labelled(8, 3),
        cross_example=True,
        float_args=(0,),
    ),
    Case(
        "batch_triplet_hard",
        partial(losses.batch_triplet, margin=1.0, mining="hard"),
        partial(ref.batch_triplet, margin=1.0, mining="hard"),
        _labelled(6, 3),
        sizes=(3, 6, 16),
        cross_example=True,
        float_args=(0,),
    ),
    Case(
        "batch_triplet_semihard",
        partial(losses.batch_triplet, margin=0.5, mining="semi-hard"),
        partial(ref.batch_triplet, margin=0.5, mining="semi-hard"),
        _labelled(6, 3),
        sizes=(3, 6, 16),
        cross_example=True,
        float_args=(0,),
    ),
    Case(
        "batch_triplet_all_squared",
        partial(losses.batch_triplet, margin=2.0, mining="all", squared=True),
        partial(ref.batch_triplet, margin=2.0, mining="all", squared=True),
        _labelled(6, 3),
        sizes=(3, 6, 16),
        cross_example=True,
        float_args=(0,),
    ),
    Case(
        "barlow_twins",
        partial(losses.barlow_twins, lambda_=5e-3),
        partial(ref.barlow_twins, lambda_=5e-3, eps=1e-5),
        _pair(6),
        cross_example=True,
        rtol=5e-5,
    ),
    Case(
        "vicreg",
        losses.vicreg,
        partial(ref.vicreg, sim=25.0, var=25.0, cov=1.0),
        _pair(6),
        cross_example=True,
        rtol=5e-5,
    ),
    Case(
        "triplet_margin_p2",
        partial(losses.triplet_margin, margin=1.0, p=2.0),
        partial(ref.triplet_margin, margin=1.0, p=2.0),
        _triplets,
        sizes=(1, 4, 9),
        float_args=(0, 1, 2),
    ),
    Case(
        "triplet_margin_p1",
        partial(losses.triplet_margin, margin=2.0, p=1.0),
        partial(ref.triplet_margin, margin=2.0, p=1.0),
        _triplets,
        sizes=(1, 4, 9),
        float_args=(0, 1, 2),
    ),
    Case(
        "cosine_similarity_loss",
        losses.cosine_similarity_loss,
        ref.cosine_similarity_loss,
        _pair(5),
        sizes=(1, 4, 9),
    ),
    Case("byol_loss", losses.byol_loss, ref.byol_loss, _pair(5), sizes=(1, 4, 9)),
    Case(
        "gan_discriminator_bce",
        partial(losses.gan_discriminator_loss, kind="bce"),
        partial(ref.gan_discriminator, kind="bce"),
        lambda rng, n: (3 * _normal(rng, n), 3 * _normal(rng, n)),
        sizes=(1, 4, 9),
    ),
    Case(
        "gan_discriminator_hinge",
        partial(losses.gan_discriminator_loss, kind="hinge"),
        partial(ref.gan_discriminator, kind="hinge"),
        lambda rng, n: (2 * _normal(rng, n), 2 * _normal(rng, n)),
        sizes=(1, 4, 9),
    ),
    Case(
        "gan_discriminator_least_squares",
        partial(losses.gan_discriminator_loss, kind="least_squares"),
        partial(ref.gan_discriminator, kind="least_squares"),
        lambda rng, n: (_normal(rng, n), _normal(rng, n)),
        sizes=(1, 4, 9),
    ),
    *[
        Case(
            f"gan_generator_{kind}",
            partial(losses.gan_generator_loss, kind=kind),
            partial(ref.gan_generator, kind=kind),
            lambda rng, n: (3 * _normal(rng, n),),
            sizes=(1, 4, 9),
            float_args=(0,),
        )
        for kind in ("non_saturating", "hinge", "least_squares")
    ],
    Case(
        "softmax_cross_entropy_int",
        partial(losses.softmax_cross_entropy, label_smoothing=0.1),
        partial(ref.softmax_cross_entropy, label_smoothing=0.1),
        lambda rng, n: (3 * _normal(rng, n, 7), rng.integers(0, 7, n).astype(np.int32)),
        sizes=(1, 4, 9),
        float_args=(0,),
    ),
    Case(
        "softmax_cross_entropy_probs",
        losses.softmax_cross_entropy,
        ref.softmax_cross_entropy,
        lambda rng, n: (_normal(rng, n, 4), rng.dirichlet(np.ones(4), n).astype(np.float32)),
        sizes=(1, 4, 9),
        float_args=(0,),
    ),
    Case(
        "sigmoid_binary_cross_entropy",
        losses.sigmoid_binary_cross_entropy,
        ref.sigmoid_bce,
        lambda rng, n: (4 * _normal(rng, n, 3), rng.uniform(size=(n, 3)).astype(np.float32)),
        sizes=(1, 4, 9),
        float_args=(0,),
    ),
    Case(
        "masked_lm_loss",
        losses.masked_lm_loss,
        lambda logits, targets, mask, **kw: ref.softmax_cross_entropy(
            logits, targets, where=mask, **kw
        ),
        lambda rng, n: (
            2 * _normal(rng, n, 5, 11),
            rng.integers(0, 11, (n, 5)).astype(np.int32),
            rng.uniform(size=(n, 5)) < 0.3,
        ),
        sizes=(1, 3, 8),
        float_args=(0,),
    ),
    Case(
        "reconstruction_mse",
        losses.reconstruction_loss,
        partial(ref.reconstruction, kind="mse"),
        lambda rng, n: (_normal(rng, n, 4, 4), _normal(rng, n, 4, 4)),
        sizes=(1, 4, 9),
    ),
    Case(
        "reconstruction_bce_sum",
        partial(losses.reconstruction_loss, kind="bce_logits", feature_reduction="sum"),
        partial(ref.reconstruction, kind="bce_logits", feature_reduction="sum"),
        lambda rng, n: (3 * _normal(rng, n, 9), rng.uniform(size=(n, 9)).astype(np.float32)),
        sizes=(1, 4, 9),
        float_args=(0,),
    ),
    Case(
        "gaussian_kl",
        losses.gaussian_kl,
        ref.gaussian_kl,
        lambda rng, n: (_normal(rng, n, 3), _normal(rng, n, 3)),
        sizes=(1, 4, 9),
    ),
    Case(
        "vae_elbo",
        partial(losses.vae_elbo, beta=0.5),
        partial(ref.vae_elbo, beta=0.5, kind="bce_logits"),
        lambda rng, n: (
            2 * _normal(rng, n, 6),
            rng.uniform(size=(n, 6)).astype(np.float32),
            _normal(rng, n, 2),
            _normal(rng, n, 2),
        ),
        sizes=(1, 4, 9),
        float_args=(0, 2, 3),
    ),
]

BY_NAME = {c.name: c for c in CASES}
CROSS_EXAMPLE = [c for c in CASES if c.cross_example]
