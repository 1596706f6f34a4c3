"""Self-supervised methods: each an object with ``init``, ``loss_fn`` and ``features``.

Two-view methods (:mod:`~jaxssl.methods.base`): SimCLR, MoCo v2, BYOL,
SimSiam, Barlow Twins, VICReg and triplet pretraining; rotation prediction
(RotNet), jigsaw puzzles, context-encoder inpainting, SimCLR + rotation
multi-task; and the supervised :class:`Classifier` (fine-tuning, linear
evaluation, the supervised baseline). Generative (:mod:`~jaxssl.methods.generative`,
:mod:`~jaxssl.methods.gan`): the autoencoder, the VAE and DCGAN. Language
(:mod:`~jaxssl.methods.language`): masked LM and next-token LM.

The contract and the optional capabilities (``post_update``, ``update`` +
``optimizer``, ``features``, ``logits``, held-out terms, pictures,
``init_from_keys``) are the protocols of :mod:`jaxssl.methods.protocol`;
:mod:`jaxssl.methods.registry` lists every method with its config sections
(:mod:`jaxssl.methods.sections`) and its builder; :func:`build` makes the one
a run's config names. Nothing here imports :mod:`jaxssl.train`.
"""

from __future__ import annotations

from jaxssl.methods import protocol
from jaxssl.methods.base import EncoderWithHead, TwoViewMethod
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
from jaxssl.methods.registry import AUGMENTS, PRETRAINING, build, build_augment
from jaxssl.methods.rotation import Rotation
from jaxssl.methods.simclr import SimCLR
from jaxssl.methods.simsiam import SimSiam
from jaxssl.methods.triplet import Triplet

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
    "Inpainting",
    "Jigsaw",
    "MaskedLM",
    "MoCo",
    "MultiTask",
    "Rotation",
    "SimCLR",
    "SimSiam",
    "Triplet",
    "TwoViewMethod",
    "VICReg",
    "build",
    "build_augment",
    "protocol",
]
