r"""BYOL on CIFAR-10: ResNet-18 (CIFAR stem), batch 512, bf16.

Prepare the data once (needs a network): tfds build cifar10 --file_format=array_record
  python train.py --config=configs/byol_cifar10.py --workdir=runs/byol_c10

Starts from simclr_cifar10.py. BYOL's asymmetric augmentation (the byol
preset: blur and solarisation differ between the views), projector 4096 ->
256, predictor 4096, target momentum 0.99 -> 1 (cosine), LARS at 1.0 x B/256
with weight decay 1e-5 (solo-learn's CIFAR recipe).

Expected: not yet measured with jaxssl (no GPU was available); these are the
intended settings.
"""

import os

from jaxssl.train.config import load_config_file


def get_config(epochs: str = "200"):
    """``epochs``: the length of the run (200 by default)."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_cifar10.py"), epochs)
    c.method = "byol"
    c.augment = "byol"
    c.byol.momentum = 0.99
    c.head.hidden_dim = 4096
    c.head.output_dim = 256
    c.head.predictor_hidden = 4096
    c.optim.weight_decay = 1e-5
    return c
