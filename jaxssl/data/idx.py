"""The idx files of MNIST and Fashion-MNIST: read, checked, found in a folder.

The format (LeCun et al., http://yann.lecun.com/exdb/mnist/): two zero bytes,
a type byte (0x08: unsigned bytes), the number of dimensions, each dimension
as a big-endian 32-bit integer, then the values in C order. Files may be
gzip-compressed (``NAME.gz``), as both datasets ship and as Debian's
``dataset-fashion-mnist`` installs them in ``/usr/share/datasets/fashion-mnist``.
Written by hand: no installed library reads idx without downloading.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

# split -> (images, labels), without ".gz"
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# where Debian's dataset-fashion-mnist puts the four files (apt-get install dataset-fashion-mnist)
DEBIAN_DIRS = {"fashion_mnist": "/usr/share/datasets/fashion-mnist"}
DEBIAN_PACKAGES = {"fashion_mnist": "dataset-fashion-mnist"}


def read_idx(path: str | Path, ndim: int) -> np.ndarray:
    """The uint8 array of the idx file at ``path`` (gzip or plain), of ``ndim`` dimensions.

    Raises:
      ValueError: not an idx file of unsigned bytes with ``ndim``
        dimensions, or of another length than its header says; names the file.
    """
    path = str(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as error:  # a cut-off or corrupt gzip stream
        raise ValueError(f"cannot read idx file {path!r}: {error}") from error
    head = 4 + 4 * ndim
    if len(data) < 4 or data[:3] != b"\x00\x00\x08" or data[3] != ndim or len(data) < head:
        raise ValueError(
            f"{path!r} is not an idx file of unsigned bytes with {ndim} dimensions "
            f"(its first bytes are {data[:4].hex() or 'missing'}, expected 000008{ndim:02x})."
        )
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    want = head + int(np.prod(shape))
    if len(data) != want:
        raise ValueError(
            f"{path!r} has {len(data)} bytes, but its header says {shape} values "
            f"({want} bytes in all): the file is cut off or damaged."
        )
    return np.frombuffer(data, np.uint8, offset=head).reshape(shape)


def find(directory: str | None, dataset: str) -> dict[str, tuple[str, str]]:
    """``split -> (images file, labels file)`` in ``directory`` (``NAME`` or ``NAME.gz``).

    ``directory`` None or empty: Debian's folder for ``dataset``, if it has one.

    Raises:
      FileNotFoundError: a file is missing; the message names the four
        files, ``config.idx_dir`` and the Debian package where there is one.
    """
    folder = directory or DEBIAN_DIRS.get(dataset)
    found, missing = {}, []
    for split, names in FILES.items():
        paths = []
        for name in names:
            candidates = [os.path.join(folder, n) for n in (name, name + ".gz")] if folder else []
            path = next((p for p in candidates if os.path.isfile(p)), None)
            if path is None:
                missing.append(name)
            paths.append(path)
        found[split] = tuple(paths)
    if missing:
        package = DEBIAN_PACKAGES.get(dataset)
        where = f"in {folder!r}" if folder else "(no folder given)"
        way = "Set --config.idx_dir=DIR to a folder holding them."
        if package:
            way = (
                f"`apt-get install {package}` puts them in {DEBIAN_DIRS[dataset]}, the "
                "default; or set --config.idx_dir=DIR to a folder holding them."
            )
        all_names = ", ".join(n for names in FILES.values() for n in names)
        raise FileNotFoundError(
            f"dataset {dataset!r} is built from its four idx files ({all_names}; plain or .gz), "
            f"and {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing {where}. "
            f"{way}"
        )
    return found
