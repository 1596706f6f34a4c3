r"""VICReg on the bundled digits: invariance, variance and covariance terms.

  python train.py --config=configs/vicreg_digits.py --workdir=runs/vicreg_digits

The encoder, data, augmentation, head, optimizer and schedule are those of
simclr_digits.py (this file starts from it); weights 25 / 25 / 1 as in the
paper.

Expected: docs/methods.md, "Results on digits" (seed 0, 2-core CPU): the
kNN, linear probe and k-means of the 355 held-out digits and the wall time,
beside every other method and the same encoder at random initialisation.
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """VICReg on digits."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_digits.py"))
    c.method = "vicreg"
    c.eval.baselines = False  # the random-init encoder is simclr_digits.py's; see docs/methods.md
    return c
