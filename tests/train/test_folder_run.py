"""train.py's --config.dataset=folder:DIR: a folder of PNGs trains, resumes exactly, evaluates."""

import jax
import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from jaxssl.train import run
from jaxssl.train.checkpoint import read_state
from tests.train.test_program import _metrics


@pytest.fixture(scope="module")
def digit_pngs(tmp_path_factory):
    """1,000 of scikit-learn's digits as RGB PNGs in DIR/<digit>/, every other one 10x10."""
    root = tmp_path_factory.mktemp("pngs")
    digits = load_digits()
    for i in range(1000):
        grey = np.round(digits.images[i] * 255 / 16).astype(np.uint8)
        image = Image.fromarray(grey).convert("RGB")
        if i % 2:
            image = image.resize((10, 10), Image.BILINEAR)  # sizes differ: load_size resizes
        folder = root / str(digits.target[i])
        folder.mkdir(exist_ok=True)
        image.save(folder / f"{i:04d}.png")
    return root


def _folder_config(tiny_config, root, **changes):
    config = tiny_config
    config.dataset = f"folder:{root}"
    config.load_size = 8
    config.num_devices = 1
    config.eval.max_train_examples = 0
    config.update(changes)
    return config


@pytest.mark.slow
def test_a_folder_trains_resumes_exactly_and_evaluates(tiny_config, digit_pngs, tmp_path, capsys):
    straight = tmp_path / "straight"
    config = _folder_config(tiny_config.copy_and_resolve_references(), digit_pngs)
    config.eval.final = False  # the reference for the losses and parameters only
    run(config, straight)
    # stopped at step 8 (as a killed run's last checkpoint), then the same command
    # again, reading with a Grain worker process: the same batches, the same numbers
    parted = tmp_path / "parted"
    first = _folder_config(tiny_config.copy_and_resolve_references(), digit_pngs, stop_at_step=8)
    run(first, parted)
    resumed = run(_folder_config(tiny_config, digit_pngs, worker_count=1), parted)
    assert "resumed from step 8" in capsys.readouterr().out
    a, b = _metrics(straight), _metrics(parted)
    assert sorted(a) == sorted(b) == list(range(1, 17))
    assert [a[s]["loss"] for s in a] == [b[s]["loss"] for s in a]
    states = (jax.tree.leaves(read_state(str(d))) for d in (straight, parted))
    for x, y in zip(*states, strict=True):
        np.testing.assert_array_equal(x, y)
    # and it evaluates on the folder's 80/20 split of every class (800 train, 200 test)
    assert resumed["steps"] == 16 and resumed["evaluated_on"] == f"folder:{digit_pngs}:test"
    assert resumed["class_names"] == [str(d) for d in range(10)]
    for key in ("knn_top1", "linear_top1", "kmeans_acc"):
        assert 0.2 < resumed[key] <= 1, resumed  # chance is 0.1


def test_an_unlabelled_folder_pretrains_and_says_evaluation_is_skipped(
    tiny_config, tmp_path, capsys
):
    rng = np.random.default_rng(0)
    for i in range(80):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    config = _folder_config(tiny_config, tmp_path, num_steps=2)
    results = run(config, tmp_path / "w")
    assert results["steps"] == 2 and "knn_top1" not in results
    assert "is unlabelled (no class folders): the kNN monitor and the final evaluation" in (
        capsys.readouterr().err
    )
    config.method = "classifier"
    with pytest.raises(ValueError, match=r"unlabelled \(no class folders\)"):
        run(config, tmp_path / "c")
