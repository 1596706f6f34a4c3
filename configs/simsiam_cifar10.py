r"""SimSiam on CIFAR-10: ResNet-18 (CIFAR stem), batch 512, bf16.

Prepare the data once (needs a network): tfds build cifar10 --file_format=array_record
  python train.py --config=configs/simsiam_cifar10.py --workdir=runs/simsiam_c10

Starts from simclr_cifar10.py. The paper's CIFAR settings: projector 2048 ->
2048, predictor bottleneck 512, SGD with momentum 0.9 at 0.03 x B/256 (0.06
here), weight decay 5e-4, cosine decay without warm-up.

Expected: not yet measured with jaxssl (no GPU was available); these are the
intended settings.
"""

import os

from jaxssl.train.config import load_config_file


def get_config(epochs: str = "200"):
    """``epochs``: the length of the run (200 by default)."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_cifar10.py"), epochs)
    c.method = "simsiam"
    c.head.hidden_dim = 2048
    c.head.output_dim = 2048
    c.head.predictor_hidden = 512
    c.optim.name = "sgd"
    c.optim.base_lr = 0.03
    c.optim.weight_decay = 5e-4
    c.optim.warmup_epochs = 0
    return c
