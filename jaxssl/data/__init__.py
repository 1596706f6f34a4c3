"""Data: TFDS sources, image folders, Grain loading, on-device augmentation, text masking.

Sources are the bundled digits and pydoc text or datasets a user prepared with
TFDS. Nothing here downloads.
"""

from jaxssl.data import augment, text
from jaxssl.data.datasets import BUNDLED, build_bundled, data_source, prepare_command
from jaxssl.data.folder import ImageFolder
from jaxssl.data.loader import make_loader, to_global_batch

__all__ = [
    "BUNDLED",
    "ImageFolder",
    "augment",
    "build_bundled",
    "data_source",
    "make_loader",
    "prepare_command",
    "text",
    "to_global_batch",
]
