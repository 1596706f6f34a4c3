r"""BYOL on the bundled digits: online network with a predictor, EMA target.

  python train.py --config=configs/byol_digits.py --workdir=runs/byol_digits

The encoder, data, augmentation (the same mild crops for both views: the
byol preset's colour and blur mean nothing on 8x8 grey digits), head,
optimizer and schedule are those of simclr_digits.py. Predictor: 512 wide.
The target's momentum rises from 0.99 to 1 along a cosine over the 600
steps (BYOL's 0.996 is for runs of 100k steps and more).

Expected: docs/methods.md, "Results on digits" (seed 0, 2-core CPU): the
kNN, linear probe and k-means of the 355 held-out digits and the wall time,
beside every other method and the same encoder at random initialisation.
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """BYOL on digits."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_digits.py"))
    c.method = "byol"
    c.byol.momentum = 0.99
    c.byol.momentum_schedule = "cosine"
    c.head.predictor_hidden = 512
    c.eval.baselines = False  # the random-init encoder is simclr_digits.py's; see docs/methods.md
    return c
