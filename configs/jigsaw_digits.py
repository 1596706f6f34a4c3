r"""Jigsaw puzzles (Noroozi & Favaro 2016) on the bundled digits: which order are the tiles in?

  python train.py --config=configs/jigsaw_digits.py --workdir=runs/jigsaw_digits

The encoder, data, augmentation, optimizer and schedule are those of
simclr_digits.py (this file starts from it). Each 8x8 digit is cut into 2x2
cells of 4 px; each tile is 3x3 at a random offset in its cell (1 px of
jitter), standardised on its own and resized to 8x8; all 24 orders of the 4
tiles are the classes (a 3x3 grid would leave 1-2 px tiles). The head is an
MLP (512 hidden) on the 4 tiles' concatenated 64 features.

Expected: docs/methods.md, "Results on digits" (seed 0, 2-core CPU): the
kNN, linear probe and k-means of the 355 held-out digits and the wall time,
beside every other method and the same encoder at random initialisation.
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """Jigsaw puzzles on digits."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_digits.py"))
    c.method = "jigsaw"
    c.jigsaw.grid = 2
    c.jigsaw.num_permutations = 24
    c.jigsaw.jitter = 1
    c.eval.baselines = False  # the random-init encoder is simclr_digits.py's; see docs/methods.md
    return c
