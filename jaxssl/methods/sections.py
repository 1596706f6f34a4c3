"""The methods' config sections: each section's keys, defaults and checks, in one place.

A section is a ``ConfigDict`` under one top-level key of a run's config
(``config.moco``, ``config.head``, ...). :mod:`jaxssl.methods.registry` says
which sections each method reads; :func:`jaxssl.train.config.default_config`
composes them with the keys every run shares, and
:func:`jaxssl.train.config.validate` checks only the sections of the run's
own method. The small checks below (:func:`choice`, :func:`positive`,
:func:`fraction`) are shared with the training config: each raises one
``ValueError`` naming the key and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import ml_collections

EMA_SCHEDULES = ("constant", "cosine")
TRIPLET_MINING = ("hard", "semi-hard", "all")
GAN_LOSSES = ("non_saturating", "hinge", "least_squares")


def get(config: ml_collections.ConfigDict, name: str):
    """``config.<name>`` for a dotted ``name`` (``"optim.base_lr"``)."""
    for part in name.split("."):
        config = config[part]
    return config


def choice(config: ml_collections.ConfigDict, name: str, choices) -> None:
    """``config.<name>`` must be one of ``choices``."""
    value = get(config, name)
    if value not in choices:
        raise ValueError(f"config.{name} must be one of {choices}, got {value!r}.")


def positive(config: ml_collections.ConfigDict, names: Iterable[str], *, allow_zero=False) -> None:
    """Each ``config.<name>`` must be > 0 (>= 0 with ``allow_zero``)."""
    for name in names:
        value = get(config, name)
        if not math.isfinite(value):  # NaN compares false with every bound below
            raise ValueError(f"config.{name} must be a finite number, got {value!r}.")
        if value < 0 or (value == 0 and not allow_zero):
            bound = ">= 0" if allow_zero else "> 0"
            raise ValueError(f"config.{name} must be {bound}, got {value!r}.")


def fraction(config: ml_collections.ConfigDict, name: str, interval: str) -> None:
    """``config.<name>`` must lie in ``interval``: "(0, 1]", "[0, 1)" or "[0, 1]"."""
    value = get(config, name)  # NaN fails every one of these comparisons
    ok = {"(0, 1]": 0 < value <= 1, "[0, 1)": 0 <= value < 1, "[0, 1]": 0 <= value <= 1}[interval]
    if not ok:
        raise ValueError(f"config.{name} must be in {interval}, got {value!r}.")


def _widths(config: ml_collections.ConfigDict, name: str) -> None:
    value = get(config, name)
    if not value or min(value) < 1:
        raise ValueError(f"config.{name} must be one or more widths >= 1, got {tuple(value)!r}.")


def _section(**defaults) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(defaults)


def head() -> ml_collections.ConfigDict:
    """The projection head (and predictor) of every two-view method."""
    c = _section()
    c.name = "simclr_v2_head"  # simclr_v1_head | simclr_v2_head (rotation: linear, 4-way)
    c.hidden_dim = 512
    c.output_dim = 128
    c.predictor_hidden = 512  # byol, simsiam: the predictor's bottleneck
    return c


def _check_head(config) -> None:
    positive(config, ["head.hidden_dim", "head.output_dim", "head.predictor_hidden"])


def simclr() -> ml_collections.ConfigDict:
    """NT-Xent's temperature and its blockwise form."""
    c = _section()
    c.temperature = 0.2
    c.chunk_size = 0  # > 0: blockwise NT-Xent (O(N*K) memory)
    return c


def _check_simclr(config) -> None:
    positive(config, ["simclr.temperature"])
    positive(config, ["simclr.chunk_size"], allow_zero=True)


def moco() -> ml_collections.ConfigDict:
    """MoCo v2: InfoNCE against a FIFO queue of a momentum encoder's keys."""
    c = _section()
    c.temperature = 0.2
    c.queue_size = 4096  # negatives; at least the global batch (MoCo: 65,536)
    c.momentum = 0.999  # the key encoder's EMA momentum
    c.momentum_schedule = "constant"  # constant | cosine (rises to 1)
    return c


def _check_moco(config) -> None:
    choice(config, "moco.momentum_schedule", EMA_SCHEDULES)
    positive(config, ["moco.temperature", "moco.queue_size"])
    fraction(config, "moco.momentum", "[0, 1]")
    if config.moco.queue_size < config.batch_size:
        raise ValueError(
            f"config.moco.queue_size must be >= config.batch_size ({config.batch_size}): each "
            f"step enqueues the whole global batch; got {config.moco.queue_size}."
        )


def byol() -> ml_collections.ConfigDict:
    """BYOL's target momentum."""
    c = _section()
    c.momentum = 0.996  # the target's EMA momentum at step 0
    c.momentum_schedule = "cosine"  # constant | cosine (rises to 1)
    return c


def _check_byol(config) -> None:
    choice(config, "byol.momentum_schedule", EMA_SCHEDULES)
    fraction(config, "byol.momentum", "[0, 1]")


def barlow_twins() -> ml_collections.ConfigDict:
    """Barlow Twins' off-diagonal weight."""
    c = _section()
    c.lambda_ = 5e-3  # off-diagonal weight
    return c


def _check_barlow_twins(config) -> None:
    positive(config, ["barlow_twins.lambda_"], allow_zero=True)


def vicreg() -> ml_collections.ConfigDict:
    """VICReg's three weights."""
    c = _section()
    c.sim = 25.0
    c.var = 25.0
    c.cov = 1.0
    return c


def _check_vicreg(config) -> None:
    positive(config, ["vicreg.sim", "vicreg.var", "vicreg.cov"], allow_zero=True)


def triplet() -> ml_collections.ConfigDict:
    """Triplet pretraining: margin and mining."""
    c = _section()
    c.margin = 0.2
    c.mining = "hard"  # hard | semi-hard (O(N^3) memory) | all
    c.squared = True  # squared Euclidean distances of unit embeddings
    return c


def _check_triplet(config) -> None:
    choice(config, "triplet.mining", TRIPLET_MINING)
    positive(config, ["triplet.margin"], allow_zero=True)


def jigsaw() -> ml_collections.ConfigDict:
    """Jigsaw puzzles: the grid, the permutation set, the gap between tiles."""
    c = _section()
    c.grid = 3  # tiles per side: 2 or 3
    c.num_permutations = 100  # of (grid^2)! (at most 24 for a 2x2 grid)
    c.jitter = 1  # pixels a tile is smaller than its cell, at a random offset
    return c


def _check_jigsaw(config) -> None:
    choice(config, "jigsaw.grid", (2, 3))
    positive(config, ["jigsaw.num_permutations"])
    positive(config, ["jigsaw.jitter"], allow_zero=True)


def multitask() -> ml_collections.ConfigDict:
    """SimCLR + rotation on one encoder: how the two losses are weighed."""
    c = _section()
    c.weighting = "uncertainty"  # fixed | uncertainty (Kendall et al. 2018, learned)
    c.weights = (1.0, 1.0)  # fixed: (SimCLR, rotation)
    return c


def _check_multitask(config) -> None:
    choice(config, "multitask.weighting", ("fixed", "uncertainty"))
    weights = tuple(config.multitask.weights)
    if len(weights) != 2 or min(weights) < 0 or not all(map(math.isfinite, weights)):
        raise ValueError(
            "config.multitask.weights must be two finite numbers >= 0 (SimCLR, rotation), "
            f"got {weights!r}."
        )


def inpainting() -> ml_collections.ConfigDict:
    """The context encoder: the masked square and the decoder."""
    c = _section()
    c.mask_size = 0.5  # the square's side, as a fraction of the image's side
    c.random_position = True  # False: the central region
    c.decoder_features = (32, 64)  # FeatureDecoder widths; H, W divisible by 2**len
    return c


def _check_inpainting(config) -> None:
    fraction(config, "inpainting.mask_size", "(0, 1]")
    _widths(config, "inpainting.decoder_features")
    factor = 2 ** len(config.inpainting.decoder_features)
    if config.image_size % factor:
        raise ValueError(
            f"config.inpainting.decoder_features has {len(config.inpainting.decoder_features)} "
            f"upsamplings, so config.image_size must be divisible by {factor}; got "
            f"{config.image_size}."
        )


def generative() -> ml_collections.ConfigDict:
    """The autoencoder's and VAE's nets (jaxssl.models.autoencoder); picture grids."""
    c = _section()
    c.features = (32, 64)  # encoder widths, each halving the resolution
    c.latent_dim = 16  # vae: size of z
    c.beta = 1.0  # vae: KL weight (1: the ELBO)
    c.pictures = 64  # images in the PNG grids (0: none)
    c.pictures_every_steps = 0  # > 0: also WORKDIR/pictures/<name>_<step>.png
    return c


def _check_generative(config) -> None:
    positive(config, ["generative.latent_dim"])
    _widths(config, "generative.features")
    positive(
        config,
        ["generative.beta", "generative.pictures", "generative.pictures_every_steps"],
        allow_zero=True,
    )


def gan() -> ml_collections.ConfigDict:
    """DCGAN."""
    c = _section()
    c.latent_dim = 64  # the generator's noise
    c.base_features = 64  # DCGAN width next to the image
    c.loss = "non_saturating"  # non_saturating | hinge | least_squares
    return c


def _check_gan(config) -> None:
    choice(config, "gan.loss", GAN_LOSSES)
    positive(config, ["gan.latent_dim", "gan.base_features"])


def text() -> ml_collections.ConfigDict:
    """masked_lm (encoder bert) and causal_lm (encoder gpt or lstm_lm) on a text dataset."""
    c = _section()
    c.seq_len = 128  # tokens (bytes) per packed row
    c.text_key = "text"  # the records' text field
    c.mask_prob = 0.15  # masked_lm: chance a token is chosen (80/10/10 corruption)
    return c


def _check_text(config) -> None:
    positive(config, ["text.seq_len"])
    fraction(config, "text.mask_prob", "(0, 1]")


def finetune() -> ml_collections.ConfigDict:
    """The classifier: fine-tuning, label fractions, pseudo-labels."""
    c = _section()
    c.label_fraction = 1.0  # < 1: class-balanced labelled subset (0.01, 0.1)
    c.subset_seed = 0  # chooses that subset; fixed across run seeds
    c.label_smoothing = 0.0
    c.freeze_encoder = False  # head only (set optim.encoder_lr_mult = 0 too)
    c.augment = True  # the `augment` preset on the training images (its
    # normalisation applies either way)
    # with label_fraction < 1: pseudo-label the rest at these confidence thresholds
    c.pseudo_label_thresholds = (0.5, 0.8, 0.9, 0.95, 0.99)
    # with label_fraction < 1: label propagation (jaxssl.eval.label_propagation) over a
    # kNN graph of train and eval features with this many neighbours; 0 skips it
    c.label_propagation_k = 10
    return c


def _check_finetune(config) -> None:
    fraction(config, "finetune.label_fraction", "(0, 1]")
    fraction(config, "finetune.label_smoothing", "[0, 1)")
    k = config.finetune.label_propagation_k
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(
            f"config.finetune.label_propagation_k must be an int >= 0 (0 skips it), got {k!r}."
        )
    if any(not 0 <= t <= 1 for t in config.finetune.pseudo_label_thresholds):
        raise ValueError(
            "config.finetune.pseudo_label_thresholds must be probabilities in [0, 1], got "
            f"{tuple(config.finetune.pseudo_label_thresholds)!r}."
        )


# section name -> (its defaults, its checks), in the order config.json lists them
SECTIONS: dict[str, tuple[Callable[[], ml_collections.ConfigDict], Callable]] = {
    "head": (head, _check_head),
    "simclr": (simclr, _check_simclr),
    "moco": (moco, _check_moco),
    "byol": (byol, _check_byol),
    "barlow_twins": (barlow_twins, _check_barlow_twins),
    "vicreg": (vicreg, _check_vicreg),
    "triplet": (triplet, _check_triplet),
    "jigsaw": (jigsaw, _check_jigsaw),
    "inpainting": (inpainting, _check_inpainting),
    "multitask": (multitask, _check_multitask),
    "generative": (generative, _check_generative),
    "gan": (gan, _check_gan),
    "text": (text, _check_text),
    "finetune": (finetune, _check_finetune),
}
