"""A folder of images, ``root/<class name>/*.png|jpg|jpeg``, as a random-access source."""

from __future__ import annotations

import copy
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


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in EXTENSIONS and not _hidden(path)


def _to_rgb(img: Image.Image) -> Image.Image:
    """``img`` as 8-bit RGB; 16-bit grey scaled by 255/65535 rather than clipped."""
    if img.mode in _WIDE_MODES:
        wide = np.asarray(img, np.float64)
        grey = np.clip(np.round(wide * (255 / 65535)), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    return img.convert("RGB")


class ImageFolder:
    """Images under ``root/<class>/`` (or right in ``root``, unlabelled), decoded on the host.

    Classes are the sub-folder names in sorted order (label = position);
    files are sorted within each class, so the order is the same on every
    machine. A folder with images and no class folders is unlabelled: every
    label is -1 and :attr:`labelled` is False (for pretraining; nothing to
    score against). Folders and files whose names start with ``.`` (a
    notebook's ``.ipynb_checkpoints``, ``.DS_Store``) are not read.
    ``source[i]`` is ``{"image": uint8 [H, W, 3], "label": int}``; 16-bit
    images are scaled to 8 bits, palette, grey and RGBA images become RGB.

    Args:
      root: the folder.
      size: side to resize every image to (bilinear), an int >= 1; ``None``
        keeps each image's size, which then must be the same for every image
        (batching stacks them): an image of another size is an error that
        names it.
      any_size: with ``size=None``, return each image at its own size
        without that check, for a transform that resizes them afterwards
        (train.py's ``config.load_size``).

    Raises:
      FileNotFoundError: ``root`` is not a folder, or holds no images.
      ValueError: ``size`` is not ``None`` or an int >= 1.
      OSError: (when read) an image cannot be decoded; the message names the
        file.
    """

    def __init__(self, root: str | Path, size: int | None = None, *, any_size: bool = False):
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
            if _is_image(f)
        ]
        if not self.files:  # no class folders with images: the images of root, unlabelled
            self.classes = []
            self.files = [(f, -1) for f in sorted(self.root.iterdir()) if _is_image(f)]
        if not self.files:
            raise FileNotFoundError(
                f"no {'/'.join(EXTENSIONS)} images under {str(root)!r} (expected "
                "root/<class name>/<image>, or root/<image> for unlabelled images)."
            )
        self.size = size
        # Without a size every image must match the first: its header (not
        # its pixels) is read here, so each later read can say which file
        # differs, where batching would only report mismatched shapes.
        self._first = self.files[0][0]
        self._shape = None if size is not None or any_size else self._open(0)[1]

    @property
    def labelled(self) -> bool:
        """Whether the images sit in class folders (labels 0..C-1) rather than unlabelled."""
        return bool(self.classes)

    def subset(self, indices) -> ImageFolder:
        """The same folder restricted to the images at ``indices`` (in that order)."""
        part = copy.copy(self)
        part.files = [self.files[int(i)] for i in indices]
        return part

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
            first = self._first
            raise ValueError(
                f"image {str(path)!r} is {image.shape[0]}x{image.shape[1]}, but "
                f"{str(first)!r} is {self._shape[0]}x{self._shape[1]}: images of "
                "different sizes cannot be batched; resize them with ImageFolder(size=...), "
                "or with config.load_size in train.py."
            )
        return {"image": image, "label": np.int64(label)}

    def __repr__(self) -> str:
        kind = f"{len(self.classes)} classes" if self.labelled else "unlabelled"
        return f"ImageFolder({str(self.root)!r}, {kind}, {len(self)} images)"


# config.dataset = "folder:DIR" (train.py): a user's folder as a dataset
PREFIX = "folder:"
SPLITS = ("train", "test")
# without train/ and test/ folders, this stratified fraction of every class
# (drawn with SPLIT_SEED, so the same on every run and machine) is `test`
TEST_FRACTION = 0.2
SPLIT_SEED = 0


def folder_source(root: str | Path, split: str, *, any_size: bool = False) -> ImageFolder:
    """The ``split`` of a folder dataset: ``config.dataset = "folder:ROOT"``.

    Layouts:

    * ``ROOT/train/<class>/`` and ``ROOT/test/<class>/``: the two splits as
      they are (both must have the same class folders);
    * ``ROOT/<class>/`` (or ``ROOT/train/<class>/`` without a ``test``
      folder): one folder of classes, split here: within each
      class, a seeded random :data:`TEST_FRACTION` is ``test`` and the rest
      ``train``, the same on every run (classes with one image go to
      ``train``);
    * ``ROOT/<image>``: unlabelled images (no class folders) for pretraining;
      split like the previous case, but not stratified.

    Args:
      root: the folder.
      split: ``'train'`` or ``'test'``.
      any_size: images of any size (a transform resizes them: ``load_size``).

    Raises:
      FileNotFoundError: ``root`` is not a folder or holds no images.
      ValueError: ``split`` is not one of :data:`SPLITS`, or the train and
        test folders have different classes.
    """
    root = Path(root)
    if split not in SPLITS:
        raise ValueError(
            f"Unknown split {split!r} of folder {str(root)!r}. Should be one of {list(SPLITS)}."
        )
    if not root.is_dir():
        raise FileNotFoundError(f"folder dataset {str(root)!r} is not a folder.")
    if (root / "train").is_dir() and (root / "test").is_dir():
        train, test = (ImageFolder(root / s, any_size=any_size) for s in SPLITS)
        if train.classes != test.classes:
            raise ValueError(
                f"the class folders of {str(root / 'train')!r} ({', '.join(train.classes)}) and "
                f"{str(root / 'test')!r} ({', '.join(test.classes)}) differ: labels are "
                "positions in the sorted class names, so both must have the same ones."
            )
        return train if split == "train" else test
    if (root / "train").is_dir():  # train/ alone: split it as one folder
        root = root / "train"
    whole = ImageFolder(root, any_size=any_size)
    labels = np.array([label for _, label in whole.files])
    test = _test_positions(labels, whole.labelled)
    keep = np.isin(np.arange(len(labels)), test) == (split == "test")
    return whole.subset(np.flatnonzero(keep))


def _test_positions(labels: np.ndarray, stratified: bool) -> np.ndarray:
    """A seeded :data:`TEST_FRACTION` of the positions; per class when ``stratified``.

    Not scikit-learn's ``train_test_split(stratify=...)``: it refuses a class
    of one image, and rounds the test size over all classes, not per class.
    """
    rng = np.random.default_rng(SPLIT_SEED)
    groups = (
        [np.flatnonzero(labels == c) for c in np.unique(labels)]
        if stratified
        else [np.arange(len(labels))]
    )
    chosen = [
        rng.permutation(group)[: round(TEST_FRACTION * len(group))]
        for group in groups
        if len(group) > 1
    ]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)
