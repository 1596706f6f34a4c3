r"""Rotation prediction (RotNet) on the bundled digits: which of four quarter turns?

  python train.py --config=configs/rotation_digits.py --workdir=runs/rotation_digits

The encoder, data, augmentation, optimizer and schedule are those of
simclr_digits.py (this file starts from it); the head is a 4-way linear
classifier on the encoder's 64 features.

Expected (seed 0, 2-core CPU, about 220 s with the evaluation): on the 355
held-out digits kNN 0.8310, linear probe 0.9099, k-means 0.4254; the same
encoder at random initialisation gives 0.9070 / 0.8930 / 0.5690 (README,
"Pretraining methods").
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """Rotation prediction on digits."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_digits.py"))
    c.method = "rotation"
    c.eval.baselines = False  # the random-init encoder is simclr_digits.py's; see README
    return c
