r"""VICReg on the bundled digits: invariance, variance and covariance terms.

  python train.py --config=configs/vicreg_digits.py --workdir=runs/vicreg_digits

The encoder, data, augmentation, head, optimizer and schedule are those of
simclr_digits.py (this file starts from it); weights 25 / 25 / 1 as in the
paper.

Expected (seed 0, 2-core CPU, about 140 s with the evaluation): on the 355
held-out digits kNN 0.9718, linear probe 0.9746, k-means 0.7662; the same
encoder at random initialisation gives 0.9070 / 0.8930 / 0.5690 (README,
"Pretraining methods").
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """VICReg on digits."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_digits.py"))
    c.method = "vicreg"
    c.eval.baselines = False  # the random-init encoder is simclr_digits.py's; see README
    return c
