"""A tiny run for tests: SimCLR on the bundled digits with a 2-layer CNN, a few steps.

  python train.py --config=configs/tiny.py --workdir=/tmp/tiny

Expected: a few seconds on a CPU; the loss falls over the steps. The accuracy
it prints means nothing at this size.
"""

from jaxssl.train.config import default_config


def get_config():
    """Test-sized settings."""
    c = default_config()
    c.dataset = "digits"
    c.image_size = 8
    c.augment = "digits"
    c.encoder = "small_cnn"
    c.encoder_kwargs.features = (8, 16)
    c.encoder_kwargs.dense_features = 32
    c.head.hidden_dim = 32
    c.head.output_dim = 16
    c.batch_size = 64
    c.num_steps = 16
    # SGD (momentum 0.9): its update is proportional to the gradient, so runs on
    # other device and process counts follow the same curve to float32
    # rounding (tests/train/test_multiprocess.py). Adam's first updates are about
    # lr * sign(g), which turns the rounding of a gradient that is truly 0 into a
    # whole step: 1 x 8 and 2 x 4 devices then part ways within a few steps.
    c.optim.name = "sgd"
    c.optim.lr_scaling = "none"
    c.optim.base_lr = 1e-2
    c.optim.warmup_epochs = 0.0
    c.log_every_steps = 1
    c.checkpoint.every_steps = 8
    c.checkpoint.async_save = False
    c.eval.batch_size = 256
    c.eval.max_train_examples = 512
    c.eval.probe.weight_decays = (0.0, 1e-4)
    c.eval.probe.epochs = 20
    return c
