"""Self-supervised methods: each an object with ``init``, ``loss_fn`` and ``features``.

The contract (see DESIGN.md): ``init(rng, sample) -> variables``;
``loss_fn(params, state, batch, rng) -> (loss, (new_state, metrics))``, pure,
where ``state`` is ``{'batch_stats': ..., 'method': ...}``; optional
``post_update(train_state) -> train_state``; ``features(params, state, images)``
gives the encoder's representation for evaluation; ``axis_name`` is the pmap
axis (None under jit). :func:`build` makes one from a run's config.
"""

from __future__ import annotations

from collections.abc import Hashable

import jax.numpy as jnp
import ml_collections

from jaxssl import models
from jaxssl.data import augment as aug_lib
from jaxssl.methods.classifier import Classifier
from jaxssl.methods.simclr import EncoderWithHead, SimCLR

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


def build(config: ml_collections.ConfigDict, axis_name: Hashable | None = None):
    """The method ``config.method`` with its encoder, head and augmentation from ``config``.

    ``classifier`` and ``linear_probe`` need ``config.num_classes > 0`` (the
    training loop fills it in from the dataset); ``linear_probe`` builds the
    classifier too, for its ``init`` and ``features``.
    """
    dtype = jnp.bfloat16 if config.dtype == "bfloat16" else jnp.float32
    encoder = _module(config.encoder, axis_name, dtype, **config.encoder_kwargs.to_dict())
    if config.method == "simclr":
        head = _module(
            config.simclr.head,
            axis_name,
            dtype,
            hidden_dim=config.simclr.head_hidden,
            output_dim=config.simclr.head_output,
        )
        return SimCLR(
            encoder=encoder,
            head=head,
            augment=build_augment(config),
            temperature=config.simclr.temperature,
            chunk_size=config.simclr.chunk_size or None,
            axis_name=axis_name,
            image_key=config.image_key,
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
        f"config.method must be one of ['simclr', 'classifier', 'linear_probe'], "
        f"got {config.method!r}."
    )


__all__ = ["AUGMENTS", "Classifier", "EncoderWithHead", "SimCLR", "build", "build_augment"]
