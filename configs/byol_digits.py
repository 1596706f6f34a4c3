r"""BYOL on the bundled digits: online network with a predictor, EMA target.

  python train.py --config=configs/byol_digits.py --workdir=runs/byol_digits

The encoder, data, augmentation (the same mild crops for both views: the
byol preset's colour and blur mean nothing on 8x8 grey digits), head,
optimizer and schedule are those of simclr_digits.py. Predictor: 512 wide.
The target's momentum rises from 0.99 to 1 along a cosine over the 600
steps (BYOL's 0.996 is for runs of 100k steps and more).

Expected (seed 0, 2-core CPU, about 190 s with the evaluation): on the 355
held-out digits kNN 0.9690, linear probe 0.9718, k-means 0.8056; the same
encoder at random initialisation gives 0.9070 / 0.8930 / 0.5690 (README,
"Pretraining methods").
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
    c.eval.baselines = False  # the random-init encoder is simclr_digits.py's; see README
    return c
