r"""SimSiam on the bundled digits: predictor and stop-gradient, no target network.

  python train.py --config=configs/simsiam_digits.py --workdir=runs/simsiam_digits

The encoder, data, augmentation, head, optimizer and schedule are those of
simclr_digits.py (this file starts from it); predictor 512 wide.

Expected (seed 0, 2-core CPU, about 140 s with the evaluation): on the 355
held-out digits kNN 0.9831, linear probe 0.9746, k-means 0.7972; the same
encoder at random initialisation gives 0.9070 / 0.8930 / 0.5690 (README,
"Pretraining methods").
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """SimSiam on digits."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_digits.py"))
    c.method = "simsiam"
    c.head.predictor_hidden = 512
    c.eval.baselines = False  # the random-init encoder is simclr_digits.py's; see README
    return c
