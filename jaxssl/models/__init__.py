"""Flax linen models for every method jaxssl trains.

Every module takes ``dtype`` (computation) and ``param_dtype`` (parameters)
and ``train: bool`` at call time. Modules with BatchNorm take ``axis_name``
for cross-replica statistics under ``pmap``/``shard_map``. :func:`get_model`
builds one by name from :data:`MODELS`.

Example:
  >>> import functools, jax, jax.numpy as jnp
  >>> from jaxssl import models
  >>> net = models.get_model("resnet18", stem="cifar", num_classes=10)
  >>> init = functools.partial(net.init, train=False)
  >>> shapes = jax.eval_shape(init, jax.random.key(0), jnp.zeros((1, 32, 32, 3)))
  >>> sum(x.size for x in jax.tree.leaves(shapes["params"]))  # no memory allocated
  11173962
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.linen as nn

from jaxssl.models.autoencoder import ConvAutoencoder, ConvVAE, FeatureDecoder
from jaxssl.models.cnn import SmallCNN
from jaxssl.models.gan import DCGANDiscriminator, DCGANGenerator
from jaxssl.models.heads import (
    LinearClassifier,
    PredictionHead,
    ProjectionHead,
    SimCLRv1Head,
    SimCLRv2Head,
)
from jaxssl.models.resnet import (
    BasicBlock,
    Bottleneck,
    ResNet,
    ResNet18,
    ResNet34,
    ResNet50,
    ResNet101,
    ResNet152,
)
from jaxssl.models.rnn import LSTMLanguageModel
from jaxssl.models.transformer import GPT, BertEncoder, EncoderBlock
from jaxssl.models.vit import ViT, ViTB, ViTS, ViTTi

# name -> constructor; keyword arguments of get_model go to the constructor.
MODELS: dict[str, Callable[..., nn.Module]] = {
    "resnet18": ResNet18,
    "resnet34": ResNet34,
    "resnet50": ResNet50,
    "resnet101": ResNet101,
    "resnet152": ResNet152,
    "small_cnn": SmallCNN,
    "vit_ti": ViTTi,
    "vit_s": ViTS,
    "vit_b": ViTB,
    "simclr_v1_head": SimCLRv1Head,
    "simclr_v2_head": SimCLRv2Head,
    "prediction_head": PredictionHead,
    "linear": LinearClassifier,
    "autoencoder": ConvAutoencoder,
    "vae": ConvVAE,
    "feature_decoder": FeatureDecoder,
    "dcgan_generator": DCGANGenerator,
    "dcgan_discriminator": DCGANDiscriminator,
    "bert": BertEncoder,
    "gpt": GPT,
    "lstm_lm": LSTMLanguageModel,
}


def get_model(name: str, **kwargs: Any) -> nn.Module:
    """Builds the model registered as ``name`` in :data:`MODELS` with ``kwargs``.

    Raises:
      ValueError: unknown ``name``; the message lists the known names.
      TypeError: a keyword the model does not have.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}.")
    return MODELS[name](**kwargs)


__all__ = [
    "GPT",
    "MODELS",
    "BasicBlock",
    "BertEncoder",
    "Bottleneck",
    "ConvAutoencoder",
    "ConvVAE",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "EncoderBlock",
    "FeatureDecoder",
    "LSTMLanguageModel",
    "LinearClassifier",
    "PredictionHead",
    "ProjectionHead",
    "ResNet",
    "ResNet18",
    "ResNet34",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "SimCLRv1Head",
    "SimCLRv2Head",
    "SmallCNN",
    "ViT",
    "ViTB",
    "ViTS",
    "ViTTi",
    "get_model",
]
