r"""Triplet pretraining on the bundled digits: an image's two views against other images.

  python train.py --config=configs/triplet_digits.py --workdir=runs/triplet_digits

The encoder, data, augmentation, head, optimizer and schedule are those of
simclr_digits.py (this file starts from it). Unit-norm projections, squared
distances, margin 0.2, batch-hard mining (each view's hardest negative among
the 511 other views of the batch).

Expected: docs/methods.md, "Results on digits" (seed 0, 2-core CPU): the
kNN, linear probe and k-means of the 355 held-out digits and the wall time,
beside every other method and the same encoder at random initialisation.
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """Triplet pretraining on digits."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_digits.py"))
    c.method = "triplet"
    c.triplet.margin = 0.2
    c.triplet.mining = "hard"
    c.eval.baselines = False  # the random-init encoder is simclr_digits.py's; see docs/methods.md
    return c
