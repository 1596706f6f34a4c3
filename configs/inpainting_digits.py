r"""Context-encoder inpainting (Pathak et al. 2016) on the bundled digits.

  python train.py --config=configs/inpainting_digits.py --workdir=runs/inpainting_digits

The encoder, data, augmentation, optimizer and schedule are those of
simclr_digits.py (this file starts from it). A 4x4 square (half of each side,
a quarter of the digit) at a random position is blanked in each augmented
digit; the encoder's 64 features go through a decoder (dense to 2x2x64, two
stride-2 transposed convs) back to 8x8, and the loss is the squared error on
the blanked pixels.

Expected: docs/methods.md, "Results on digits" (seed 0, 2-core CPU): the
kNN, linear probe and k-means of the 355 held-out digits and the wall time,
beside every other method and the same encoder at random initialisation.
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """Inpainting on digits."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_digits.py"))
    c.method = "inpainting"
    c.inpainting.mask_size = 0.5
    c.inpainting.random_position = True
    c.eval.baselines = False  # the random-init encoder is simclr_digits.py's; see docs/methods.md
    return c
