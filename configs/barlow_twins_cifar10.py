r"""Barlow Twins on CIFAR-10: ResNet-18 (CIFAR stem), batch 512, bf16.

Prepare the data once (needs a network): tfds build cifar10 --file_format=array_record
  python train.py --config=configs/barlow_twins_cifar10.py --workdir=runs/barlow_twins_c10

Starts from simclr_cifar10.py. Projector 2048 -> 2048, lambda 0.0051,
LARS at 0.3 x B/256 with weight decay 1e-4 (solo-learn's CIFAR recipe).

Expected: not yet measured with jaxssl (no GPU was available); these are the
intended settings.
"""

import os

from jaxssl.train.config import load_config_file


def get_config(epochs: str = "200"):
    """``epochs``: the length of the run (200 by default)."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_cifar10.py"), epochs)
    c.method = "barlow_twins"
    c.barlow_twins.lambda_ = 0.0051
    c.head.hidden_dim = 2048
    c.head.output_dim = 2048
    c.optim.base_lr = 0.3
    c.optim.weight_decay = 1e-4
    return c
