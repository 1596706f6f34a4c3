"""The configuration schema: every key a run understands, with its default.

Config files (``configs/*.py``) start from :func:`default_config` and change
values; :func:`validate` rejects keys the schema does not have (a typo must not
silently train with a default) and values out of range, before anything is
compiled or read.
"""

from __future__ import annotations

import importlib.util
import os

import ml_collections

DTYPES = ("float32", "bfloat16")
PARALLEL = ("jit", "pmap")
# The pretraining methods (jaxssl/methods/); classifier fine-tunes (or trains from
# scratch) with labels; linear_probe trains nothing: it evaluates an encoder
# (init_from) with probes.
PRETRAINING = ("simclr", "moco", "byol", "simsiam", "barlow_twins", "vicreg", "rotation", "triplet")
GENERATIVE = ("autoencoder", "vae", "gan")  # image models that reconstruct or generate
GAN_LOSSES = ("non_saturating", "hinge", "least_squares")
# byte-level text (jaxssl.data.text): method -> the encoders (models) it takes
LANGUAGE = {"masked_lm": ("bert",), "causal_lm": ("gpt", "lstm_lm")}
SUPERVISED = ("classifier", "linear_probe")
METHODS = PRETRAINING + GENERATIVE + tuple(LANGUAGE) + SUPERVISED
EMA_SCHEDULES = ("constant", "cosine")
TRIPLET_MINING = ("hard", "semi-hard", "all")
OPTIMIZERS = ("lars", "sgd", "adamw")
LR_SCALING = ("linear", "sqrt", "none")


def default_config() -> ml_collections.ConfigDict:
    """All keys with their defaults (SimCLR on the bundled digits, small CNN)."""
    c = ml_collections.ConfigDict()
    c.method = "simclr"  # one of METHODS
    c.seed = 0
    # data
    c.dataset = "digits"  # bundled (digits) or any TFDS dataset prepared as array_record
    c.data_dir = ""  # '' = $TFDS_DATA_DIR or ~/tensorflow_datasets
    c.train_split = "train"
    c.eval_split = "test"
    c.image_key = "image"
    c.label_key = "label"
    c.num_classes = 0  # 0: from the dataset's metadata
    c.load_size = 0  # > 0: resize (shorter side) and centre-crop on the host, for datasets
    # whose images differ in size (imagenet2012); 0 keeps them as stored
    c.image_size = 8  # augmented view side
    c.augment = "digits"  # digits | simclr | byol
    c.augment_strength = 1.0  # SimCLR's colour-jitter strength s
    c.worker_count = 0  # Grain worker processes
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
    # method: the projection head (and predictor) of every two-view method
    c.head = ml_collections.ConfigDict()
    c.head.name = "simclr_v2_head"  # simclr_v1_head | simclr_v2_head (rotation: linear, 4-way)
    c.head.hidden_dim = 512
    c.head.output_dim = 128
    c.head.predictor_hidden = 512  # byol, simsiam: the predictor's bottleneck
    c.simclr = ml_collections.ConfigDict()
    c.simclr.temperature = 0.2
    c.simclr.chunk_size = 0  # > 0: blockwise NT-Xent (O(N*K) memory)
    c.moco = ml_collections.ConfigDict()
    c.moco.temperature = 0.2
    c.moco.queue_size = 4096  # negatives; at least the global batch (MoCo: 65,536)
    c.moco.momentum = 0.999  # the key encoder's EMA momentum
    c.moco.momentum_schedule = "constant"  # constant | cosine (rises to 1)
    c.byol = ml_collections.ConfigDict()
    c.byol.momentum = 0.996  # the target's EMA momentum at step 0
    c.byol.momentum_schedule = "cosine"  # constant | cosine (rises to 1)
    c.barlow_twins = ml_collections.ConfigDict()
    c.barlow_twins.lambda_ = 5e-3  # off-diagonal weight
    c.vicreg = ml_collections.ConfigDict()
    c.vicreg.sim = 25.0
    c.vicreg.var = 25.0
    c.vicreg.cov = 1.0
    c.triplet = ml_collections.ConfigDict()
    c.triplet.margin = 0.2
    c.triplet.mining = "hard"  # hard | semi-hard (O(N^3) memory) | all
    c.triplet.squared = True  # squared Euclidean distances of unit embeddings
    # autoencoder and vae: the convolutional nets of jaxssl.models.autoencoder
    c.generative = ml_collections.ConfigDict()
    c.generative.features = (32, 64)  # encoder widths, each halving the resolution
    c.generative.latent_dim = 16  # vae: size of z
    c.generative.beta = 1.0  # vae: KL weight (1: the ELBO)
    c.generative.pictures = 64  # images in the PNG grids (0: none)
    c.generative.pictures_every_steps = 0  # > 0: also WORKDIR/pictures/<name>_<step>.png
    c.gan = ml_collections.ConfigDict()
    c.gan.latent_dim = 64  # the generator's noise
    c.gan.base_features = 64  # DCGAN width next to the image
    c.gan.loss = "non_saturating"  # non_saturating | hinge | least_squares
    # masked_lm (encoder bert) and causal_lm (encoder gpt or lstm_lm) on a text dataset
    c.text = ml_collections.ConfigDict()
    c.text.seq_len = 128  # tokens (bytes) per packed row
    c.text.text_key = "text"  # the records' text field
    c.text.mask_prob = 0.15  # masked_lm: chance a token is chosen (80/10/10 corruption)
    # fine-tuning (method = classifier)
    c.finetune = ml_collections.ConfigDict()
    c.finetune.label_fraction = 1.0  # < 1: class-balanced labelled subset (0.01, 0.1)
    c.finetune.subset_seed = 0  # chooses that subset; fixed across run seeds
    c.finetune.label_smoothing = 0.0
    c.finetune.freeze_encoder = False  # head only (set optim.encoder_lr_mult = 0 too)
    c.finetune.augment = True  # the `augment` preset on the training images (its
    # normalisation applies either way)
    # with label_fraction < 1: pseudo-label the rest at these confidence thresholds
    c.finetune.pseudo_label_thresholds = (0.5, 0.8, 0.9, 0.95, 0.99)
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
    c.skip_nonfinite_steps = False  # True: skip updates with a non-finite loss or gradient
    # norm (counted as skipped_steps) instead of stopping with an error
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


def _choice(value, choices, name):
    if value not in choices:
        raise ValueError(f"config.{name} must be one of {choices}, got {value!r}.")


def _get(config, name: str):
    for part in name.split("."):
        config = config[part]
    return config


def _positive(config, names, *, allow_zero=False):
    for name in names:
        value = _get(config, name)
        if value < 0 or (value == 0 and not allow_zero):
            bound = ">= 0" if allow_zero else "> 0"
            raise ValueError(f"config.{name} must be {bound}, got {value!r}.")


def _fraction(config, name, interval):
    """``config.<name>`` must lie in ``interval``: "(0, 1]", "[0, 1)" or "[0, 1]"."""
    value = _get(config, name)
    ok = {"(0, 1]": 0 < value <= 1, "[0, 1)": 0 <= value < 1, "[0, 1]": 0 <= value <= 1}[interval]
    if not ok:
        raise ValueError(f"config.{name} must be in {interval}, got {value!r}.")


def validate(config: ml_collections.ConfigDict) -> None:
    """Raises ``ValueError`` for an unknown key or an invalid value, naming it."""
    unknown = sorted(_unknown(config, default_config()))
    if unknown:
        raise ValueError(
            f"unknown config key(s): {', '.join(unknown)}; see jaxssl/train/config.py "
            "for every key."
        )
    _choice(config.method, METHODS, "method")
    _choice(config.dtype, DTYPES, "dtype")
    _choice(config.parallel, PARALLEL, "parallel")
    _choice(config.optim.name, OPTIMIZERS, "optim.name")
    _choice(config.optim.lr_scaling, LR_SCALING, "optim.lr_scaling")
    _choice(config.moco.momentum_schedule, EMA_SCHEDULES, "moco.momentum_schedule")
    _choice(config.byol.momentum_schedule, EMA_SCHEDULES, "byol.momentum_schedule")
    _choice(config.triplet.mining, TRIPLET_MINING, "triplet.mining")
    _choice(config.gan.loss, GAN_LOSSES, "gan.loss")
    _positive(config, ["gan.latent_dim", "gan.base_features"])
    _positive(config, ["batch_size", "image_size", "simclr.temperature", "optim.base_lr"])
    _positive(config, ["head.hidden_dim", "head.output_dim", "head.predictor_hidden"])
    _positive(config, ["moco.temperature", "moco.queue_size", "generative.latent_dim"])
    if not config.generative.features or min(config.generative.features) < 1:
        raise ValueError(
            "config.generative.features must be one or more widths >= 1, got "
            f"{tuple(config.generative.features)!r}."
        )
    _fraction(config, "moco.momentum", "[0, 1]")
    _fraction(config, "byol.momentum", "[0, 1]")
    _positive(config, ["eval.batch_size", "eval.knn_k", "log_every_steps"])
    _positive(config, ["eval.probe.batch_size", "eval.probe.learning_rate", "eval.probe.epochs"])
    _positive(config, ["checkpoint.every_steps", "checkpoint.keep"])
    _positive(
        config,
        [
            "num_epochs",
            "num_steps",
            "num_devices",
            "load_size",
            "stop_at_step",
            "worker_count",
            "simclr.chunk_size",
            "optim.warmup_epochs",
            "optim.weight_decay",
            "optim.clip_norm",
            "eval.knn_every_steps",
            "eval.max_train_examples",
            "eval.embeddings",
            "num_classes",
            "finetune.label_smoothing",
            "optim.encoder_lr_mult",
            "eval.probe.val_fraction",
            "barlow_twins.lambda_",
            "vicreg.sim",
            "vicreg.var",
            "vicreg.cov",
            "triplet.margin",
            "generative.beta",
            "generative.pictures",
            "generative.pictures_every_steps",
        ],
        allow_zero=True,
    )
    _fraction(config, "finetune.label_fraction", "(0, 1]")
    _fraction(config, "finetune.label_smoothing", "[0, 1)")
    _fraction(config, "eval.probe.val_fraction", "[0, 1)")
    if any(not 0 <= t <= 1 for t in config.finetune.pseudo_label_thresholds):
        raise ValueError(
            "config.finetune.pseudo_label_thresholds must be probabilities in [0, 1], got "
            f"{tuple(config.finetune.pseudo_label_thresholds)!r}."
        )
    if not config.eval.probe.weight_decays or min(config.eval.probe.weight_decays) < 0:
        raise ValueError(
            "config.eval.probe.weight_decays must be one or more values >= 0, got "
            f"{tuple(config.eval.probe.weight_decays)!r}."
        )
    _positive(config, ["text.seq_len"])
    _fraction(config, "text.mask_prob", "(0, 1]")
    if config.method in LANGUAGE and config.encoder not in LANGUAGE[config.method]:
        raise ValueError(
            f"config.encoder must be one of {LANGUAGE[config.method]} for method "
            f"{config.method!r}, got {config.encoder!r}."
        )
    if config.method == "linear_probe":
        return  # trains nothing: the schedule keys do not matter
    if config.num_steps == 0 and config.num_epochs == 0:
        raise ValueError("config.num_epochs or config.num_steps must be > 0.")
    if config.method == "moco" and config.moco.queue_size < config.batch_size:
        raise ValueError(
            f"config.moco.queue_size must be >= config.batch_size ({config.batch_size}): each "
            f"step enqueues the whole global batch; got {config.moco.queue_size}."
        )
