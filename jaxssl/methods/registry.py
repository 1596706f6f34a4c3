"""Every method by name: its class, the config sections it reads, its builder, its program.

This is the one list of methods. :func:`jaxssl.train.config.default_config`
composes the sections named here, :func:`jaxssl.train.config.validate`
checks the run's method against it, and :mod:`jaxssl.programs` picks the
program from :attr:`MethodSpec.program`. Adding a method of an existing kind
is one entry here (and its class); no program changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable

import jax.numpy as jnp
import ml_collections

from jaxssl import models
from jaxssl.data import augment as aug_lib
from jaxssl.data import text
from jaxssl.methods.byol import BYOL
from jaxssl.methods.classifier import Classifier
from jaxssl.methods.gan import GAN
from jaxssl.methods.generative import VAE, Autoencoder
from jaxssl.methods.inpainting import Inpainting
from jaxssl.methods.jigsaw import Jigsaw
from jaxssl.methods.language import CausalLM, MaskedLM
from jaxssl.methods.moco import MoCo
from jaxssl.methods.multitask import MultiTask
from jaxssl.methods.redundancy import BarlowTwins, VICReg
from jaxssl.methods.rotation import NUM_ROTATIONS, Rotation
from jaxssl.methods.simclr import SimCLR
from jaxssl.methods.simsiam import SimSiam
from jaxssl.methods.triplet import Triplet

# The programs (jaxssl.programs) a method can name.
PROGRAMS = ("pretrain", "generative", "language", "finetune", "linear_probe")

AUGMENTS = {
    "digits": lambda c: aug_lib.digits(c.image_size),
    "simclr": lambda c: aug_lib.simclr(c.image_size, c.augment_strength),
    "byol": lambda c: aug_lib.byol(c.image_size),
    "grey": lambda c: aug_lib.grey(c.image_size, c.augment_strength),
}

Builder = Callable[[ml_collections.ConfigDict, Hashable | None, int], object]


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """One method.

    Attributes:
      name: its ``config.method``.
      cls: the method class.
      program: the program that runs it (one of :data:`PROGRAMS`).
      build: ``(config, axis_name, num_steps) -> method``.
      sections: the config sections it reads (:data:`jaxssl.methods.sections.SECTIONS`).
      encoders: the ``config.encoder`` values it takes (None: any image encoder).
      needs_num_classes: the config's ``num_classes`` is filled in from the
        dataset when 0 (supervised methods).
      trains: False for a method that only evaluates (``linear_probe``): the
        schedule keys do not matter to it.
    """

    name: str
    cls: type
    program: str
    build: Builder
    sections: tuple[str, ...] = ()
    encoders: tuple[str, ...] | None = None
    needs_num_classes: bool = False
    trains: bool = True


def _dtype(config: ml_collections.ConfigDict):
    return jnp.bfloat16 if config.dtype == "bfloat16" else jnp.float32


def _module(name: str, axis_name: Hashable | None, dtype, **kwargs):
    module = models.get_model(name, dtype=dtype, **kwargs)
    # Only modules with BatchNorm have axis_name; under pmap their statistics
    # must be averaged over devices to equal the global batch's.
    if hasattr(module, "axis_name"):
        module = module.clone(axis_name=axis_name)
    return module


def build_augment(config: ml_collections.ConfigDict):
    """The augmentation preset ``config.augment`` at ``config.image_size``.

    With ``config.augment_semantics`` (``'simclr'`` or ``'torchvision'``: how
    contrast, saturation and grey are computed) on every pipeline, and
    ``config.augment_crop_min_scale`` (when > 0) as the crop's smallest area
    fraction, up to the whole image.
    """
    if config.augment not in AUGMENTS:
        raise ValueError(
            f"config.augment must be one of {sorted(AUGMENTS)}, got {config.augment!r}."
        )
    semantics = config.get("augment_semantics", "simclr")  # checked by train.config.validate
    changes = {"semantics": semantics}
    min_scale = config.get("augment_crop_min_scale", 0.0)  # checked by validate
    if min_scale:
        changes["crop_scale"] = (min_scale, 1.0)
    preset = AUGMENTS[config.augment](config)
    if isinstance(preset, tuple):
        return tuple(dataclasses.replace(p, **changes) for p in preset)
    return dataclasses.replace(preset, **changes)


def _encoder(config, axis_name):
    return _module(config.encoder, axis_name, _dtype(config), **config.encoder_kwargs.to_dict())


def _two_view(cls, options: Callable[[ml_collections.ConfigDict, int], dict], *, predictor=False):
    """The builder of a two-view method: encoder, projection head, [predictor], augmentation."""

    def build(config, axis_name, num_steps):
        dtype = _dtype(config)
        head = _module(
            config.head.name,
            axis_name,
            dtype,
            hidden_dim=config.head.hidden_dim,
            output_dim=config.head.output_dim,
        )
        pred = None
        if predictor:
            pred = _module(
                "prediction_head",
                axis_name,
                dtype,
                hidden_dim=config.head.predictor_hidden,
                output_dim=config.head.output_dim,
            )
        return cls(
            encoder=_encoder(config, axis_name),
            head=head,
            augment=build_augment(config),
            predictor=pred,
            axis_name=axis_name,
            image_key=config.image_key,
            **options(config, num_steps),
        )

    return build


def _rotation(config, axis_name, num_steps):
    del num_steps
    return Rotation(
        encoder=_encoder(config, axis_name),
        head=models.get_model("linear", num_classes=NUM_ROTATIONS, dtype=_dtype(config)),
        augment=build_augment(config),
        axis_name=axis_name,
        image_key=config.image_key,
    )


def _jigsaw(config, axis_name, num_steps):
    del num_steps
    c = config.jigsaw
    head = _module(
        "simclr_v1_head",
        axis_name,
        _dtype(config),
        hidden_dim=config.head.hidden_dim,
        output_dim=c.num_permutations,
    )
    return Jigsaw(
        encoder=_encoder(config, axis_name),
        head=head,
        augment=build_augment(config),
        axis_name=axis_name,
        image_key=config.image_key,
        grid=c.grid,
        num_permutations=c.num_permutations,
        jitter=c.jitter,
    )


def _inpainting(config, axis_name, num_steps):
    del num_steps
    c = config.inpainting
    decoder = models.get_model(
        "feature_decoder", features=tuple(c.decoder_features), dtype=_dtype(config)
    )
    return Inpainting(
        encoder=_encoder(config, axis_name),
        head=decoder,
        augment=build_augment(config),
        axis_name=axis_name,
        image_key=config.image_key,
        mask_size=c.mask_size,
        random_position=c.random_position,
    )


def _multitask(config, axis_name, num_steps):
    build = _two_view(
        MultiTask,
        lambda c, n: {
            "rotation_head": models.get_model("linear", num_classes=NUM_ROTATIONS, dtype=_dtype(c)),
            "temperature": c.simclr.temperature,
            "weighting": c.multitask.weighting,
            "weights": tuple(c.multitask.weights),
        },
    )
    return build(config, axis_name, num_steps)


def _autoencoder(config, axis_name, num_steps):
    del num_steps
    net = models.get_model(
        "autoencoder", features=tuple(config.generative.features), dtype=_dtype(config)
    )
    return Autoencoder(net, axis_name=axis_name, image_key=config.image_key)


def _vae(config, axis_name, num_steps):
    del num_steps
    return VAE(
        latent_dim=config.generative.latent_dim,
        widths=tuple(config.generative.features),
        beta=config.generative.beta,
        dtype=_dtype(config),
        axis_name=axis_name,
        image_key=config.image_key,
    )


def _gan(config, axis_name, num_steps):
    del num_steps
    return GAN(
        latent_dim=config.gan.latent_dim,
        base_features=config.gan.base_features,
        loss=config.gan.loss,
        dtype=_dtype(config),
        axis_name=axis_name,
        image_key=config.image_key,
    )


def _token_net(config):
    return models.get_model(
        config.encoder,
        vocab_size=text.VOCAB_SIZE,
        dtype=_dtype(config),
        **config.encoder_kwargs.to_dict(),
    )


def _masked_lm(config, axis_name, num_steps):
    del num_steps
    return MaskedLM(_token_net(config), axis_name=axis_name, mask_prob=config.text.mask_prob)


def _causal_lm(config, axis_name, num_steps):
    del num_steps
    return CausalLM(_token_net(config), axis_name=axis_name)


def _classifier(config, axis_name, num_steps):
    del num_steps
    if config.num_classes < 1:
        raise ValueError(
            f"config.num_classes must be > 0 for method {config.method!r}, got "
            f"{config.num_classes!r}."
        )
    finetune = config.finetune
    return Classifier(
        encoder=_encoder(config, axis_name),
        head=models.get_model("linear", num_classes=config.num_classes, dtype=_dtype(config)),
        augment=build_augment(config),
        augment_train=finetune.augment,
        label_smoothing=finetune.label_smoothing,
        freeze_encoder=finetune.freeze_encoder,
        axis_name=axis_name,
        image_key=config.image_key,
        label_key=config.label_key,
    )


def _ema(section: str):
    def options(config, num_steps):
        s = config[section]
        return {
            "momentum": s.momentum,
            "momentum_schedule": s.momentum_schedule,
            "num_steps": num_steps,
        }

    return options


def _none(config, num_steps):
    del config, num_steps
    return {}


_PRETRAIN = ("head",)
METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec(
            "simclr",
            SimCLR,
            "pretrain",
            _two_view(
                SimCLR,
                lambda c, n: {
                    "temperature": c.simclr.temperature,
                    "chunk_size": c.simclr.chunk_size or None,
                },
            ),
            (*_PRETRAIN, "simclr"),
        ),
        MethodSpec(
            "moco",
            MoCo,
            "pretrain",
            _two_view(
                MoCo,
                lambda c, n: {
                    "temperature": c.moco.temperature,
                    "queue_size": c.moco.queue_size,
                    **_ema("moco")(c, n),
                },
            ),
            (*_PRETRAIN, "moco"),
        ),
        MethodSpec(
            "byol",
            BYOL,
            "pretrain",
            _two_view(BYOL, _ema("byol"), predictor=True),
            (*_PRETRAIN, "byol"),
        ),
        MethodSpec(
            "simsiam", SimSiam, "pretrain", _two_view(SimSiam, _none, predictor=True), _PRETRAIN
        ),
        MethodSpec(
            "barlow_twins",
            BarlowTwins,
            "pretrain",
            _two_view(BarlowTwins, lambda c, n: {"lambda_": c.barlow_twins.lambda_}),
            (*_PRETRAIN, "barlow_twins"),
        ),
        MethodSpec(
            "vicreg",
            VICReg,
            "pretrain",
            _two_view(
                VICReg, lambda c, n: {"sim": c.vicreg.sim, "var": c.vicreg.var, "cov": c.vicreg.cov}
            ),
            (*_PRETRAIN, "vicreg"),
        ),
        MethodSpec("rotation", Rotation, "pretrain", _rotation),
        MethodSpec("jigsaw", Jigsaw, "pretrain", _jigsaw, (*_PRETRAIN, "jigsaw")),
        MethodSpec("inpainting", Inpainting, "pretrain", _inpainting, ("inpainting",)),
        MethodSpec(
            "multitask",
            MultiTask,
            "pretrain",
            _multitask,
            (*_PRETRAIN, "simclr", "multitask"),
        ),
        MethodSpec(
            "triplet",
            Triplet,
            "pretrain",
            _two_view(
                Triplet,
                lambda c, n: {
                    "margin": c.triplet.margin,
                    "mining": c.triplet.mining,
                    "squared": c.triplet.squared,
                },
            ),
            (*_PRETRAIN, "triplet"),
        ),
        MethodSpec("autoencoder", Autoencoder, "generative", _autoencoder, ("generative",)),
        MethodSpec("vae", VAE, "generative", _vae, ("generative",)),
        MethodSpec("gan", GAN, "generative", _gan, ("generative", "gan")),
        MethodSpec("masked_lm", MaskedLM, "language", _masked_lm, ("text",), encoders=("bert",)),
        MethodSpec(
            "causal_lm", CausalLM, "language", _causal_lm, ("text",), encoders=("gpt", "lstm_lm")
        ),
        MethodSpec(
            "classifier",
            Classifier,
            "finetune",
            _classifier,
            ("finetune",),
            needs_num_classes=True,
        ),
        MethodSpec(
            "linear_probe",
            Classifier,
            "linear_probe",
            _classifier,
            ("finetune",),
            needs_num_classes=True,
            trains=False,
        ),
    )
}
NAMES = tuple(METHODS)
# The pretraining methods (two-view, rotation, triplet), by class.
PRETRAINING = {name: spec.cls for name, spec in METHODS.items() if spec.program == "pretrain"}


def spec(name: str) -> MethodSpec:
    """The method ``name``; ``ValueError`` listing every method when there is none."""
    if name not in METHODS:
        raise ValueError(f"config.method must be one of {NAMES}, got {name!r}.")
    return METHODS[name]


def build(config: ml_collections.ConfigDict, axis_name: Hashable | None = None, num_steps: int = 1):
    """The method ``config.method`` with its networks and augmentation from ``config``.

    ``num_steps`` is the run's length (the EMA momentum schedules of MoCo and
    BYOL span it). ``classifier`` and ``linear_probe`` need
    ``config.num_classes > 0`` (the programs fill it in from the dataset);
    ``linear_probe`` builds the classifier too, for its ``init`` and ``features``.
    """
    return spec(config.method).build(config, axis_name, num_steps)
