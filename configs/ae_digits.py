"""Convolutional autoencoder on the 8x8 digits: binary cross-entropy reconstruction.

Run (CPU is enough):
  python train.py --config=configs/ae_digits.py --workdir=runs/ae_digits

Encoder conv 32-64 with 2x2 max-pools (the 2x2x64 = 256 codes are the
features the probes see), transposed-conv decoder to per-pixel Bernoulli
logits, AdamW at 1e-3 with cosine decay, batch 128 for 2,200 steps. At the end:
held-out per-pixel BCE and MSE on the test split, kNN / linear probe /
k-means of the codes, and WORKDIR/reconstructions.png (rows of 8 test
digits, each followed by the row of their reconstructions).

Expected (seed 0, 2-core CPU, about 2 minutes): held-out BCE 0.2315 per
pixel, MSE 0.0032; codes kNN 0.8761, linear probe 0.9746, k-means 0.7014
(the encoder at random initialisation: 0.8986 / 0.9746 / 0.7268).
"""

from jaxssl.train.config import default_config


def get_config():
    """The autoencoder run."""
    c = default_config()
    c.method = "autoencoder"
    c.dataset = "digits"
    c.image_size = 8
    c.generative.features = (32, 64)
    c.batch_size = 128
    c.num_epochs = 200  # 11 steps per epoch
    c.optim.name = "adamw"
    c.optim.base_lr = 1e-3
    c.optim.lr_scaling = "none"
    c.optim.weight_decay = 1e-4
    c.optim.warmup_epochs = 5
    c.log_every_steps = 100
    c.checkpoint.every_steps = 1000
    c.eval.baselines = True
    return c
