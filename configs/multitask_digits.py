r"""SimCLR + rotation prediction on one encoder, weighed by learned uncertainty, on digits.

  python train.py --config=configs/multitask_digits.py --workdir=runs/multitask_digits
  python train.py --config=configs/multitask_digits.py --config.multitask.weighting=fixed

simclr_digits.py (this file starts from it: encoder, data, augmentation,
SimCLR's head and temperature, LARS, schedule) plus RotNet's 4-way linear
head on the four quarter turns of the first view. The losses are weighed as
Kendall et al. 2018 (``multitask.weighting='uncertainty'``: learned
log-variances, both weights 1/2 at the start) or by ``multitask.weights``
(``'fixed'``); each step logs both losses and both weights.

Expected: docs/methods.md, "Results on digits" (seed 0, 2-core CPU): the
kNN, linear probe and k-means of the 355 held-out digits, the final weights
and the wall time, beside SimCLR and rotation alone.
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """SimCLR + rotation on digits."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_digits.py"))
    c.method = "multitask"
    c.multitask.weighting = "uncertainty"
    c.eval.baselines = False  # the random-init encoder is simclr_digits.py's; see docs/methods.md
    return c
