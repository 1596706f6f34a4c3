r"""Rotation prediction (RotNet) on CIFAR-10: ResNet-18 (CIFAR stem), batch 512, bf16.

Prepare the data once (needs a network): tfds build cifar10 --file_format=array_record
  python train.py --config=configs/rotation_cifar10.py --workdir=runs/rotation_c10

Starts from simclr_cifar10.py, with colour-jitter strength 0 (crops, flips
and 20% greyscale remain: colour does not tell a rotation). SGD with momentum 0.9 at 0.1 x
B/256, weight decay 5e-4, as in Gidaris et al.'s CIFAR experiments.

Expected: not yet measured with jaxssl (no GPU was available); these are the
intended settings.
"""

import os

from jaxssl.train.config import load_config_file


def get_config(epochs: str = "200"):
    """``epochs``: the length of the run (200 by default)."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_cifar10.py"), epochs)
    c.method = "rotation"
    c.augment_strength = 0.0
    c.optim.name = "sgd"
    c.optim.base_lr = 0.1
    c.optim.weight_decay = 5e-4
    return c
