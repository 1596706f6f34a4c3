r"""Rotation prediction (RotNet) on the bundled digits: which of four quarter turns?

  python train.py --config=configs/rotation_digits.py --workdir=runs/rotation_digits

The encoder, data, augmentation, optimizer and schedule are those of
simclr_digits.py (this file starts from it); the head is a 4-way linear
classifier on the encoder's 64 features.

Expected: docs/methods.md, "Results on digits" (seed 0, 2-core CPU): the
kNN, linear probe and k-means of the 355 held-out digits and the wall time,
beside every other method and the same encoder at random initialisation.
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """Rotation prediction on digits."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_digits.py"))
    c.method = "rotation"
    c.eval.baselines = False  # the random-init encoder is simclr_digits.py's; see docs/methods.md
    return c
