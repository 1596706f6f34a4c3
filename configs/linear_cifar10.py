r"""Linear evaluation of a CIFAR-10 encoder pretrained with simclr_cifar10.py.

  python train.py --config=configs/linear_cifar10.py --workdir=runs/c10_linear \
      --config.init_from=runs/c10_200

ResNet-18 features (512-d) of the 50,000 training and 10,000 test images are
extracted once, sharded over the devices; softmax regressions for five
weight decays train on device (90 epochs, batch 1024, SGD with Nesterov
momentum), the best on a stratified 10% of train is refitted on all of it.
Also kNN (k=200, temperature 0.1) and k-means.

Expected: not yet measured with jaxssl (no CIFAR-10 or GPU where it was
written). Published ResNet-18 SimCLR reproductions: about 85-88% linear
top-1 after 200 pretraining epochs.
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """simclr_cifar10.py's encoder and data, evaluated only."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_cifar10.py"))
    c.method = "linear_probe"
    c.eval.probe.epochs = 90
    c.eval.probe.batch_size = 1024
    c.eval.probe.val_fraction = 0.1
    return c
