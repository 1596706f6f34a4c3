"""Data: TFDS sources, image folders, Grain loading, on-device augmentation, text masking.

Sources are the bundled digits and pydoc text or datasets a user prepared with
TFDS. Nothing here downloads.
"""

from jaxssl.data import augment, text
from jaxssl.data.datasets import BUNDLED, build_bundled, data_source, num_classes, prepare_command
from jaxssl.data.folder import ImageFolder
from jaxssl.data.loader import make_loader, to_global_batch
from jaxssl.data.subsets import Subset, label_fraction, labels_of

__all__ = [
    "BUNDLED",
    "ImageFolder",
    "Subset",
    "augment",
    "build_bundled",
    "data_source",
    "label_fraction",
    "labels_of",
    "make_loader",
    "num_classes",
    "prepare_command",
    "text",
    "to_global_batch",
]
