"""train.py's --config.dataset=folder:DIR: a folder of PNGs trains, resumes exactly, evaluates."""

import json

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from jaxssl.train import run
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
    whole = run(_folder_config(tiny_config.copy_and_resolve_references(), digit_pngs), straight)
    # the folder's 80/20 split of every class: 800 train, 200 test
    assert whole["evaluated_on"] == f"folder:{digit_pngs}:test"
    assert whole["class_names"] == [str(d) for d in range(10)]
    for key in ("knn_top1", "linear_top1", "kmeans_acc"):
        assert 0.2 < whole[key] <= 1, whole  # chance is 0.1
    # stopped at step 8 (as a killed run's last checkpoint), then the same command
    # again, reading with a Grain worker process: the same batches, the same numbers
    parted = tmp_path / "parted"
    run(
        _folder_config(tiny_config.copy_and_resolve_references(), digit_pngs, stop_at_step=8),
        parted,
    )
    resumed = run(_folder_config(tiny_config, digit_pngs, worker_count=1), parted)
    assert "resumed from step 8" in capsys.readouterr().out
    a, b = _metrics(straight), _metrics(parted)
    assert sorted(a) == sorted(b) == list(range(1, 17))
    assert [a[s]["loss"] for s in a] == [b[s]["loss"] for s in a]
    for key in ("knn_top1", "linear_top1", "kmeans_acc"):
        assert resumed[key] == whole[key]
    assert json.loads((parted / "results.json").read_text())["steps"] == 16


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
