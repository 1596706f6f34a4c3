r"""Fine-tune a digits encoder with every training label (or a fraction of them).

  python train.py --config=configs/finetune_digits.py --workdir=runs/digits_ft \
      --config.init_from=runs/digits

Starts from simclr_digits.py (same encoder, data and augmentation), copies
the pretrained encoder from init_from, adds a linear head and trains both with
label-smoothed (0.1) cross-entropy: SGD with Nesterov momentum, the encoder
at a tenth of the head's learning rate, 30 epochs of batch 64, cosine decay.
Without init_from it trains the same network from random initialisation
(the supervised baseline). ``--config.finetune.freeze_encoder=True
--config.optim.encoder_lr_mult=0`` trains the head alone (linear evaluation
with augmentation).

Expected: see docs/evaluation.md, "Results on digits" (CPU, about 25 s).
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """Full fine-tune on the digits."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "simclr_digits.py"))
    c.method = "classifier"
    c.batch_size = 64
    c.num_epochs = 30
    c.finetune.label_smoothing = 0.1
    c.optim.name = "sgd"
    c.optim.nesterov = True
    c.optim.momentum = 0.9
    c.optim.base_lr = 0.4  # x 64/256 = 0.1 at the peak
    c.optim.lr_scaling = "linear"
    c.optim.warmup_epochs = 0
    c.optim.weight_decay = 1e-4
    c.optim.encoder_lr_mult = 0.1
    c.log_every_steps = 20
    c.checkpoint.every_steps = 1000
    c.eval.baselines = False
    return c
