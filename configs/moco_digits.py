r"""MoCo v2 on the bundled digits: momentum key encoder and a queue of negatives.

  python train.py --config=configs/moco_digits.py --workdir=runs/moco_digits

The encoder, data, augmentation, head, optimizer and schedule are those of
simclr_digits.py (this file starts from it). The queue holds 512 keys (two
batches): the training split has only 1,442 images, and a longer queue would
hold stale keys of the very images being queried. With 600 steps the key
encoder's momentum is 0.99 (MoCo's 0.999 suits runs 100x longer).

Expected: docs/methods.md, "Results on digits" (seed 0, 2-core CPU): the
kNN, linear probe and k-means of the 355 held-out digits and the wall time,
beside every other method and the same encoder at random initialisation.
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """MoCo v2 on digits."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_digits.py"))
    c.method = "moco"
    c.moco.temperature = 0.2
    c.moco.queue_size = 512
    c.moco.momentum = 0.99
    c.eval.baselines = False  # the random-init encoder is simclr_digits.py's; see docs/methods.md
    return c
