"""A catalogue of bad inputs across the library and the program.

Each entry names the mistake, the error type it must raise and a fragment of
the message: the argument (or config key, or flag) at fault and what was
expected. The loss functions' own, longer catalogue (eager and under jit) is
tests/losses/test_bad_input.py; this one spans losses, models, data, configs
and the command line, and every entry fails before anything is trained.
"""

import contextlib
import os
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl import app, flags

from jaxssl import data, generate, losses, models
from jaxssl.data import augment
from jaxssl.train import run
from tests.train.conftest import ROOT, load_config


@dataclass
class Env:
    tmp_path: Path
    data_dir: str


def _config(env: Env, name: str = "tiny", **changes):
    """``configs/NAME.py`` on the test's data, with ``changes`` ("optim.name": ...)."""
    config = load_config(name)
    config.data_dir = env.data_dir
    config.eval.final = False
    for key, value in changes.items():
        section, _, leaf = key.rpartition(".")
        target = config
        for part in filter(None, section.split(".")):
            target = target[part]
        target[leaf] = value
    return config


def _run(env: Env, name: str = "tiny", **changes):
    return run(_config(env, name, **changes), str(env.tmp_path / "w"))


def _a_file(folder: Path) -> Path:
    (folder / "a_file").write_text("not a directory")
    return folder / "a_file"


@contextlib.contextmanager
def _train_module(argv: list[str]):
    """The ``train`` module with ``sys.argv = argv``; its flags are reset afterwards."""
    saved, sys.argv = sys.argv, argv  # ml_collections finds --config.KEY overrides in sys.argv
    try:
        with warnings.catch_warnings():
            # ml_collections loads config files with importlib's deprecated load_module
            warnings.filterwarnings("ignore", "the load_module", DeprecationWarning)
            import train

            yield train
    finally:
        sys.argv = saved
        flags.FLAGS.unparse_flags()


def _cli(*args: str):
    """train.py's flag parsing and main with ``args``."""
    argv = ["train.py", *args]
    with _train_module(argv) as train:
        train.main(train.parse_flags(argv))


def _init(name: str, x, **kwargs):
    model = models.get_model(name, **kwargs)
    return model.init(jax.random.key(0), x, train=False)


Z = np.ones((4, 8), np.float32)
IMAGES = np.zeros((2, 8, 8, 1), np.float32)
KEY = jax.random.key(0)

# (id, call(env), exception, message fragment)
CATALOGUE = [
    # losses
    (
        "nt_xent non-positive temperature",
        lambda env: losses.nt_xent(Z, Z, temperature=0.0),
        ValueError,
        "temperature must be > 0, got 0.0",
    ),
    (
        "info_nce negatives of another width",
        lambda env: losses.info_nce(Z, Z, negatives=np.ones((6, 5), np.float32), temperature=0.1),
        ValueError,
        "negatives",
    ),
    (
        "batch_triplet unknown mining",
        lambda env: losses.batch_triplet(Z, np.arange(4), mining="easy"),
        ValueError,
        "mining must be one of",
    ),
    (
        "softmax_cross_entropy float labels of the wrong shape",
        lambda env: losses.softmax_cross_entropy(Z, np.ones((4, 3), np.float32)),
        ValueError,
        "labels",
    ),
    (
        "byol_loss views of different shapes",
        lambda env: losses.byol_loss(Z, Z[:3]),
        ValueError,
        "must have the same shape",
    ),
    (
        "barlow_twins integer embeddings",
        lambda env: losses.barlow_twins(Z.astype(np.int32), Z.astype(np.int32)),
        TypeError,
        "z1 must be a floating-point array, got dtype int32",
    ),
    (
        "masked_lm_loss targets of the wrong shape",
        lambda env: losses.masked_lm_loss(
            np.zeros((2, 5, 7), np.float32), np.zeros((2, 4), np.int32), np.ones((2, 4), bool)
        ),
        ValueError,
        "targets must have shape [B, T] = (2, 5), got shape (2, 4)",
    ),
    # models
    (
        "unknown model name",
        lambda env: models.get_model("resnet9"),
        ValueError,
        "unknown model 'resnet9'; known models:",
    ),
    (
        "ResNet unknown stem",
        lambda env: _init("resnet18", IMAGES, stem="tiny"),
        ValueError,
        "stem must be one of",
    ),
    (
        "ViT image not a multiple of the patch",
        lambda env: _init("vit_ti", np.zeros((1, 10, 10, 3), np.float32), patch_size=4),
        ValueError,
        "multiples of patch_size=4",
    ),
    (
        "autoencoder image side not divisible by its downsampling",
        lambda env: _init("autoencoder", np.zeros((1, 10, 10, 1))),
        ValueError,
        "H and W divisible by 4 (2 ** len(features)), got shape (1, 10, 10, 1)",
    ),
    (
        "VAE image of another shape",
        lambda env: models.get_model("vae", image_shape=(8, 8, 1)).init(
            KEY, np.zeros((1, 12, 12, 1)), KEY
        ),
        ValueError,
        "images must have shape [B, 8, 8, 1] (image_shape), got shape (1, 12, 12, 1)",
    ),
    (
        "DCGAN side not a power of two",
        lambda env: _init("dcgan_generator", np.zeros((1, 16)), image_shape=(12, 12, 1)),
        ValueError,
        "image_shape must be square with a power-of-two side >= 8",
    ),
    (
        "GPT tokens of rank 1",
        lambda env: _init(
            "gpt",
            np.zeros((5,), np.int32),
            vocab_size=16,
            max_len=8,
            hidden_dim=8,
            depth=1,
            num_heads=2,
            mlp_dim=8,
        ),
        ValueError,
        "tokens must have shape [B, T], got shape (5,)",
    ),
    (
        "projection head with no layers",
        lambda env: _init("simclr_v2_head", Z, num_layers=0),
        ValueError,
        "num_layers must be a positive int, got 0",
    ),
    # data
    (
        "dataset not prepared",
        lambda env: data.data_source("cifar10", "train", str(env.tmp_path / "empty")),
        FileNotFoundError,
        "dataset 'cifar10' is not prepared",
    ),
    (
        "unknown bundled dataset",
        lambda env: data.build_bundled("cifar10", env.data_dir),
        ValueError,
        "name must be one of",
    ),
    (
        "loader batch size 0",
        lambda env: data.make_loader(np.zeros((8, 2)), batch_size=0),
        ValueError,
        "batch_size must be a positive int, got 0",
    ),
    (
        "loader shard index out of range",
        lambda env: data.make_loader(np.zeros((8, 2)), batch_size=2, shard=(2, 2)),
        ValueError,
        "shard must be (index, count) with 0 <= index < count, got (2, 2)",
    ),
    (
        "augmentation crop scale reversed",
        lambda env: augment.Augment(size=8, crop_scale=(0.9, 0.2)),
        ValueError,
        "crop_scale must satisfy 0 < lo <= hi <= 1, got (0.9, 0.2)",
    ),
    (
        "augmenting a batch without the batch axis",
        lambda env: augment.augment_batch(IMAGES[0], KEY, augment.digits()),
        ValueError,
        "images must have shape [B, H, W, C], got shape (8, 8, 1)",
    ),
    (
        "text packed into sequences of 1",
        lambda env: data.text.pack(["some text"], 1),
        ValueError,
        "seq_len must be an int >= 2, got 1",
    ),
    (
        "masking float tokens",
        lambda env: data.text.mask_tokens(KEY, jnp.zeros((2, 4))),
        TypeError,
        "tokens must be an integer array, got dtype float32",
    ),
    (
        "label fraction of 0",
        lambda env: data.label_fraction(np.arange(10) % 2, 0.0),
        ValueError,
        "fraction must be in (0, 1], got 0.0",
    ),
    (
        "image folder that does not exist",
        lambda env: data.ImageFolder(env.tmp_path / "no_such_folder"),
        FileNotFoundError,
        "root must be a folder of class folders",
    ),
    (
        "image folder with a side of 0",
        lambda env: data.ImageFolder(env.tmp_path, size=0),
        ValueError,
        "size must be None or an int >= 1, got 0",
    ),
    # configs, checked by run() before anything is compiled or written
    (
        "unknown config key",
        lambda env: _run(env, **{"optim.momentun": 0.9}),
        ValueError,
        "unknown config key(s): optim.momentun",
    ),
    (
        "config value of the wrong type",
        lambda env: _run(env, batch_size="64"),
        TypeError,
        "Could not override field 'batch_size'",
    ),
    (
        "unknown method",
        lambda env: _run(env, method="swav"),
        ValueError,
        "config.method must be one of",
    ),
    (
        "batch that does not divide over the devices",
        lambda env: _run(env, batch_size=12),
        ValueError,
        "config.batch_size=12 does not divide over 8 devices",
    ),
    (
        "more devices than there are",
        lambda env: _run(env, num_devices=9),
        ValueError,
        "config.num_devices=9, but there are only 8 devices",
    ),
    (
        "augmentation semantics not known",
        lambda env: _run(env, augment_semantics="tf"),
        ValueError,
        "config.augment_semantics must be one of ['simclr', 'torchvision'], got 'tf'",
    ),
    (
        "crop scale above the whole image",
        lambda env: _run(env, augment_crop_min_scale=1.5),
        ValueError,
        "config.augment_crop_min_scale must be in [0, 1], got 1.5",
    ),
    (
        "negative chunk size",
        lambda env: _run(env, **{"simclr.chunk_size": -1}),
        ValueError,
        "config.simclr.chunk_size must be >= 0, got -1",
    ),
    (
        "dataset missing",
        lambda env: _run(env, dataset="cifar10", data_dir=str(env.tmp_path / "empty")),
        FileNotFoundError,
        "tfds build cifar10",
    ),
    (
        "dataset name TFDS does not know",
        lambda env: _run(env, dataset="cifar100x", data_dir=str(env.tmp_path / "empty")),
        FileNotFoundError,
        "TFDS has no dataset of that name (did you mean 'cifar100'?)",
    ),
    (
        "eval split the dataset lacks",
        lambda env: _run(env, eval_split="validation", **{"eval.final": True}),
        ValueError,
        "config.eval_split='validation' of 'digits': Unknown split 'validation'",
    ),
    (
        "train split the dataset lacks",
        lambda env: _run(env, train_split="unlabelled"),
        ValueError,
        "config.train_split='unlabelled' of 'digits': Unknown split",
    ),
    (
        "data_dir that is a file",
        lambda env: _run(env, data_dir=str(_a_file(env.tmp_path))),
        ValueError,
        "config.data_dir must be a directory, got",
    ),
    (
        "workdir under a file",
        lambda env: run(_config(env), str(_a_file(env.tmp_path) / "w")),
        OSError,
        "is not a writable directory",
    ),
    (
        "learning rate that is NaN",
        lambda env: _run(env, **{"optim.base_lr": float("nan")}),
        ValueError,
        "config.optim.base_lr must be a finite number, got nan",
    ),
    (
        "temperature that is infinite",
        lambda env: _run(env, **{"simclr.temperature": float("inf")}),
        ValueError,
        "config.simclr.temperature must be a finite number, got inf",
    ),
    (
        "num_classes below the dataset's",
        lambda env: _run(env, method="classifier", num_classes=3),
        ValueError,
        "config.num_classes=3 is below the 10 classes of digits:train",
    ),
    (
        "labels beyond num_classes in a run's batches",  # the digits' 10 classes, 3 declared
        lambda env: _run(env, num_classes=3),
        ValueError,
        "labels of digits:train must be in [0, 3) (config.num_classes=3), but",
    ),
    (
        "negative labels",
        lambda env: data.check_labels(np.array([0, -1, 2, -1]), 3, "my labels"),
        ValueError,
        "labels of my labels must be in [0, 3) (config.num_classes=3), but 2 of 4 are "
        "outside it (from -1 to 2)",
    ),
    (
        "batch larger than the dataset with epochs",
        lambda env: _run(env, batch_size=4096, num_steps=0, num_epochs=1),
        ValueError,
        "config.batch_size=4096 is larger than the",
    ),
    (
        "no length of training",
        lambda env: _run(env, num_steps=0, num_epochs=0),
        ValueError,
        "config.num_epochs or config.num_steps must be > 0",
    ),
    (
        "MoCo queue smaller than the batch",
        lambda env: _run(env, "moco_digits", **{"moco.queue_size": 8}),
        ValueError,
        "config.moco.queue_size must be >= config.batch_size",
    ),
    (
        "label fraction above 1",
        lambda env: _run(env, "finetune_digits", **{"finetune.label_fraction": 1.5}),
        ValueError,
        "config.finetune.label_fraction must be in (0, 1], got 1.5",
    ),
    (
        "fine-tuning from a directory that does not exist",
        lambda env: _run(env, "finetune_digits", init_from=str(env.tmp_path / "nope")),
        FileNotFoundError,
        "no such directory",
    ),
    (
        "gan with an unknown loss",
        lambda env: _run(env, "gan_digits", **{"gan.loss": "wasserstein"}),
        ValueError,
        "config.gan.loss must be one of",
    ),
    (
        "causal_lm with a bidirectional encoder",
        lambda env: _run(env, "gpt_pydoc", encoder="bert"),
        ValueError,
        "config.encoder must be one of ('gpt', 'lstm_lm') for method 'causal_lm', got 'bert'",
    ),
    (
        "masked_lm masking nothing",
        lambda env: _run(env, "mlm_pydoc", **{"text.mask_prob": 0.0}),
        ValueError,
        "config.text.mask_prob must be in (0, 1], got 0.0",
    ),
    (
        "vae without encoder widths",
        lambda env: _run(env, "vae_digits", **{"generative.features": ()}),
        ValueError,
        "config.generative.features must be one or more widths >= 1",
    ),
    (
        "generation from a run that is not a causal LM",
        lambda env: generate.load_model(str(env.tmp_path)),
        FileNotFoundError,
        "config.json not found: --workdir must be a train.py run's workdir",
    ),
    # the command line
    (
        "stray positional argument",
        lambda env: _cli(f"--config={ROOT / 'configs' / 'tiny.py'}", "extra"),
        app.UsageError,
        "unexpected arguments: extra",
    ),
    (
        "override of a key the config lacks",
        lambda env: _cli(f"--config={ROOT / 'configs' / 'tiny.py'}", "--config.optim.foo=1"),
        flags.IllegalFlagValueError,
        "--config.optim.foo: the config has no key 'foo'",
    ),
    (
        "override that is not of the key's type",
        lambda env: _cli(f"--config={ROOT / 'configs' / 'tiny.py'}", "--config.batch_size=abc"),
        flags.IllegalFlagValueError,
        "flag --config.batch_size=abc: invalid literal for int()",
    ),
    (
        "config file that does not exist",
        lambda env: _cli(f"--config={env.tmp_path / 'nope.py'}"),
        flags.IllegalFlagValueError,
        "nope.py",
    ),
    (
        "config argument the file does not take",
        lambda env: _cli(f"--config={ROOT / 'configs' / 'tiny.py'}:3"),
        flags.IllegalFlagValueError,
        "get_config() takes 0 positional arguments but 1 was given",
    ),
]


# entries refused after the workdir was made (it must exist to tell a resume
# from a fresh start); every other one leaves no trace on disk
MAKES_WORKDIR = {
    "fine-tuning from a directory that does not exist",
    "labels beyond num_classes in a run's batches",  # seen in the first batch
}


def test_the_catalogue_is_broad():
    assert len(CATALOGUE) >= 30
    assert len({case[0] for case in CATALOGUE}) == len(CATALOGUE)


@pytest.mark.parametrize("name, call, error, fragment", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_bad_input_is_refused_clearly(name, call, error, fragment, tmp_path, data_dir):
    env = Env(tmp_path, data_dir)
    with pytest.raises(error, match=re.escape(fragment)):
        call(env)
    # a refused run wrote nothing: no workdir, or one without a checkpoint
    workdir = tmp_path / "w"
    if name in MAKES_WORKDIR:
        assert not [d for d in os.listdir(workdir / "checkpoints") if d.isdigit()]
    else:
        assert not workdir.exists()


@pytest.mark.parametrize(
    ("override", "hint"),
    [
        ("optim.lerning_rate=1", ""),  # nothing near: no suggestion
        # the README's typo: ml_collections' own "Did you mean" error, ours instead
        ("optim.momentun=0.5", " (did you mean --config.optim.momentum?)"),
        ("bach_size=3", " (did you mean --config.batch_size?)"),
        ("optm.momentum=0.5", " (did you mean --config.optim.momentum?)"),
    ],
)
def test_a_flag_error_exits_with_status_1_and_one_line(capsys, override, hint):
    """What train.py does with a bad flag: absl's one-line report, no traceback."""
    argv = ["train.py", f"--config={ROOT / 'configs' / 'tiny.py'}", f"--config.{override}"]
    with _train_module(argv) as train, pytest.raises(SystemExit) as exit_:
        train._parse_flags_or_exit(argv)
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    name = override.split("=")[0]
    key = name.split(".")[0] if name.startswith("optm") else name.split(".")[-1]
    want = f"FATAL Flags parsing error: --config.{name}: the config has no key {key!r}{hint};"
    assert want in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 2


def test_a_start_up_error_exits_with_status_1_and_the_message_alone(tmp_path, capsys, monkeypatch):
    """A run refused at start-up: its message, exit status 1, no traceback (unless asked)."""
    argv = ["train.py", f"--config={ROOT / 'configs' / 'tiny.py'}", f"--workdir={tmp_path / 'w'}"]
    argv.append("--config.resume_override=optim.base_lrr")
    with _train_module(argv) as train:
        flags_argv = train.parse_flags(argv)
        with pytest.raises(SystemExit) as exit_:
            train.main(flags_argv)
        assert exit_.value.code == 1
        err = capsys.readouterr().err
        assert "error: ValueError: config.resume_override names 'optim.base_lrr'" in err
        assert "Traceback" not in err and "JAXSSL_TRACEBACK=1" in err
        monkeypatch.setenv("JAXSSL_TRACEBACK", "1")
        with pytest.raises(ValueError, match="resume_override names"):
            train.main(flags_argv)
    assert not (tmp_path / "w").exists()
