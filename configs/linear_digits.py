r"""Linear evaluation of a digits encoder: kNN, linear probe and k-means, no training.

Pretrain first, then point init_from at that run's workdir:
  python train.py --workdir=runs/digits                      # SimCLR, about 2 minutes
  python train.py --config=configs/linear_digits.py --workdir=runs/digits_linear \
      --config.init_from=runs/digits

The encoder, data and input scaling are those of ``simclr_digits.py`` (this
file starts from it). The features of both splits are extracted once; a
softmax regression is trained on device for each weight decay in
``eval.probe.weight_decays``, the best on a stratified 20% of train is
refitted on all of train and scored on the 355 test digits. With
``eval.baselines`` (on) the same probes run on the random-init encoder and
on raw pixels. Without init_from the encoder is the random-init one.

Expected: the linear and kNN numbers of the pretraining run's own final line
(docs/evaluation.md, "Results on digits"), in about 10 s on a CPU.
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """simclr_digits.py's encoder and data, evaluated only."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_digits.py"))
    c.method = "linear_probe"
    c.eval.baselines = True
    return c
