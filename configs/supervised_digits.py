r"""The supervised baseline on the bundled digits: the same network trained on the labels.

  python train.py --config=configs/supervised_digits.py --workdir=runs/supervised_digits

The classic Keras image-classifier recipe on simclr_digits.py's encoder (the
small CNN, same data and input scaling): a linear softmax head, cross-entropy,
random crops as augmentation, Adam (AdamW, weight decay 1e-4) at 1e-3 with
cosine decay, batch 64 for 30 epochs, from random initialisation. It is
``method = classifier`` without ``init_from``; every methods table has it as
the reference that used all labels.

Expected: docs/methods.md, "Results on digits" (seed 0, 2-core CPU): test
top-1 on the 355 held-out digits, kNN of its encoder's features and the wall
time, beside the self-supervised methods.
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """Supervised training from scratch on digits."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_digits.py"))
    c.method = "classifier"
    c.init_from = ""
    c.batch_size = 64
    c.num_epochs = 30
    c.finetune.augment = True
    c.optim.name = "adamw"
    c.optim.base_lr = 1e-3
    c.optim.lr_scaling = "none"
    c.optim.warmup_epochs = 0
    c.optim.weight_decay = 1e-4
    c.log_every_steps = 20
    c.eval.baselines = False
    return c
