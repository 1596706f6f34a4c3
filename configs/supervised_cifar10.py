r"""The supervised baseline on CIFAR-10: ResNet-18 (CIFAR stem), cross-entropy, bf16.

Prepare the data once (needs a network): tfds build cifar10 --file_format=array_record
  python train.py --config=configs/supervised_cifar10.py --workdir=runs/supervised_c10

Starts from simclr_cifar10.py's network and data; a linear head trained
with the labels from random initialisation: crops, flips and 20% greyscale
(colour-jitter strength 0), SGD with Nesterov momentum at 0.1 x B/256, weight decay 5e-4,
cosine decay, label smoothing 0.1. The usual ResNet-18 recipe reaches about
95% test accuracy in 200 epochs.

Expected: not yet measured with jaxssl (no GPU was available); these are the
intended settings.
"""

import os

from jaxssl.train.config import load_config_file


def get_config(epochs: str = "200"):
    """``epochs``: the length of the run (200 by default)."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_cifar10.py"), epochs)
    c.method = "classifier"
    c.augment_strength = 0.0
    c.finetune.label_smoothing = 0.1
    c.optim.name = "sgd"
    c.optim.nesterov = True
    c.optim.base_lr = 0.1
    c.optim.weight_decay = 5e-4
    c.optim.warmup_epochs = 0
    c.eval.knn_every_steps = 0
    return c
