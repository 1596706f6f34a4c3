"""train.py end to end in subprocesses: a run, an interrupted run resumed, start-up errors."""

import fcntl
import json
import os
import shutil
import subprocess

import jax
import numpy as np
import pytest

from jaxssl import methods
from jaxssl.data import data_source
from jaxssl.train import (
    create_state,
    load_pretrained,
    make_finetune_step,
    make_optimizer,
    make_schedule,
    restore_params,
    run,
)
from tests.train.conftest import ROOT, tiny_command


def _train_py(workdir, data_dir, *overrides, check=True):
    cmd = tiny_command(workdir, data_dir, *overrides)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr[-4000:]}")
    return proc


def _metrics(workdir, split="train"):
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    return {r["step"]: r for r in rows if r["split"] == split}


@pytest.fixture(scope="session")
def uninterrupted(tmp_path_factory, data_dir):
    """A finished tiny train.py run: ``(workdir, its stdout)``.

    Built once for the whole session, even with several pytest-xdist
    workers: they share the parent of their temporary directories, and a
    file lock lets the first one run it while the others wait and reuse it.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    workdir, stdout = root / "uninterrupted", root / "uninterrupted.stdout"
    with open(root / "uninterrupted.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stdout.exists():
            shutil.rmtree(workdir, ignore_errors=True)
            # one device: the CLI end to end is the point (8 devices = 1 is
            # test_steps.py's), and one compiles and runs several times faster
            stdout.write_text(_train_py(workdir, data_dir, "--config.num_devices=1").stdout)
    return workdir, stdout.read_text()


@pytest.mark.slow
def test_train_py_end_to_end(uninterrupted):
    workdir, stdout = uninterrupted
    rows = _metrics(workdir)
    assert sorted(rows) == list(range(1, 17))
    losses = [rows[s]["loss"] for s in range(1, 17)]
    assert np.all(np.isfinite(losses))
    # the loss falls: SimCLR's tiny run goes from ~3.5 to ~2.5 (log(2*64-1)=4.8 is chance)
    assert np.mean(losses[-4:]) < np.mean(losses[:4]) - 0.3, losses
    for key in ("top1", "lr", "grad_norm", "param_norm", "images_per_s", "pos_sim", "neg_sim"):
        assert key in rows[16]
    assert "first_step_s" in rows[1] and "images_per_s" not in rows[1]  # compile is not a rate
    assert sorted(os.listdir(workdir / "checkpoints")) == ["16", "8"]
    results = json.loads((workdir / "results.json").read_text())
    for key in ("knn_top1", "linear_top1", "kmeans_acc", "kmeans_nmi"):
        assert 0 < results[key] <= 1, results
    # for the report's labels: the data, and the names in the dataset's metadata
    assert results["evaluated_on"] == "digits:test"
    assert results["class_names"] == [str(i) for i in range(10)]
    assert (workdir / "config.json").exists()
    assert any(
        name.startswith("events.out.tfevents") for name in os.listdir(workdir / "tensorboard")
    )
    assert f"kNN {results['knn_top1']:.4f}" in stdout.strip().splitlines()[-1]


def test_report_from_the_run(uninterrupted, tmp_path, capsys):
    """``python -m jaxssl.report WORKDIR`` (its main, in process): every plot and eval.json."""
    from jaxssl import report

    workdir, _ = uninterrupted
    report.main([str(workdir)])
    printed = capsys.readouterr().out.split()
    names = ["loss", "learning_rate", "knn", "confusion", "embeddings"]
    for name in names:
        path = workdir / "plots" / f"{name}.png"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
        assert str(path) in printed
    evaluation = json.loads((workdir / "eval.json").read_text())
    results = json.loads((workdir / "results.json").read_text())
    assert evaluation["results"] == results
    assert evaluation["plots"] == [f"plots/{name}.png" for name in names]
    assert evaluation["train"]["last_step"] == 16
    with pytest.raises(FileNotFoundError, match=r"no metrics\.jsonl"):
        report.report(str(tmp_path))


def test_report_labels_plots_with_the_data_accuracy_and_class_names(
    uninterrupted, tmp_path, monkeypatch
):
    import matplotlib.figure

    from jaxssl import report

    copy = tmp_path / "run"
    shutil.copytree(uninterrupted[0], copy, ignore=shutil.ignore_patterns("checkpoints", "plots"))
    results = json.loads((copy / "results.json").read_text())
    results["class_names"] = [f"class {c}" for c in "abcdefghij"]
    (copy / "results.json").write_text(json.dumps(results))
    drawn = {}

    def record(fig, path, **kwargs):
        ax = fig.axes[0]
        legend = ax.get_legend()
        drawn[os.path.basename(path)] = {
            "title": ax.get_title(),
            "ticks": [t.get_text() for t in ax.get_yticklabels()],
            "legend": [t.get_text() for t in legend.get_texts()] if legend else [],
        }

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", record)
    report.report(str(copy))
    confusion = drawn["confusion.png"]
    assert confusion["title"] == f"digits:test: linear probe, top-1 {results['linear_top1']:.4f}"
    assert confusion["ticks"] == results["class_names"]
    assert drawn["embeddings.png"]["title"] == "digits:test features (PCA)"
    assert set(drawn["embeddings.png"]["legend"]) <= set(results["class_names"])
    assert drawn["knn.png"]["title"] == "kNN top-1 on digits:test"


def test_init_from_a_checkpoint_without_state_metadata_is_named(uninterrupted, tmp_path):
    """A newest checkpoint that lost state/_METADATA: a clear error, not Orbax's AttributeError."""
    workdir, _ = uninterrupted
    copy = tmp_path / "copy"
    shutil.copytree(workdir / "checkpoints", copy / "checkpoints")
    (copy / "checkpoints" / "16" / "state" / "_METADATA").unlink()
    # its checksum list names the missing file
    with pytest.raises(OSError, match=r"step 16 .* is damaged: .*state/_METADATA is missing"):
        restore_params(str(copy))
    # without the list (an older checkpoint), the metadata read names it
    (copy / "checkpoints" / "16" / "checksums.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"step 16 .* no readable state metadata"):
        restore_params(str(copy))


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("dtype", "float16", "config.dtype must be one of"),
        ("parallel", "pjit", "config.parallel must be one of"),
        ("optim.name", "sgdw", "config.optim.name must be one of"),
        ("batch_size", 0, "config.batch_size must be > 0"),
        ("num_steps", -1, "config.num_steps must be >= 0"),
        ("finetune.label_fraction", 0.0, r"config.finetune.label_fraction must be in \(0, 1\]"),
        ("finetune.label_smoothing", 1.0, r"config.finetune.label_smoothing must be in \[0, 1\)"),
        ("finetune.pseudo_label_thresholds", (0.5, 1.5), "must be probabilities"),
        ("finetune.label_propagation_k", -1, r"must be an int >= 0 \(0 skips it\), got -1"),
        ("eval.probe.weight_decays", (), "weight_decays must be one or more"),
        ("optim.encoder_lr_mult", -0.1, "config.optim.encoder_lr_mult must be >= 0"),
        ("eval.probe.epochs", 0, "config.eval.probe.epochs must be > 0"),
    ],
)
def test_bad_values(tiny_config, tmp_path, key, value, match):
    if key.startswith("finetune."):  # the classifier's section: checked on its runs
        tiny_config.method = "classifier"
    section, _, name = key.rpartition(".")
    (tiny_config[section] if section else tiny_config)[name] = value
    with pytest.raises(ValueError, match=match):
        run(tiny_config, str(tmp_path / "w"))


OTHER_METHODS = ("moco", "byol", "simsiam", "barlow_twins", "vicreg", "rotation", "triplet")
OTHER_METHODS += ("supervised",)


@pytest.mark.parametrize(
    ("name", "arg", "shape"),
    [
        ("simclr_digits", None, (8, 8, 1)),
        ("tiny", None, (8, 8, 1)),
        ("simclr_cifar10", "800", (32, 32, 3)),
        ("simclr_imagenet", None, (224, 224, 3)),
        ("linear_digits", None, (8, 8, 1)),
        ("finetune_digits", None, (8, 8, 1)),
        ("semi_digits", "1", (8, 8, 1)),
        ("linear_cifar10", None, (32, 32, 3)),
        ("finetune_cifar10", None, (32, 32, 3)),
        *[(f"{m}_digits", None, (8, 8, 1)) for m in OTHER_METHODS],
        *[(f"{m}_cifar10", None, (32, 32, 3)) for m in OTHER_METHODS],
        ("moco_cifar10", "800", (32, 32, 3)),
    ],
)
def test_configs_build(name, arg, shape):
    """Every config validates and its model, head and optimizer trace (no memory allocated)."""
    from jaxssl import methods
    from jaxssl.train import create_state, make_optimizer, make_schedule, validate
    from tests.train.conftest import load_config

    config = load_config(name, arg)
    validate(config)
    config.num_classes = config.num_classes or 10  # the loop reads it from the dataset
    method = methods.build(config)
    tx = make_optimizer(config.optim, make_schedule(config.optim, config.batch_size, 100, 10))
    sample = {"image": np.zeros((1, *shape), np.uint8), "index": np.zeros((1,), np.int64)}
    state = jax.eval_shape(lambda: create_state(method, tx, jax.random.key(0), sample))
    assert jax.tree.leaves(state.params)
    if arg == "800":
        assert config.num_epochs == 800
    if name == "semi_digits":
        assert config.finetune.label_fraction == 0.01
    if name.endswith("_digits") and name != "simclr_digits":  # started from the SimCLR config
        assert config.encoder_kwargs == load_config("simclr_digits").encoder_kwargs
    method_name = name.rpartition("_")[0]
    if method_name in OTHER_METHODS:
        assert config.method == ("classifier" if method_name == "supervised" else method_name)


@pytest.mark.slow
def test_pmap_run_with_knn_monitor_then_init_from(tiny_config, tmp_path, capsys, data_dir):
    """The loop under pmap with the kNN monitor; then fine-tuning and probes from its encoder."""
    train = data_source("digits", "train", data_dir)
    tiny_config.parallel = "pmap"
    tiny_config.num_steps = 4
    tiny_config.checkpoint.every_steps = 2
    tiny_config.eval.knn_every_steps = 2
    tiny_config.eval.final = False
    first = tmp_path / "first"
    results = run(tiny_config, str(first))
    assert "knn_top1" not in results
    evals = _metrics(first, split="eval")
    assert sorted(evals) == [2, 4]
    assert all(0.1 < row["knn_top1"] <= 1 for row in evals.values())

    # Fine-tune from it on 10% of the labels: the run starts from its encoder.
    tiny_config.init_from = str(first)
    tiny_config.parallel = "jit"
    tiny_config.num_devices = 1  # what follows does not depend on the device count
    tiny_config.method = "classifier"
    tiny_config.num_steps = 2
    tiny_config.batch_size = 32
    tiny_config.eval.final = True
    tiny_config.eval.knn_every_steps = 0
    tiny_config.finetune.label_fraction = 0.1
    tiny_config.finetune.pseudo_label_thresholds = (0.0, 1.0)
    tiny_config.eval.probe.epochs = 2
    second = tmp_path / "second"
    results = run(tiny_config, str(second))
    out = capsys.readouterr().out
    assert f"parameters from {first}" in out and "140 labelled examples" in out
    assert results["labelled_examples"] == 140  # 14 of each of the 10 classes
    assert 0 <= results["top1"] <= 1 and results["metrics"]["confusion"]
    everything, nothing = results["pseudo_labels"]["rows"]
    assert everything["pseudo_labelled"] == len(train) - 140 and nothing["pseudo_labelled"] == 0
    propagated = results["label_propagation"]
    assert propagated["k"] == 10 and 0.1 < propagated["top1"] <= 1, propagated
    assert f"label propagation {propagated['top1']:.4f}" in out
    assert f"top-1 {results['top1']:.4f}" in out

    # The same start by hand: the encoder equals the checkpoint's at step 0, then trains.
    pretrained = restore_params(str(first))
    assert set(pretrained) == {"encoder", "head"}
    config = tiny_config.copy_and_resolve_references()
    config.num_classes = 10
    method = methods.build(config)
    tx = make_optimizer(config.optim, make_schedule(config.optim, 32, 2, 1))
    batch = {k: v[:32] for k, v in _digits_batch(train).items()}
    state = jax.jit(lambda: create_state(method, tx, jax.random.key(0), batch))()
    params, batch_stats = load_pretrained(str(first), state.params, state.batch_stats, ("encoder",))
    equal = jax.tree.map(np.array_equal, params["encoder"], pretrained["encoder"])
    assert all(jax.tree.leaves(equal))
    assert params["head"] is state.params["head"]  # the new head is kept
    step = jax.jit(make_finetune_step(method, tx))
    trained, metrics = step(state.replace(params=params, batch_stats=batch_stats), batch)
    assert np.isfinite(metrics["loss"])
    moved = jax.tree.map(np.array_equal, trained.params["encoder"], params["encoder"])
    assert not all(jax.tree.leaves(moved))

    # Linear evaluation of the same encoder: no training, probes only.
    tiny_config.method = "linear_probe"
    tiny_config.eval.kmeans = False
    third = tmp_path / "third"
    results = run(tiny_config, str(third))
    assert results["steps"] == 0 and 0 < results["linear_top1"] <= 1
    assert set(results["linear_val_top1"]) == {str(w) for w in tiny_config.eval.probe.weight_decays}
    assert f"encoder from {first}" in capsys.readouterr().out

    wider = jax.tree.map(np.asarray, pretrained)
    wider["encoder"]["Dense_0"]["kernel"] = np.zeros((16, 48), np.float32)  # another model
    with pytest.raises(ValueError, match=r"parameter \['encoder'\]\['Dense_0'\]\['kernel'\]"):
        restore_params(str(first), wider)


def _digits_batch(source):
    records = [source[i] for i in range(64)]
    return {
        "image": np.stack([r["image"] for r in records]),
        "label": np.array([r["label"] for r in records]),
        "index": np.arange(64),
    }
