r"""Barlow Twins on the bundled digits: the cross-correlation of the views towards the identity.

  python train.py --config=configs/barlow_twins_digits.py --workdir=runs/barlow_twins_digits

The encoder, data, augmentation, head (128 outputs), optimizer and schedule
are those of simclr_digits.py (this file starts from it); lambda = 5e-3.

Expected: docs/methods.md, "Results on digits" (seed 0, 2-core CPU): the
kNN, linear probe and k-means of the 355 held-out digits and the wall time,
beside every other method and the same encoder at random initialisation.
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """Barlow Twins on digits."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_digits.py"))
    c.method = "barlow_twins"
    c.barlow_twins.lambda_ = 5e-3
    c.eval.baselines = False  # the random-init encoder is simclr_digits.py's; see docs/methods.md
    return c
