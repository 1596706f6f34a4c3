"""Pure loss functions for self-supervised learning.

Arrays are positional, hyperparameters keyword-only. Every loss returns a
float32 scalar by default (float64 for float64 inputs); ``reduction='none'``
gives per-example values. Losses that depend on other examples of the batch
take ``axis_name`` for ``pmap``/``shard_map``; see
:mod:`jaxssl.losses.contrastive` for the exact gradient recipe across devices.
"""

from jaxssl.losses.classification import (
    masked_lm_loss,
    sigmoid_binary_cross_entropy,
    softmax_cross_entropy,
)
from jaxssl.losses.contrastive import contrastive_accuracy, info_nce, nt_xent, sup_con
from jaxssl.losses.generative import (
    gan_discriminator_loss,
    gan_generator_loss,
    gaussian_kl,
    reconstruction_loss,
    vae_elbo,
)
from jaxssl.losses.metric import batch_triplet, triplet_margin
from jaxssl.losses.multimodal import clip_loss, siglip_loss
from jaxssl.losses.redundancy import barlow_twins, vicreg
from jaxssl.losses.similarity import byol_loss, cosine_similarity_loss

__all__ = [
    "barlow_twins",
    "batch_triplet",
    "byol_loss",
    "clip_loss",
    "contrastive_accuracy",
    "cosine_similarity_loss",
    "gan_discriminator_loss",
    "gan_generator_loss",
    "gaussian_kl",
    "info_nce",
    "masked_lm_loss",
    "nt_xent",
    "reconstruction_loss",
    "siglip_loss",
    "sigmoid_binary_cross_entropy",
    "softmax_cross_entropy",
    "sup_con",
    "triplet_margin",
    "vae_elbo",
    "vicreg",
]
