"""The configuration schema: every key a run understands, with its default.

Config files (``configs/*.py``) start from :func:`default_config` and change
values; :func:`validate` rejects keys the schema does not have (a typo must not
silently train with a default) and values out of range, before anything is
compiled or read.
"""

from __future__ import annotations

import importlib.util
import json
import os

import ml_collections

from jaxssl.data.augment import SEMANTICS as AUGMENT_SEMANTICS
from jaxssl.methods import registry, sections
from jaxssl.methods.sections import choice, fraction, positive

DTYPES = ("float32", "bfloat16")
PARALLEL = ("jit", "pmap")
# Every method, its config sections and its program: jaxssl.methods.registry.
METHODS = registry.NAMES
OPTIMIZERS = ("lars", "sgd", "adamw")
LR_SCALING = ("linear", "sqrt", "none")


def default_config() -> ml_collections.ConfigDict:
    """All keys with their defaults (SimCLR on the bundled digits, small CNN)."""
    c = ml_collections.ConfigDict()
    c.method = "simclr"  # one of METHODS (jaxssl.methods.registry)
    c.seed = 0
    # data
    # bundled (digits), fashion_mnist / mnist (idx files), any TFDS dataset prepared as
    # array_record, or folder:DIR (DIR/train/<class>/ + DIR/test/<class>/, DIR/<class>/
    # split 80/20, or DIR/<image> unlabelled; images of mixed sizes need load_size)
    c.dataset = "digits"
    c.data_dir = ""  # '' = $TFDS_DATA_DIR or ~/tensorflow_datasets
    # fashion_mnist / mnist: the folder of their four idx files ('' = Debian's
    # /usr/share/datasets/fashion-mnist); read once, when first built
    c.idx_dir = ""
    c.train_split = "train"
    c.eval_split = "test"
    c.image_key = "image"
    c.label_key = "label"
    c.num_classes = 0  # 0: from the dataset's metadata
    c.load_size = 0  # > 0: resize (shorter side) and centre-crop on the host, for datasets
    # whose images differ in size (imagenet2012); 0 keeps them as stored
    c.image_size = 8  # augmented view side
    c.augment = "digits"  # digits | simclr | byol | grey
    c.augment_strength = 1.0  # SimCLR's colour-jitter strength s
    c.augment_crop_min_scale = 0.0  # > 0: the random resized crop's smallest area fraction
    # (SimCLR's 0.08; 0 keeps the preset's)
    # simclr (tf.image, SimCLR's TF code) | torchvision (lightly, solo-learn): how colour
    # jitter's contrast and saturation, and greyscale, are computed
    c.augment_semantics = "simclr"
    c.worker_count = 0  # Grain worker processes
    c.read_threads = 0  # Grain threads per process reading batches ahead (0: read on demand)
    # schedule
    c.batch_size = 256  # global, over every device and process
    c.num_epochs = 100
    c.num_steps = 0  # > 0 overrides num_epochs
    c.stop_at_step = 0  # > 0: save and stop there (the schedule still spans num_steps)
    # model
    c.encoder = "small_cnn"
    c.encoder_kwargs = ml_collections.ConfigDict()
    c.dtype = "float32"  # compute dtype; parameters and the loss stay float32
    c.parallel = "jit"
    c.num_devices = 0  # 0: every device; N: the first N (one process only), e.g. to debug on one
    # several processes: a process whose peer stops sending heartbeats (killed, its host
    # gone) for this many seconds ends with an error instead of waiting for it
    c.heartbeat_timeout_s = 100
    # the methods' own sections (head, simclr, moco, ..., finetune): jaxssl.methods.sections
    for name, (defaults, _) in sections.SECTIONS.items():
        c[name] = defaults()
    # optimizer
    c.optim = ml_collections.ConfigDict()
    c.optim.name = "lars"
    c.optim.base_lr = 0.3  # scaled by lr_scaling
    c.optim.lr_scaling = "linear"  # linear: base_lr*B/256; sqrt: base_lr*sqrt(B); none
    c.optim.warmup_epochs = 10.0
    c.optim.end_lr_fraction = 0.0  # cosine ends at this fraction of the peak
    c.optim.weight_decay = 1e-6
    c.optim.momentum = 0.9
    c.optim.nesterov = False
    c.optim.trust_coefficient = 0.001
    c.optim.b1 = 0.9
    c.optim.b2 = 0.999
    c.optim.clip_norm = 0.0  # > 0: clip gradients to this global norm
    c.optim.encoder_lr_mult = 1.0  # the encoder's learning rate over the head's; 0 freezes it
    # checkpoints
    c.checkpoint = ml_collections.ConfigDict()
    c.checkpoint.every_steps = 1000
    c.checkpoint.keep = 3
    c.checkpoint.async_save = True
    c.init_from = ""  # a run's workdir: its parameters (the encoder only, for classifier and
    # linear_probe) start this run, when the workdir has no checkpoint of its own
    # fault tolerance
    c.skip_nonfinite_steps = False  # True: skip updates with a non-finite loss, gradient
    # norm or updated state (counted as skipped_steps) instead of stopping with an error
    c.max_skipped_fraction = 0.1  # with skip_nonfinite_steps: stop when more than this
    # fraction of the last 100 steps was skipped
    c.resume_override = ""  # "optim.base_lr,num_steps": keys a resumed run may change on
    # purpose (recorded in WORKDIR/resume_history.jsonl); see resume_changes()
    c.log_example_ids = False  # True: WORKDIR/example_ids.jsonl, each step's example indices
    # logging and evaluation
    c.log_every_steps = 50
    c.eval = ml_collections.ConfigDict()
    c.eval.knn_every_steps = 0  # 0: only at the end
    c.eval.knn_k = 200  # Wu et al. 2018's weighted kNN: k = 200, temperature 0.1
    c.eval.knn_temperature = 0.1
    c.eval.max_train_examples = 0  # > 0: kNN bank / probe on the first N train examples
    c.eval.batch_size = 512
    c.eval.final = True  # kNN (and the linear probe) at the end
    c.eval.linear_probe = True  # on-device softmax regression, weight decay chosen on val
    c.eval.probe = ml_collections.ConfigDict()
    c.eval.probe.weight_decays = (0.0, 1e-5, 1e-4, 1e-3, 1e-2)
    c.eval.probe.val_fraction = 0.2  # of train, held out to choose the weight decay
    c.eval.probe.epochs = 100
    # > 0: fewer epochs where `epochs` would take more SGD steps than this (a large
    # train split: 100 epochs of 48,000 Fashion-MNIST features are 18,700 steps)
    c.eval.probe.max_steps = 10_000
    c.eval.probe.batch_size = 256
    c.eval.probe.learning_rate = 0.1
    c.eval.kmeans = True  # k-means on the eval split's features: accuracy, NMI, ARI
    c.eval.baselines = False  # also probe the random-init encoder and raw pixels
    c.eval.embeddings = 2000  # eval-split features kept in embeddings.npz for the report
    return c


def load_config_file(path: str, arg: str | None = None) -> ml_collections.ConfigDict:
    """``get_config()`` (or ``get_config(arg)``) of the config file at ``path``.

    What ``--config=PATH[:ARG]`` does, for a config that starts from another
    one (``linear_digits.py`` from ``simclr_digits.py``: the same encoder and
    data by construction).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"config file {path!r} does not exist.")
    name = "_jaxssl_config_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config() if arg is None else module.get_config(arg)


def _unknown(config, schema, prefix=""):
    for key in config.keys():
        path = f"{prefix}{key}"
        if key not in schema:
            yield path
        elif key.endswith("_kwargs"):
            continue  # free-form: checked by the constructor they go to
        elif isinstance(schema[key], ml_collections.ConfigDict):
            yield from _unknown(config[key], schema[key], path + ".")


def validate(config: ml_collections.ConfigDict) -> None:
    """Raises ``ValueError`` for an unknown key or an invalid value, naming it.

    The keys every run shares are checked, and the sections of the run's own
    method (:attr:`jaxssl.methods.registry.MethodSpec.sections`); another
    method's section is only checked for unknown keys.
    """
    unknown = sorted(_unknown(config, default_config()))
    if unknown:
        raise ValueError(
            f"unknown config key(s): {', '.join(unknown)}; see jaxssl/train/config.py "
            "and jaxssl/methods/sections.py for every key."
        )
    choice(config, "method", METHODS)
    spec = registry.spec(config.method)
    choice(config, "dtype", DTYPES)
    choice(config, "augment_semantics", list(AUGMENT_SEMANTICS))
    choice(config, "parallel", PARALLEL)
    choice(config, "optim.name", OPTIMIZERS)
    choice(config, "optim.lr_scaling", LR_SCALING)
    positive(config, ["batch_size", "image_size", "optim.base_lr"])
    positive(config, ["eval.batch_size", "eval.knn_k", "log_every_steps"])
    positive(config, ["eval.probe.batch_size", "eval.probe.learning_rate", "eval.probe.epochs"])
    positive(config, ["checkpoint.every_steps", "checkpoint.keep"])
    positive(
        config,
        [
            "num_epochs",
            "num_steps",
            "num_devices",
            "load_size",
            "stop_at_step",
            "worker_count",
            "read_threads",
            "optim.warmup_epochs",
            "optim.weight_decay",
            "optim.clip_norm",
            "eval.knn_every_steps",
            "eval.max_train_examples",
            "eval.embeddings",
            "num_classes",
            "optim.encoder_lr_mult",
            "eval.probe.val_fraction",
            "eval.probe.max_steps",
        ],
        allow_zero=True,
    )
    fraction(config, "eval.probe.val_fraction", "[0, 1)")
    fraction(config, "max_skipped_fraction", "[0, 1]")
    fraction(config, "augment_crop_min_scale", "[0, 1]")  # 0: the preset's own
    if not config.eval.probe.weight_decays or min(config.eval.probe.weight_decays) < 0:
        raise ValueError(
            "config.eval.probe.weight_decays must be one or more values >= 0, got "
            f"{tuple(config.eval.probe.weight_decays)!r}."
        )
    if spec.encoders is not None and config.encoder not in spec.encoders:
        raise ValueError(
            f"config.encoder must be one of {spec.encoders} for method "
            f"{config.method!r}, got {config.encoder!r}."
        )
    for name in spec.sections:
        sections.SECTIONS[name][1](config)
    override_keys(config)
    if not spec.trains:
        return  # trains nothing: the schedule keys do not matter
    if config.num_steps == 0 and config.num_epochs == 0:
        raise ValueError("config.num_epochs or config.num_steps must be > 0.")


def method_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """``config`` without the sections of other methods: what a run records (config.json).

    The keys every run shares stay, and the sections its method reads.
    """
    own = set(registry.spec(config.method).sections)
    out = ml_collections.ConfigDict(config.to_dict())
    for name in sections.SECTIONS:
        if name not in own and name in out:
            del out[name]
    return out


# What a resumed run may change freely: where and how it runs, logs, saves and
# evaluates. Every other key (method and its section, model, data, batch size,
# train split, seed, optimizer, schedule, dtype) changes what the checkpoint
# goes on training, and must match the run or be named in resume_override.
RESUME_FREE = (
    "stop_at_step",
    "data_dir",
    "idx_dir",
    "num_devices",
    "heartbeat_timeout_s",
    "parallel",
    "worker_count",
    "read_threads",
    "log_every_steps",
    "log_example_ids",
    "checkpoint",
    "eval",
    "eval_split",
    "init_from",
    "resume_override",
    "skip_nonfinite_steps",
    "max_skipped_fraction",
)


def _flat(tree: dict, prefix: str = ""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", json.loads(json.dumps(value))  # tuples as JSON lists


def _covers(names, key: str) -> bool:
    return any(key == n or key.startswith(n + ".") for n in names)


def override_keys(config: ml_collections.ConfigDict) -> tuple[str, ...]:
    """``config.resume_override`` as key names; ValueError for a name the config lacks."""
    names = tuple(n.strip() for n in config.resume_override.split(",") if n.strip())
    known = [key for key, _ in _flat(config.to_dict())]
    for name in names:
        if not any(_covers((name,), key) for key in known):
            raise ValueError(
                f"config.resume_override names {name!r}, which is not a config key; "
                "give dotted keys separated by commas, e.g. 'optim.base_lr,num_steps'."
            )
    return names


def resume_changes(saved: dict, config: ml_collections.ConfigDict) -> dict[str, tuple]:
    """The keys of ``config`` that differ from the run's ``saved`` config and matter.

    ``{key: (saved value, new value)}`` over the keys outside
    :data:`RESUME_FREE` that both have: a key the saved config lacks (an older
    jaxssl wrote it) or this one lacks (another method's section; ``method``
    itself differs then) is not compared. ``resume_override`` is not applied
    here: the caller refuses what it does not cover and records the rest.
    """
    now = dict(_flat(method_config(config).to_dict()))
    old = dict(_flat(saved))
    return {
        key: (old[key], now[key])
        for key in sorted(set(now) & set(old))
        if not _covers(RESUME_FREE, key) and old[key] != now[key]
    }


def check_resume(saved: dict, config: ml_collections.ConfigDict, where: str) -> dict[str, tuple]:
    """The deliberate changes (``resume_override``) of a resumed run; ValueError for the others.

    Args:
      saved: the config the run's checkpoints were written with.
      config: this run's.
      where: the run's workdir and step, for the message.
    """
    changes = resume_changes(saved, config)
    names = override_keys(config)
    refused = {k: v for k, v in changes.items() if not _covers(names, k)}
    if refused:
        lines = "\n".join(f"  {k}: {a!r} in the run, {b!r} now" for k, (a, b) in refused.items())
        raise ValueError(
            f"this config is not the one the run in {where} was trained with:\n{lines}\n"
            "Resume with the run's values (its config.json), start afresh in another "
            "--workdir, or, for a deliberate change, name the keys: "
            f"--config.resume_override={','.join(refused)}"
        )
    return changes
