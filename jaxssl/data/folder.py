"""A folder of images, ``root/<class name>/*.png|jpg|jpeg``, as a random-access source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

EXTENSIONS = (".png", ".jpg", ".jpeg")

# PIL's modes of 16-bit grey samples ("I": how PIL reads a 16-bit grey PNG
# elsewhere). ``Image.convert("RGB")`` clips them to 0..255 instead of scaling
# (a 16-bit grey PNG comes out as 0/255), so they are scaled here by 255/65535
# before the conversion.
_WIDE_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})


def _hidden(path: Path) -> bool:
    """A name the file browser or a tool keeps to itself: ``.ipynb_checkpoints``, ``.DS_Store``."""
    return path.name.startswith(".")


def _to_rgb(img: Image.Image) -> Image.Image:
    """``img`` as 8-bit RGB; 16-bit grey scaled by 255/65535 rather than clipped."""
    if img.mode in _WIDE_MODES:
        wide = np.asarray(img, np.float64)
        grey = np.clip(np.round(wide * (255 / 65535)), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    return img.convert("RGB")


class ImageFolder:
    """Images under ``root/<class>/``, decoded and resized on the host.

    Classes are the sub-folder names in sorted order (label = position);
    files are sorted within each class, so the order is the same on every
    machine. Folders and files whose names start with ``.`` (a notebook's
    ``.ipynb_checkpoints``, ``.DS_Store``) are not read. ``source[i]`` is
    ``{"image": uint8 [size, size, 3], "label": int}``; 16-bit images are
    scaled to 8 bits, palette, grey and RGBA images become RGB.

    Args:
      root: the folder.
      size: side to resize every image to (bilinear), an int >= 1; ``None``
        keeps each image's size, which then must be the same for every image
        (batching stacks them): an image of another size is an error that
        names it.

    Raises:
      FileNotFoundError: ``root`` is not a folder, or holds no images.
      ValueError: ``size`` is not ``None`` or an int >= 1.
      OSError: (when read) an image cannot be decoded; the message names the
        file.
    """

    def __init__(self, root: str | Path, size: int | None = None):
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ValueError(f"size must be None or an int >= 1, got {size!r}.")
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"root must be a folder of class folders, got {str(root)!r}.")
        self.classes = sorted(p.name for p in self.root.iterdir() if p.is_dir() and not _hidden(p))
        self.files: list[tuple[Path, int]] = [
            (f, label)
            for label, name in enumerate(self.classes)
            for f in sorted((self.root / name).iterdir())
            if f.suffix.lower() in EXTENSIONS and not _hidden(f)
        ]
        if not self.files:
            raise FileNotFoundError(
                f"no {'/'.join(EXTENSIONS)} images in class folders under {str(root)!r} "
                "(expected root/<class name>/<image>)."
            )
        self.size = size
        # Without a size every image must match the first: its header (not
        # its pixels) is read here, so each later read can say which file
        # differs, where batching would only report mismatched shapes.
        self._shape = None if size is not None else self._open(0)[1]

    def __len__(self) -> int:
        return len(self.files)

    def _open(self, index: int) -> tuple[Path, tuple[int, int]]:
        """The file of ``index`` and its (height, width), from the header only."""
        path = self.files[index][0]
        try:
            with Image.open(path) as img:
                return path, (img.height, img.width)
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            raise OSError(f"cannot read image {str(path)!r}: {error}") from error

    def __getitem__(self, index: int) -> dict:
        path, label = self.files[index]
        try:
            with Image.open(path) as img:
                img = _to_rgb(img)
                if self.size is not None:
                    img = img.resize((self.size, self.size), Image.BILINEAR)
                image = np.asarray(img, np.uint8)
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            # PIL's messages ("image file is truncated") do not say which file.
            raise OSError(f"cannot decode image {str(path)!r}: {error}") from error
        if self._shape is not None and image.shape[:2] != self._shape:
            first = self.files[0][0]
            raise ValueError(
                f"image {str(path)!r} is {image.shape[0]}x{image.shape[1]}, but "
                f"{str(first)!r} is {self._shape[0]}x{self._shape[1]}: images of "
                "different sizes cannot be batched; set ImageFolder(size=...)."
            )
        return {"image": image, "label": np.int64(label)}

    def __repr__(self) -> str:
        return f"ImageFolder({str(self.root)!r}, {len(self.classes)} classes, {len(self)} images)"
