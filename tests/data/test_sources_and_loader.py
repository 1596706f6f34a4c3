"""Bundled TFDS datasets, user TFDS datasets, image folders, the Grain loader, global batches."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds
from jax.sharding import AxisType
from jax.sharding import PartitionSpec as P
from PIL import Image

from jaxssl import data


def _all(source):
    return [source[i] for i in range(len(source))]


def test_digits_sizes_and_stratified_split(data_dir):
    from sklearn.datasets import load_digits

    train = data.data_source("digits", "train", data_dir)
    test = data.data_source("digits", "test", data_dir)
    assert (len(train), len(test)) == (1442, 355)
    assert len(train) + len(test) == 1797
    test_labels = np.array([r["label"] for r in _all(test)])
    class_sizes = np.bincount(load_digits().target, minlength=10)
    np.testing.assert_array_equal(np.bincount(test_labels, minlength=10), class_sizes // 5)
    record = train[0]
    assert record["image"].shape == (8, 8, 1) and record["image"].dtype == np.uint8
    assert record["image"].max() <= 255
    # every image of the 1,797 appears once across the splits (grey levels 0..16 -> 0..255)
    ref = np.round(load_digits().images * 255 / 16).astype(np.uint8)
    seen = {r["image"].tobytes() for r in _all(train) + _all(test)}
    assert seen == {img[..., None].tobytes() for img in ref}


def test_pydoc_text_documents_and_split(data_dir):
    from pydoc_data.topics import topics

    train = data.data_source("pydoc_text", "train", data_dir)
    test = data.data_source("pydoc_text", "test", data_dir)
    assert len(train) + len(test) == len(topics)
    assert len(test) == len(range(0, len(topics), 10))
    texts = [r["text"].decode() for r in _all(train) + _all(test)]
    assert sum(map(len, texts)) == sum(map(len, topics.values()))
    assert sum(map(len, texts)) > 400_000


def test_bundled_datasets_rebuild_identically(data_dir, tmp_path):
    for name in data.BUNDLED:
        for split in ("train", "test"):
            a = _all(data.data_source(name, split, data_dir))
            b = _all(data.data_source(name, split, str(tmp_path)))
            assert len(a) == len(b)
            for x, y in zip(a, b, strict=True):
                assert x.keys() == y.keys()
                for k in x:
                    np.testing.assert_array_equal(x[k], y[k])


def test_two_builds_into_one_fresh_data_dir_both_succeed(tmp_path, monkeypatch):
    """Two processes of a run (or two runs) building the digits at once: both open them.

    Each build waits, once finished, for the other's: the two then put their
    copies in place at the same moment, the race TFDS's own rename loses.
    """
    from jaxssl.data import datasets

    barrier = threading.Barrier(2)
    built = datasets.Digits.download_and_prepare

    def build_then_wait(self, *args, **kwargs):
        built(self, *args, **kwargs)
        barrier.wait(timeout=120)

    monkeypatch.setattr(datasets.Digits, "download_and_prepare", build_then_wait)
    sizes, errors = [], []

    def build():
        try:
            sizes.append(
                len(datasets.build_bundled("digits", str(tmp_path)).as_data_source("train"))
            )
        except Exception as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sizes == [1442, 1442]
    assert os.listdir(tmp_path) == ["digits"]  # no private build folder left behind


def test_user_tfds_dataset_through_mock_data():
    with tfds.testing.mock_data(num_examples=12):
        source = data.data_source("cifar10", "train")
        assert len(source) == 12
        batch = next(iter(data.make_loader(source, batch_size=4, seed=0)))
    assert batch["image"].shape == (4, 32, 32, 3)


def test_missing_dataset_error_prints_the_prepare_command(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        data.data_source("cifar10", "train", str(tmp_path))
    assert f"tfds build cifar10 --data_dir={tmp_path} --file_format=array_record" in str(err.value)
    assert "needs TensorFlow (pip install tensorflow) and a network" in str(err.value)


def test_image_folder(tmp_path):
    rng = np.random.default_rng(0)
    for cls, n in [("cat", 3), ("dog", 2)]:
        (tmp_path / cls).mkdir()
        for i in range(n):
            arr = rng.integers(0, 256, (10 + i, 12, 3), dtype=np.uint8)
            Image.fromarray(arr).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    folder = data.ImageFolder(tmp_path, size=8)
    assert folder.classes == ["cat", "dog"] and len(folder) == 5
    assert [folder[i]["label"] for i in range(5)] == [0, 0, 0, 1, 1]
    assert folder[4]["image"].shape == (8, 8, 3) and folder[4]["image"].dtype == np.uint8
    exact = data.ImageFolder(tmp_path)[0]["image"]
    np.testing.assert_array_equal(exact, np.asarray(Image.open(tmp_path / "cat" / "0.png")))
    # a folder of images and no class folders: unlabelled
    loose = data.ImageFolder(tmp_path / "cat", any_size=True)
    assert not loose.labelled and loose.classes == [] and len(loose) == 3
    assert [loose[i]["label"] for i in range(3)] == [-1, -1, -1]
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no \.png/\.jpg/\.jpeg images"):
        data.ImageFolder(tmp_path / "empty")


def _pngs(folder, counts, rng, sizes=((6, 6),)):
    """``counts[name]`` PNGs in ``folder/name`` ('' for folder itself), sizes in turn."""
    for name, n in counts.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            h, w = sizes[i % len(sizes)]
            image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            Image.fromarray(image).save(folder / name / f"{i:03d}.png")


def test_folder_datasets_in_each_layout(tmp_path, rng):
    # DIR/train/<class>, DIR/test/<class>: the splits as they are
    _pngs(tmp_path / "split", {"train/a": 3, "train/b": 2, "test/a": 1, "test/b": 1}, rng)
    name = f"folder:{tmp_path / 'split'}"
    train, test = (data.data_source(name, s) for s in ("train", "test"))
    assert (len(train), len(test)) == (5, 2)
    assert data.num_classes(train) == 2 and data.class_names(test) == ["a", "b"]
    with pytest.raises(ValueError, match=r"Unknown split 'validation' .* \['train', 'test'\]"):
        data.data_source(name, "validation")
    _pngs(tmp_path / "split", {"test/c": 1}, rng)
    with pytest.raises(
        ValueError, match=r"class folders of .*train' \(a, b\) and .*test' \(a, b, c\)"
    ):
        data.data_source(name, "train")

    # DIR/<class>: 20% of each class is test, the same every time, disjoint from train
    _pngs(tmp_path / "one", {"a": 10, "b": 5, "c": 1}, rng)
    name = f"folder:{tmp_path / 'one'}"
    train, test = (data.data_source(name, s) for s in ("train", "test"))
    files = lambda src: [str(f) for f, _ in src.files]  # noqa: E731
    assert sorted(files(train) + files(test)) == sorted(files(data.ImageFolder(tmp_path / "one")))
    assert sorted(test[i]["label"] for i in range(len(test))) == [
        0,
        0,
        1,
    ]  # 2 of 10, 1 of 5, c none
    assert files(data.data_source(name, "test")) == files(test)
    assert data.class_names(train) == ["a", "b", "c"]
    _pngs(tmp_path / "only", {"train/a": 5, "train/b": 5}, rng)  # train/ alone: split it
    only = data.data_source(f"folder:{tmp_path / 'only'}", "test")
    assert data.class_names(only) == ["a", "b"] and len(only) == 2

    # DIR/<image>: unlabelled, split 80/20; no classes to count
    _pngs(tmp_path / "loose", {"": 10}, rng, sizes=((6, 6), (9, 7)))
    name = f"folder:{tmp_path / 'loose'}"
    strict = data.data_source(name, "train")
    with pytest.raises(ValueError, match=r"is 9x7, but '.*loose/000\.png' is 6x6.*load_size"):
        [strict[i] for i in range(len(strict))]
    train = data.data_source(name, "train", any_size=True)  # load_size resizes them later
    assert len(train) == 8 and not train.labelled and data.class_names(train) is None
    assert {train[i]["image"].shape for i in range(8)} == {(6, 6, 3), (9, 7, 3)}
    with pytest.raises(ValueError, match=r"unlabelled \(no class folders\)"):
        data.num_classes(train)
    with pytest.raises(FileNotFoundError, match=r"'.*nowhere' is not a folder"):
        data.data_source(f"folder:{tmp_path / 'nowhere'}", "train")


def test_image_folder_scales_16_bit_skips_hidden_and_names_the_bad_file(tmp_path):
    (tmp_path / "grey").mkdir()
    wide = (np.arange(12).reshape(3, 4) * 5000).astype(np.uint16)  # 0 .. 55000 of 65535
    Image.fromarray(wide).save(tmp_path / "grey" / "a.png")
    assert Image.open(tmp_path / "grey" / "a.png").mode == "I;16"  # what PIL reads it as
    (tmp_path / ".ipynb_checkpoints").mkdir()  # a notebook's folder: not a class
    Image.fromarray(np.zeros((3, 4), np.uint8)).save(tmp_path / ".ipynb_checkpoints" / "b.png")
    Image.fromarray(np.zeros((3, 4), np.uint8)).save(tmp_path / "grey" / ".hidden.png")
    folder = data.ImageFolder(tmp_path)
    assert folder.classes == ["grey"] and len(folder) == 1
    image = folder[0]["image"]
    # each 16-bit value v becomes round(v * 255 / 65535) on all three channels
    expected = np.round(wide.astype(np.float64) * 255 / 65535).astype(np.uint8)
    np.testing.assert_array_equal(image, np.repeat(expected[..., None], 3, axis=-1))

    Image.fromarray(np.zeros((5, 4), np.uint8)).save(tmp_path / "grey" / "b.png")
    with pytest.raises(ValueError, match=r"b\.png' is 5x4, but .*a\.png' is 3x4.*size=\.\.\."):
        data.ImageFolder(tmp_path)[1]
    assert data.ImageFolder(tmp_path, size=6)[1]["image"].shape == (6, 6, 3)

    png = (tmp_path / "grey" / "b.png").read_bytes()
    (tmp_path / "grey" / "b.png").write_bytes(png[: len(png) // 2])  # truncated
    with pytest.raises(OSError, match=r"cannot decode image '.*grey/b\.png'"):
        data.ImageFolder(tmp_path, size=6)[1]


class _Range:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.int64(i) * 10}


def _order(loader):
    return np.concatenate([b["index"] for b in loader])


def test_loader_order_is_a_function_of_the_seed():
    src = _Range(100)
    a, b = (
        _order(data.make_loader(src, batch_size=10, seed=1)),
        _order(data.make_loader(src, batch_size=10, seed=1)),
    )
    c = _order(data.make_loader(src, batch_size=10, seed=2))
    np.testing.assert_array_equal(a, b)
    assert sorted(a) == list(range(100)) and not np.array_equal(a, c)
    batch = next(iter(data.make_loader(src, batch_size=10, seed=1)))
    np.testing.assert_array_equal(batch["x"], batch["index"] * 10)


def test_start_batch_continues_where_that_many_batches_left_off():
    src = _Range(50)  # 5 batches of 10 an epoch: 12 batches cross two epoch boundaries
    full = data.make_loader(src, batch_size=10, seed=3, num_epochs=None)
    it = iter(full)
    want = [next(it)["index"] for _ in range(12)]
    for start in (0, 4, 5, 7):
        later = iter(
            data.make_loader(src, batch_size=10, seed=3, num_epochs=None, start_batch=start)
        )
        got = [next(later)["index"] for _ in range(12 - start)]
        np.testing.assert_array_equal(np.stack(got), np.stack(want[start:]))
    with pytest.raises(ValueError, match=r"start_batch must be an int >= 0, got -1"):
        data.make_loader(src, batch_size=10, start_batch=-1)


def test_process_shards_are_slices_of_one_global_order():
    src = _Range(100)  # 6 global batches of 16 an epoch, 4 examples left over
    one = iter(data.make_loader(src, batch_size=16, seed=3, num_epochs=None))
    want = [next(one)["index"] for _ in range(9)]  # crosses an epoch boundary
    for count in (2, 4):
        shards = [
            iter(
                data.make_loader(
                    src, batch_size=16 // count, seed=3, num_epochs=None, shard=(i, count)
                )
            )
            for i in range(count)
        ]
        got = [np.concatenate([next(it)["index"] for it in shards]) for _ in range(9)]
        np.testing.assert_array_equal(np.stack(got), np.stack(want))
        # a shard resumed at batch 7 continues its own slice of global batch 7
        later = data.make_loader(
            src, batch_size=16 // count, seed=3, num_epochs=None, shard=(1, count), start_batch=7
        )
        np.testing.assert_array_equal(
            next(iter(later))["index"], want[7][16 // count : 32 // count]
        )
    # one epoch: the shards are disjoint and cover the complete global batches
    epoch = [
        set(_order(data.make_loader(src, batch_size=4, seed=3, shard=(i, 4)))) for i in range(4)
    ]
    assert all(len(s) == 24 for s in epoch) and len(set().union(*epoch)) == 96
    with pytest.raises(ValueError, match=r"shard=\(0, 2\) needs drop_remainder=True"):
        data.make_loader(src, batch_size=4, shard=(0, 2), drop_remainder=False)


def test_drop_remainder():
    src = _Range(25)
    sizes = [len(b["index"]) for b in data.make_loader(src, batch_size=10, seed=0)]
    assert sizes == [10, 10]
    sizes = [
        len(b["index"]) for b in data.make_loader(src, batch_size=10, seed=0, drop_remainder=False)
    ]
    assert sizes == [10, 10, 5]


def test_saved_iterator_state_resumes_exactly():
    src = _Range(64)
    loader = data.make_loader(src, batch_size=8, seed=7, num_epochs=2)
    uninterrupted = [b["index"] for b in loader]
    it = iter(loader)
    first = [next(it)["index"] for _ in range(5)]
    state = it.get_state()
    resumed = iter(data.make_loader(src, batch_size=8, seed=7, num_epochs=2))
    resumed.set_state(state)
    rest = [b["index"] for b in resumed]
    assert len(first) + len(rest) == len(uninterrupted) == 16
    for a, b in zip(first + rest, uninterrupted, strict=True):
        np.testing.assert_array_equal(a, b)


def test_to_global_batch_shards_over_data():
    mesh = jax.make_mesh((8,), ("data",), axis_types=(AxisType.Auto,))
    batch = next(iter(data.make_loader(_Range(64), batch_size=16, seed=0)))
    out = data.to_global_batch(batch, mesh)
    assert out["x"].shape == (16,) and out["x"].sharding.spec == P("data")
    np.testing.assert_array_equal(out["x"], batch["x"])


# A process outside absl.app (make_loader must make Grain's workers usable
# there) that prints its worker's batches and PID, then waits to be killed.
_WORKER_SCRIPT = """
import json, multiprocessing, sys, time
from jaxssl import data
source = data.data_source("digits", "test", sys.argv[1])
loader = data.make_loader(source, batch_size=50, seed=4, num_epochs=None, worker_count=1)
it = iter(loader)
batches = [next(it)["index"].tolist() for _ in range(7)]
pids = [p.pid for p in multiprocessing.active_children()]
print(json.dumps({"batches": batches, "workers": pids}), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not reaped by PID 1, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_worker_processes_yield_the_same_batches_and_end_with_a_killed_parent(data_dir):
    source = data.data_source("digits", "test", data_dir)
    in_process = [b["index"] for b in data.make_loader(source, batch_size=50, seed=4)]
    proc = subprocess.Popen(
        [sys.executable, "-c", _WORKER_SCRIPT, data_dir], stdout=subprocess.PIPE, text=True
    )
    try:
        out = json.loads(proc.stdout.readline())
    finally:
        proc.kill()  # SIGKILL: no atexit, no daemon clean-up
        proc.wait()
    assert len(out["batches"]) == len(in_process) == 7
    for a, b in zip(out["batches"], in_process, strict=True):
        np.testing.assert_array_equal(a, b)
    (worker,) = out["workers"]
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker), "the Grain worker outlived its killed parent"


def test_reading_threads_yield_the_same_batches_and_resume():
    """Batches read ahead by threads: the same ones, in order; the saved position is exact."""
    src = _Range(64)
    on_demand = [b["index"] for b in data.make_loader(src, batch_size=8, seed=7, num_epochs=2)]
    loader = data.make_loader(src, batch_size=8, seed=7, num_epochs=2, read_threads=3)
    it = iter(loader)
    first = [next(it)["index"] for _ in range(5)]  # the threads have read further ahead
    resumed = iter(data.make_loader(src, batch_size=8, seed=7, num_epochs=2, read_threads=3))
    resumed.set_state(it.get_state())
    rest = [b["index"] for b in resumed]
    assert len(first + rest) == len(on_demand) == 16
    for a, b in zip(first + rest, on_demand, strict=True):
        np.testing.assert_array_equal(a, b)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="read_threads must be an int >= 0"):
            data.make_loader(src, batch_size=8, read_threads=bad)


def _copy_prepared(data_dir, tmp_path, name, file_format):
    """A prepared dataset `name` whose builder code TFDS does not know: the digits
    files under another name, with dataset_info.json saying `file_format`."""
    import json
    import shutil

    src = Path(data_dir, "digits", "1.0.0")
    dst = tmp_path / name / "1.0.0"
    dst.mkdir(parents=True)
    for f in src.iterdir():
        shutil.copy(f, dst / f.name.replace("digits", name))
    info = json.loads((dst / "dataset_info.json").read_text())
    info.update(name=name, fileFormat=file_format)
    info.pop("moduleName", None)
    (dst / "dataset_info.json").write_text(json.dumps(info))


def test_prepared_dataset_without_builder_code_is_read_from_its_files(data_dir, tmp_path):
    _copy_prepared(data_dir, tmp_path, "my_scans", "array_record")
    source = data.data_source("my_scans", "train", str(tmp_path))
    assert len(source) == 1442 and source[0]["image"].shape == (8, 8, 1)


def test_tfrecord_only_dataset_error_prints_the_prepare_command(data_dir, tmp_path):
    _copy_prepared(data_dir, tmp_path, "my_scans", "tfrecord")
    with pytest.raises(FileNotFoundError, match="stored as tfrecord") as err:
        data.data_source("my_scans", "train", str(tmp_path))
    assert f"tfds build my_scans --data_dir={tmp_path} --file_format=array_record" in str(err.value)
