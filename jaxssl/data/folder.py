"""A folder of images, ``root/<class name>/*.png|jpg|jpeg``, as a random-access source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

EXTENSIONS = (".png", ".jpg", ".jpeg")


class ImageFolder:
    """Images under ``root/<class>/``, decoded and resized on the host.

    Classes are the sub-folder names in sorted order (label = position);
    files are sorted within each class, so the order is the same on every
    machine. ``source[i]`` is ``{"image": uint8 [size, size, 3], "label": int}``.

    Args:
      root: the folder.
      size: side to resize every image to (bilinear); ``None`` keeps each
        image's size, which then must agree for batching.
    """

    def __init__(self, root: str | Path, size: int | None = None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"root must be a folder of class folders, got {str(root)!r}.")
        self.classes = sorted(p.name for p in self.root.iterdir() if p.is_dir())
        self.files: list[tuple[Path, int]] = [
            (f, label)
            for label, name in enumerate(self.classes)
            for f in sorted((self.root / name).iterdir())
            if f.suffix.lower() in EXTENSIONS
        ]
        if not self.files:
            raise FileNotFoundError(
                f"no {'/'.join(EXTENSIONS)} images in class folders under {str(root)!r} "
                "(expected root/<class name>/<image>)."
            )
        self.size = size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict:
        path, label = self.files[index]
        with Image.open(path) as img:
            img = img.convert("RGB")
            if self.size is not None:
                img = img.resize((self.size, self.size), Image.BILINEAR)
            return {"image": np.asarray(img, np.uint8), "label": np.int64(label)}

    def __repr__(self) -> str:
        return f"ImageFolder({str(self.root)!r}, {len(self.classes)} classes, {len(self)} images)"
