"""Self-supervised methods: each an object with ``init``, ``loss_fn`` and ``features``.

Two-view methods (:mod:`~jaxssl.methods.base`): SimCLR, MoCo v2, BYOL,
SimSiam, Barlow Twins, VICReg and triplet pretraining; rotation prediction
(RotNet); and the supervised :class:`Classifier` (fine-tuning, linear
evaluation, the supervised baseline). Generative (:mod:`~jaxssl.methods.generative`,
:mod:`~jaxssl.methods.gan`): the autoencoder, the VAE and DCGAN. Language
(:mod:`~jaxssl.methods.language`): masked LM and next-token LM.

The contract (see DESIGN.md): ``init(rng, sample) -> variables``;
``loss_fn(params, state, batch, rng) -> (loss, (new_state, metrics))``, pure,
where ``state`` is ``{'batch_stats': ..., 'method': ...}``; optional
``post_update(train_state) -> train_state``; ``features(params, state, images)``
gives the encoder's representation for evaluation; ``axis_name`` is the pmap
axis (None under jit). :func:`build` makes one from a run's config.

Optional hooks beyond it: ``update(train_state, batch, rng, tx) -> (train_state,
grads, metrics)`` replaces the single gradient step for a method with several
networks (the GAN: one D step, then one G step), with ``optimizer(tx)`` giving
the per-network optimizer it needs; ``eval_terms`` / ``EVAL_TERMS`` /
``summarize`` give held-out numbers; ``pictures`` gives image grids; a method
without ``features`` (the language models) gets no kNN / probe evaluation.
"""

from __future__ import annotations

from collections.abc import Hashable

import jax.numpy as jnp
import ml_collections

from jaxssl import models
from jaxssl.data import augment as aug_lib
from jaxssl.data import text
from jaxssl.methods.base import EncoderWithHead, TwoViewMethod
from jaxssl.methods.byol import BYOL
from jaxssl.methods.classifier import Classifier
from jaxssl.methods.gan import GAN
from jaxssl.methods.generative import VAE, Autoencoder
from jaxssl.methods.language import CausalLM, MaskedLM
from jaxssl.methods.moco import MoCo
from jaxssl.methods.redundancy import BarlowTwins, VICReg
from jaxssl.methods.rotation import NUM_ROTATIONS, Rotation
from jaxssl.methods.simclr import SimCLR
from jaxssl.methods.simsiam import SimSiam
from jaxssl.methods.triplet import Triplet
from jaxssl.train import config as config_lib

AUGMENTS = {
    "digits": lambda c: aug_lib.digits(c.image_size),
    "simclr": lambda c: aug_lib.simclr(c.image_size, c.augment_strength),
    "byol": lambda c: aug_lib.byol(c.image_size),
}


def _module(name: str, axis_name: Hashable | None, dtype, **kwargs):
    module = models.get_model(name, dtype=dtype, **kwargs)
    # Only modules with BatchNorm have axis_name; under pmap their statistics
    # must be averaged over devices to equal the global batch's.
    if hasattr(module, "axis_name"):
        module = module.clone(axis_name=axis_name)
    return module


def build_augment(config: ml_collections.ConfigDict):
    """The augmentation preset ``config.augment`` at ``config.image_size``."""
    if config.augment not in AUGMENTS:
        raise ValueError(
            f"config.augment must be one of {sorted(AUGMENTS)}, got {config.augment!r}."
        )
    return AUGMENTS[config.augment](config)


def _pretraining_options(config: ml_collections.ConfigDict, num_steps: int) -> dict:
    """The method-specific constructor arguments of each pretraining method."""
    moco, byol, triplet = config.moco, config.byol, config.triplet
    return {
        "simclr": {
            "temperature": config.simclr.temperature,
            "chunk_size": config.simclr.chunk_size or None,
        },
        "moco": {
            "temperature": moco.temperature,
            "queue_size": moco.queue_size,
            "momentum": moco.momentum,
            "momentum_schedule": moco.momentum_schedule,
            "num_steps": num_steps,
        },
        "byol": {
            "momentum": byol.momentum,
            "momentum_schedule": byol.momentum_schedule,
            "num_steps": num_steps,
        },
        "simsiam": {},
        "barlow_twins": {"lambda_": config.barlow_twins.lambda_},
        "vicreg": {"sim": config.vicreg.sim, "var": config.vicreg.var, "cov": config.vicreg.cov},
        "rotation": {},
        "triplet": {
            "margin": triplet.margin,
            "mining": triplet.mining,
            "squared": triplet.squared,
        },
    }[config.method]


PRETRAINING = {
    "simclr": SimCLR,
    "moco": MoCo,
    "byol": BYOL,
    "simsiam": SimSiam,
    "barlow_twins": BarlowTwins,
    "vicreg": VICReg,
    "rotation": Rotation,
    "triplet": Triplet,
}
# Methods whose online network ends in a predictor (on the projections).
_WITH_PREDICTOR = ("byol", "simsiam")


def build(config: ml_collections.ConfigDict, axis_name: Hashable | None = None, num_steps: int = 1):
    """The method ``config.method`` with its encoder, head and augmentation from ``config``.

    ``num_steps`` is the run's length (the EMA momentum schedules of MoCo and
    BYOL span it). ``classifier`` and ``linear_probe`` need
    ``config.num_classes > 0`` (the training loop fills it in from the
    dataset); ``linear_probe`` builds the classifier too, for its ``init``
    and ``features``.
    """
    dtype = jnp.bfloat16 if config.dtype == "bfloat16" else jnp.float32
    if config.method == "autoencoder":
        net = models.get_model(
            "autoencoder", features=tuple(config.generative.features), dtype=dtype
        )
        return Autoencoder(net, axis_name=axis_name, image_key=config.image_key)
    if config.method == "vae":
        return VAE(
            latent_dim=config.generative.latent_dim,
            widths=tuple(config.generative.features),
            beta=config.generative.beta,
            dtype=dtype,
            axis_name=axis_name,
            image_key=config.image_key,
        )
    if config.method == "gan":
        return GAN(
            latent_dim=config.gan.latent_dim,
            base_features=config.gan.base_features,
            loss=config.gan.loss,
            dtype=dtype,
            axis_name=axis_name,
            image_key=config.image_key,
        )
    if config.method in ("masked_lm", "causal_lm"):
        net = models.get_model(
            config.encoder,
            vocab_size=text.VOCAB_SIZE,
            dtype=dtype,
            **config.encoder_kwargs.to_dict(),
        )
        if config.method == "masked_lm":
            return MaskedLM(net, axis_name=axis_name, mask_prob=config.text.mask_prob)
        return CausalLM(net, axis_name=axis_name)
    encoder = _module(config.encoder, axis_name, dtype, **config.encoder_kwargs.to_dict())
    if config.method in PRETRAINING:
        if config.method == "rotation":
            head = models.get_model("linear", num_classes=NUM_ROTATIONS, dtype=dtype)
        else:
            head = _module(
                config.head.name,
                axis_name,
                dtype,
                hidden_dim=config.head.hidden_dim,
                output_dim=config.head.output_dim,
            )
        predictor = None
        if config.method in _WITH_PREDICTOR:
            predictor = _module(
                "prediction_head",
                axis_name,
                dtype,
                hidden_dim=config.head.predictor_hidden,
                output_dim=config.head.output_dim,
            )
        return PRETRAINING[config.method](
            encoder=encoder,
            head=head,
            augment=build_augment(config),
            predictor=predictor,
            axis_name=axis_name,
            image_key=config.image_key,
            **_pretraining_options(config, num_steps),
        )
    if config.method in ("classifier", "linear_probe"):
        if config.num_classes < 1:
            raise ValueError(
                f"config.num_classes must be > 0 for method {config.method!r}, got "
                f"{config.num_classes!r}."
            )
        finetune = config.finetune
        return Classifier(
            encoder=encoder,
            head=models.get_model("linear", num_classes=config.num_classes, dtype=dtype),
            augment=build_augment(config),
            augment_train=finetune.augment,
            label_smoothing=finetune.label_smoothing,
            freeze_encoder=finetune.freeze_encoder,
            axis_name=axis_name,
            image_key=config.image_key,
            label_key=config.label_key,
        )
    raise ValueError(
        f"config.method must be one of {list(config_lib.METHODS)}, got {config.method!r}."
    )


__all__ = [
    "AUGMENTS",
    "BYOL",
    "GAN",
    "PRETRAINING",
    "VAE",
    "Autoencoder",
    "BarlowTwins",
    "CausalLM",
    "Classifier",
    "EncoderWithHead",
    "MaskedLM",
    "MoCo",
    "Rotation",
    "SimCLR",
    "SimSiam",
    "Triplet",
    "TwoViewMethod",
    "VICReg",
    "build",
    "build_augment",
]
