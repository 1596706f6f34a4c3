"""MNIST / Fashion-MNIST from their idx files: the format, the builders, the errors.

The files are written here, from the format's definition (two zero bytes,
type 0x08, the number of dimensions, big-endian int32 sizes, the bytes); the
suite needs neither the Debian package nor a network.
"""

import gzip
import struct

import numpy as np
import pytest

from jaxssl import data
from jaxssl.data import idx


def _write_idx(path, array, compress):
    array = np.asarray(array, np.uint8)
    blob = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    blob += array.tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        blob = gzip.compress(blob)
    path.write_bytes(blob)
    return path


def _idx_folder(folder, rng, n_train=6, n_test=4):
    """The four files, the training ones gzipped (as shipped), the test ones plain."""
    folder.mkdir()
    arrays = {}
    for split, n, compress in (("train", n_train, True), ("test", n_test, False)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        image_name, label_name = idx.FILES[split]
        _write_idx(folder / image_name, images, compress)
        _write_idx(folder / label_name, labels, compress)
        arrays[split] = (images, labels)
    return arrays


def test_fashion_mnist_from_idx_files_has_tfds_layout_and_every_example(tmp_path, rng, capsys):
    arrays = _idx_folder(tmp_path / "idx", rng)
    data_dir = str(tmp_path / "tfds")
    for split, (images, labels) in arrays.items():
        source = data.data_source("fashion_mnist", split, data_dir, str(tmp_path / "idx"))
        if split == "train":  # the build says what it does, not TFDS's "Downloading ..."
            out = capsys.readouterr().out
            assert "building dataset fashion_mnist from local files" in out
            assert "ownload" not in out.replace("nothing downloaded", "")
        assert len(source) == len(images)
        got = [source[i] for i in range(len(source))]
        np.testing.assert_array_equal(np.stack([r["image"] for r in got]), images[..., None])
        np.testing.assert_array_equal([r["label"] for r in got], labels)
    label = source.dataset_info.features["label"]
    assert label.names[0] == "T-shirt/top" and label.names[9] == "Ankle boot"
    assert data.num_classes(source) == 10
    # built once: the idx files are not read again
    for f in (tmp_path / "idx").iterdir():
        f.unlink()
    assert len(data.data_source("fashion_mnist", "test", data_dir)) == 4


def test_missing_and_damaged_idx_files_are_named(tmp_path, rng):
    folder = tmp_path / "idx"
    _idx_folder(folder, rng)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError) as err:
        data.data_source("fashion_mnist", "train", str(tmp_path / "a"), str(folder))
    message = str(err.value)
    assert "t10k-labels-idx1-ubyte is missing in" in message
    assert "apt-get install dataset-fashion-mnist" in message and "--config.idx_dir" in message
    assert "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte" in message
    # MNIST has no Debian package: the key alone
    with pytest.raises(FileNotFoundError, match=r"\(no folder given\)\. Set --config\.idx_dir=DIR"):
        data.data_source("mnist", "train", str(tmp_path / "b"))
    assert not (tmp_path / "a" / "fashion_mnist").exists()  # nothing half-built left

    empty = tmp_path / "empty"
    _idx_folder(empty, rng, n_test=0)
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte' holds no images"):
        data.data_source("fashion_mnist", "test", str(tmp_path / "c"), str(empty))

    bad = folder / "bad"
    bad.write_bytes(b"\x00\x00\x0d\x03" + bytes(8))  # type 0x0d: floats
    with pytest.raises(ValueError, match=r"'.*bad' is not an idx file of unsigned bytes"):
        idx.read_idx(bad, 3)
    short = _write_idx(folder / "short", np.zeros((2, 28, 28)), compress=False)
    short.write_bytes(short.read_bytes()[:-5])
    with pytest.raises(ValueError, match=r"'.*short' has 1579 bytes, but its header says"):
        idx.read_idx(short, 3)
    assert idx.read_idx(_write_idx(folder / "ok", np.arange(6).reshape(2, 3), True), 2).shape == (
        2,
        3,
    )


def test_the_run_config_key_idx_dir_reaches_the_builder(tmp_path, rng):
    from jaxssl.train.config import default_config
    from jaxssl.train.loop import _open_split

    _idx_folder(tmp_path / "idx", rng, n_train=3)
    config = default_config()
    config.dataset, config.idx_dir = "fashion_mnist", str(tmp_path / "idx")
    assert len(_open_split(config, "train_split", str(tmp_path / "tfds"))) == 3
