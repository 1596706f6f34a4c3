"""Data: TFDS sources, image folders, Grain loading, on-device augmentation, text masking.

Sources are the bundled digits and pydoc text or datasets a user prepared with
TFDS. Nothing here downloads.

:mod:`~jaxssl.data.augment` and :mod:`~jaxssl.data.text` (what methods use on
device) load with the package; the rest (TFDS, Grain, PIL) loads when first
named, so importing :mod:`jaxssl.methods` does not pull in the input pipeline.
"""

import importlib

from jaxssl.data import augment, text

# name -> the submodule that defines it, imported on first use (PEP 562)
_LAZY = {
    "BUNDLED": "datasets",
    "build_bundled": "datasets",
    "class_names": "datasets",
    "data_source": "datasets",
    "num_classes": "datasets",
    "prepare_command": "datasets",
    "ImageFolder": "folder",
    "make_loader": "loader",
    "to_global_batch": "loader",
    "Subset": "subsets",
    "check_labels": "subsets",
    "label_fraction": "subsets",
    "labels_of": "subsets",
}


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f"jaxssl.data.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'jaxssl.data' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])


__all__ = [
    "BUNDLED",
    "ImageFolder",
    "Subset",
    "augment",
    "build_bundled",
    "check_labels",
    "class_names",
    "data_source",
    "label_fraction",
    "labels_of",
    "make_loader",
    "num_classes",
    "prepare_command",
    "text",
    "to_global_batch",
]
