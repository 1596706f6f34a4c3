r"""Triplet pretraining on the bundled digits: an image's two views against other images.

  python train.py --config=configs/triplet_digits.py --workdir=runs/triplet_digits

The encoder, data, augmentation, head, optimizer and schedule are those of
simclr_digits.py (this file starts from it). Unit-norm projections, squared
distances, margin 0.2, batch-hard mining (each view's hardest negative among
the 511 other views of the batch).

Expected (seed 0, 2-core CPU, about 100 s with the evaluation): on the 355
held-out digits kNN 0.9775, linear probe 0.9746, k-means 0.7831; the same
encoder at random initialisation gives 0.9070 / 0.8930 / 0.5690 (README,
"Pretraining methods").
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """Triplet pretraining on digits."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_digits.py"))
    c.method = "triplet"
    c.triplet.margin = 0.2
    c.triplet.mining = "hard"
    c.eval.baselines = False  # the random-init encoder is simclr_digits.py's; see README
    return c
