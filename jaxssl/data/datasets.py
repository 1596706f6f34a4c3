"""Datasets as TFDS data sources: two bundled real datasets, and any dataset a user prepared.

Nothing here downloads. The bundled datasets are built from files that
installed packages ship, with TFDS into ``array_record`` (no TensorFlow
needed), the first time they are asked for; later calls reuse them:

* ``digits``: scikit-learn's handwritten digits, 1,797 images of 8x8 with
  grey levels 0-16 stored as uint8 ``round(v * 255 / 16)``, 10 classes. The
  split is fixed and stratified: within each class, in the order scikit-learn
  ships them, every 5th image (positions 4, 9, ...) is ``test`` (355) and the
  rest ``train`` (1,442).
* ``pydoc_text``: the English text of Python's own documentation topics
  (``pydoc_data.topics``), one document per topic; topics in sorted order at
  positions divisible by 10 are ``test``, the rest ``train``.

``fashion_mnist`` and ``mnist`` are built the same way from their four idx
files (TFDS's feature names and splits, the image stored raw): Debian's
``dataset-fashion-mnist`` package installs Fashion-MNIST's, or
``config.idx_dir`` names a folder (:mod:`jaxssl.data.idx`).

Other names go to ``tfds.data_source``; a dataset that is not prepared, or
prepared as TFRecord only, raises an error carrying the exact ``tfds build``
command that prepares it in ``array_record``.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds

from jaxssl.data import folder

DIGITS_TEST_EVERY = 5
PYDOC_TEST_EVERY = 10


class _Bundled(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """A dataset built from files an installed package ships: nothing to download.

    Subclasses write ``_generate_examples(test)`` for the train (False) and test
    (True) splits.
    """

    VERSION = tfds.core.Version("1.0.0")

    def _split_generators(self, dl_manager):
        del dl_manager  # nothing to download
        return {"train": self._generate_examples(False), "test": self._generate_examples(True)}

    # TFDS prints "Downloading and preparing dataset ..." and "... downloaded
    # and prepared to <a private build folder>" around every build, which is
    # wrong here (nothing is downloaded, and build_bundled renames the folder
    # into place); these two methods are its only hook for those lines.
    def _log_download_bytes(self) -> None:
        print(f"jaxssl: building dataset {self.name} from local files (once; nothing downloaded)")

    def _log_download_done(self) -> None:
        pass


class Digits(_Bundled):
    """scikit-learn's bundled 8x8 handwritten digits (UCI optdigits test set)."""

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description="scikit-learn's handwritten digits, 8x8 grey images, 10 classes.",
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Tensor(shape=(8, 8, 1), dtype=np.uint8),
                    "label": tfds.features.ClassLabel(num_classes=10),
                }
            ),
            supervised_keys=("image", "label"),
        )

    def _generate_examples(self, test: bool):
        from sklearn.datasets import load_digits

        data = load_digits()
        images = np.round(data.images * 255.0 / 16.0).astype(np.uint8)[..., None]
        for label in range(10):
            for pos, index in enumerate(np.flatnonzero(data.target == label)):
                if (pos % DIGITS_TEST_EVERY == DIGITS_TEST_EVERY - 1) == test:
                    yield int(index), {"image": images[index], "label": label}


class PydocText(_Bundled):
    """The English text of Python's bundled documentation topics (``pydoc_data.topics``)."""

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description="Python's pydoc topics, one document per topic.",
            features=tfds.features.FeaturesDict(
                {"topic": tfds.features.Text(), "text": tfds.features.Text()}
            ),
        )

    def _generate_examples(self, test: bool):
        from pydoc_data.topics import topics

        for pos, topic in enumerate(sorted(topics)):
            if (pos % PYDOC_TEST_EVERY == 0) == test:
                yield topic, {"topic": topic, "text": topics[topic]}


BUNDLED = {"digits": Digits, "pydoc_text": PydocText}

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


class _Idx(_Bundled, skip_registration=True):
    """A 28x28 grey, 10-class dataset built from its four idx files (:mod:`jaxssl.data.idx`).

    The features are TFDS's own names (``image`` 28x28x1 uint8, ``label``
    with the class names) and its splits (``train``, ``test``), in the files'
    order; the image is stored raw (a Tensor feature, not PNG), so a random
    read decodes nothing.
    ``idx_dir`` is the folder of the files (None: Debian's, where it has one).
    """

    CLASS_NAMES: tuple[str, ...] = ()
    DESCRIPTION = ""

    def __init__(self, *, idx_dir: str | None = None, **kwargs):
        self._idx_dir = idx_dir
        super().__init__(**kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.DESCRIPTION,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Tensor(shape=(28, 28, 1), dtype=np.uint8),
                    "label": tfds.features.ClassLabel(names=list(self.CLASS_NAMES)),
                }
            ),
            supervised_keys=("image", "label"),
            disable_shuffling=True,  # record i is the files' example i
        )

    def _split_generators(self, dl_manager):
        from jaxssl.data import idx

        del dl_manager  # nothing to download
        files = idx.find(self._idx_dir, self.name)  # all four, before anything is written
        return {split: self._generate_examples(*paths) for split, paths in files.items()}

    def _generate_examples(self, images_path: str, labels_path: str):
        from jaxssl.data import idx

        images, labels = idx.read_idx(images_path, 3), idx.read_idx(labels_path, 1)
        if len(images) == 0:
            raise ValueError(f"{images_path!r} holds no images.")
        if images.shape[1:] != (28, 28):
            raise ValueError(f"{images_path!r} holds {images.shape[1:]} images, expected 28x28.")
        if len(images) != len(labels):
            raise ValueError(
                f"{images_path!r} has {len(images)} images but {labels_path!r} "
                f"{len(labels)} labels."
            )
        if labels.size and labels.max() >= len(self.CLASS_NAMES):
            raise ValueError(f"{labels_path!r} holds label {labels.max()}, expected 0-9.")
        for i in range(len(images)):
            yield i, {"image": images[i][..., None], "label": int(labels[i])}


class FashionMnist(_Idx, skip_registration=True):
    """Fashion-MNIST (Xiao et al., 2017): 60,000 train / 10,000 test clothing images."""

    CLASS_NAMES = FASHION_MNIST_CLASSES
    DESCRIPTION = "Zalando's Fashion-MNIST, 28x28 grey images of 10 kinds of clothing."


class Mnist(_Idx, skip_registration=True):
    """MNIST (LeCun et al., 1998): 60,000 train / 10,000 test handwritten digits."""

    CLASS_NAMES = tuple(str(d) for d in range(10))
    DESCRIPTION = "MNIST handwritten digits, 28x28 grey images, 10 classes."


# built from idx files on this machine (Debian's package, or config.idx_dir);
# not in TFDS's registry (skip_registration), where TFDS's own builders of
# these names stay
IDX_DATASETS = {"fashion_mnist": FashionMnist, "mnist": Mnist}
_BUILDERS = {**BUNDLED, **IDX_DATASETS}


def default_data_dir() -> str:
    """``$TFDS_DATA_DIR`` if set, else ``~/tensorflow_datasets`` (TFDS's default)."""
    return os.environ.get("TFDS_DATA_DIR", os.path.expanduser("~/tensorflow_datasets"))


def prepare_command(name: str, data_dir: str) -> str:
    """The shell command that prepares ``name`` in array_record under ``data_dir``."""
    return f"tfds build {name} --data_dir={data_dir} --file_format=array_record"


def build_bundled(
    name: str, data_dir: str | None = None, idx_dir: str | None = None
) -> tfds.core.DatasetBuilder:
    """Builds (first call) or opens a bundled or idx dataset; returns its TFDS builder.

    ``idx_dir``: the folder of an idx dataset's files (``fashion_mnist``,
    ``mnist``); None or '' for Debian's folder. Unused once it is built.

    Safe when several processes build into one ``data_dir`` at once (the
    processes of a multi-host run, or two runs sharing a data dir): each
    builds into a private temporary folder inside ``data_dir``, then renames
    the finished version folder into place. A rename that finds the version
    already there lost the race; the winner's files are the same, so the
    loser's are deleted. (TFDS's own ``download_and_prepare`` renames its
    ``incomplete.*`` folder into place too, but fails with FileExistsError
    when another process got there first.)
    """
    if name not in _BUILDERS:
        raise ValueError(f"name must be one of {sorted(_BUILDERS)}, got {name!r}.")
    data_dir = data_dir or default_data_dir()
    extra = {"idx_dir": idx_dir or None} if name in IDX_DATASETS else {}

    def builder_in(folder):
        return _BUILDERS[name](data_dir=folder, file_format="array_record", **extra)

    builder = builder_in(data_dir)
    if builder.is_prepared():
        return builder
    os.makedirs(data_dir, exist_ok=True)
    private = tempfile.mkdtemp(prefix=f".{name}-building-", dir=data_dir)
    try:
        mine = builder_in(private)
        mine.download_and_prepare()
        final = Path(builder.data_dir)  # data_dir/name/version
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(mine.data_dir, final)
        except OSError:  # another process renamed its copy first
            if not builder.is_prepared():
                raise
    finally:
        shutil.rmtree(private, ignore_errors=True)
    return builder_in(data_dir)


def data_source(
    name: str,
    split: str,
    data_dir: str | None = None,
    idx_dir: str | None = None,
    *,
    any_size: bool = False,
):
    """A random-access data source (``len``, ``[i]``) for ``split`` of dataset ``name``.

    Bundled names, and ``fashion_mnist`` and ``mnist`` (from the idx files in
    ``idx_dir``, see :mod:`jaxssl.data.idx`), are built on first use.
    ``folder:DIR`` is a folder of images (:func:`jaxssl.data.folder.folder_source`;
    ``any_size``: its images may differ in size, a transform resizes them).
    Any other name is read from ``data_dir`` through ``tfds.data_source``.

    Raises:
      FileNotFoundError: ``name`` is not prepared in ``data_dir``, or only as
        TFRecord; the message holds the ``tfds build`` command to run.
    """
    if name.startswith(folder.PREFIX):
        return folder.folder_source(name[len(folder.PREFIX) :], split, any_size=any_size)
    data_dir = data_dir or default_data_dir()
    if name in BUNDLED:
        return build_bundled(name, data_dir, idx_dir).as_data_source(split=split)
    if name in IDX_DATASETS:
        try:
            return build_bundled(name, data_dir, idx_dir).as_data_source(split=split)
        except FileNotFoundError:
            # no idx files: TFDS's own version of the name, if `tfds build` prepared it
            if _prepared_dir(name, data_dir) is None:
                raise
    try:
        # download=False: tfds.data_source would otherwise try to download
        # and prepare a missing dataset (and retry for minutes offline).
        return tfds.data_source(name, split=split, data_dir=data_dir, download=False, try_gcs=False)
    except Exception as first_error:  # TFDS raises many kinds; chained below
        # TFDS may fail to import a dataset's own builder code (an optional
        # dependency it lacks) even when the prepared files are there: read
        # the prepared files directly then.
        builder_dir = _prepared_dir(name, data_dir)
        base = name.split(":")[0].split("/")[0]
        known = tfds.list_builders(with_community_datasets=False)
        if builder_dir is None and base not in known:
            # `tfds build NAME` would fail too: say that, with the nearest name
            near = difflib.get_close_matches(base, [*known, *BUNDLED], n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise FileNotFoundError(
                f"dataset {name!r} is not prepared in {data_dir}, and TFDS has no dataset of "
                f"that name{hint}. config.dataset takes a TFDS name (tfds.list_builders()), "
                f"one prepared in data_dir, or a bundled one ({', '.join(sorted(BUNDLED))})."
            ) from first_error
        if builder_dir is None:
            raise FileNotFoundError(
                f"dataset {name!r} is not prepared in {data_dir}. Prepare it once with "
                f"TFDS's command-line tool, which needs TensorFlow (pip install tensorflow) "
                f"and a network:\n    {prepare_command(name, data_dir)}"
            ) from first_error
        builder = tfds.builder_from_directory(str(builder_dir))
        if builder.info.file_format != tfds.core.FileFormat.ARRAY_RECORD:
            raise FileNotFoundError(
                f"dataset {name!r} in {builder_dir} is stored as "
                f"{builder.info.file_format.value}, and random access needs array_record. "
                f"Prepare it again with:\n    {prepare_command(name, data_dir)}"
            ) from first_error
        return builder.as_data_source(split=split)


def _prepared_dir(name: str, data_dir: str) -> Path | None:
    """Newest ``data_dir/name/<version>`` holding a dataset_info.json, or None."""
    root = Path(data_dir, *name.split(":")[0].split("/"))
    found = [p.parent for p in root.glob("*/dataset_info.json")]
    return max(
        found, key=lambda p: tuple(int(v) for v in p.name.split(".") if v.isdigit()), default=None
    )


def class_names(source, label_key: str = "label") -> list[str] | None:
    """The names of ``source``'s ``label_key`` classes from its TFDS metadata; None without.

    TFDS's ClassLabel without names numbers them (``'0'``, ``'1'``, ...); those
    are returned as they are.
    """
    if isinstance(source, folder.ImageFolder):
        return list(source.classes) if source.labelled and label_key == "label" else None
    info = getattr(source, "dataset_info", None)
    try:
        return list(info.features[label_key].names)
    except (AttributeError, KeyError, TypeError):
        return None


def num_classes(source, label_key: str = "label") -> int:
    """The class count of ``source``'s ``label_key`` feature.

    From its TFDS metadata, or for an image folder its class folders.

    Raises:
      ValueError: the source has no such metadata (set ``config.num_classes``),
        or is an unlabelled image folder.
    """
    if isinstance(source, folder.ImageFolder):
        if not source.labelled:
            raise ValueError(
                f"the images of {str(source.root)!r} are unlabelled (no class folders): "
                "there are no classes to count."
            )
        return len(source.classes)
    info = getattr(source, "dataset_info", None)
    try:
        count = int(info.features[label_key].num_classes)
    except (AttributeError, KeyError, TypeError) as error:
        raise ValueError(
            f"cannot tell the number of classes of {label_key!r} from the dataset's "
            "metadata; set config.num_classes."
        ) from error
    if count < 1:
        raise ValueError(
            f"the dataset says {label_key!r} has {count} classes; set config.num_classes."
        )
    return count
