r"""Triplet pretraining on CIFAR-10: ResNet-18 (CIFAR stem), batch 512, bf16.

Prepare the data once (needs a network): tfds build cifar10 --file_format=array_record
  python train.py --config=configs/triplet_cifar10.py --workdir=runs/triplet_c10

Starts from simclr_cifar10.py (same views, head and LARS schedule). Unit-norm
projections, squared distances, margin 0.2, batch-hard mining over the 1,023
other views of each view.

Expected: not yet measured with jaxssl (no GPU was available); these are the
intended settings.
"""

import os

from jaxssl.train.config import load_config_file


def get_config(epochs: str = "200"):
    """``epochs``: the length of the run (200 by default)."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_cifar10.py"), epochs)
    c.method = "triplet"
    c.triplet.margin = 0.2
    c.triplet.mining = "hard"
    return c
