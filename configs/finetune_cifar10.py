r"""Fine-tune a CIFAR-10 encoder pretrained with simclr_cifar10.py; label fractions optional.

  python train.py --config=configs/finetune_cifar10.py --workdir=runs/c10_ft \
      --config.init_from=runs/c10_200
  python train.py --config=configs/finetune_cifar10.py --workdir=runs/c10_ft10 \
      --config.init_from=runs/c10_200 --config.finetune.label_fraction=0.1

ResNet-18 and a linear head, 100 epochs of batch 512, SGD with Nesterov
momentum at 0.05 x B/256 (the encoder at the same rate), label smoothing
0.1, crops and flips with the colour jitter off (strength 0; random
grayscale stays), bf16 compute.

Expected: not yet measured with jaxssl. Fine-tuned SimCLR ResNets on
CIFAR-10 commonly reach 93-95% top-1.
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """Full fine-tune on CIFAR-10."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_cifar10.py"))
    c.method = "classifier"
    c.augment_strength = 0.0
    c.batch_size = 512
    c.num_epochs = 100
    c.finetune.label_smoothing = 0.1
    c.optim.name = "sgd"
    c.optim.nesterov = True
    c.optim.base_lr = 0.05
    c.optim.warmup_epochs = 0
    c.optim.weight_decay = 5e-4
    c.eval.knn_every_steps = 0
    return c
