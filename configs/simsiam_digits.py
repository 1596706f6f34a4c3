r"""SimSiam on the bundled digits: predictor and stop-gradient, no target network.

  python train.py --config=configs/simsiam_digits.py --workdir=runs/simsiam_digits

The encoder, data, augmentation, head, optimizer and schedule are those of
simclr_digits.py (this file starts from it); predictor 512 wide.

Expected: docs/methods.md, "Results on digits" (seed 0, 2-core CPU): the
kNN, linear probe and k-means of the 355 held-out digits and the wall time,
beside every other method and the same encoder at random initialisation.
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """SimSiam on digits."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_digits.py"))
    c.method = "simsiam"
    c.head.predictor_hidden = 512
    c.eval.baselines = False  # the random-init encoder is simclr_digits.py's; see docs/methods.md
    return c
