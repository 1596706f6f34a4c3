r"""MoCo v2 on CIFAR-10: ResNet-18 (CIFAR stem), batch 512, bf16.

Prepare the data once (needs a network): tfds build cifar10 --file_format=array_record
  python train.py --config=configs/moco_cifar10.py --workdir=runs/moco_c10

Starts from simclr_cifar10.py (encoder, data, augmentation, LARS schedule).
MoCo settings of solo-learn's CIFAR recipe: queue 32,768, temperature 0.2,
key-encoder momentum 0.99 rising to 1 (cosine), projection 2048 -> 256,
LARS at 0.3 x B/256 with weight decay 1e-5.

Expected: not yet measured with jaxssl (no GPU was available); these are the
intended settings.
"""

import os

from jaxssl.train.config import load_config_file


def get_config(epochs: str = "200"):
    """``epochs``: the length of the run (200 by default)."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_cifar10.py"), epochs)
    c.method = "moco"
    c.moco.queue_size = 32768
    c.moco.temperature = 0.2
    c.moco.momentum = 0.99
    c.moco.momentum_schedule = "cosine"
    c.head.output_dim = 256
    c.optim.base_lr = 0.3
    c.optim.weight_decay = 1e-5
    return c
