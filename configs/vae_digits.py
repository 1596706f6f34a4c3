"""VAE on the 8x8 digits: ELBO with a Bernoulli decoder, samples and reconstructions.

Run (CPU is enough):
  python train.py --config=configs/vae_digits.py --workdir=runs/vae_digits
  python train.py --config=configs/vae_digits.py:4 --workdir=runs/bvae4   # beta = 4

Encoder conv 32-64 -> 16-dimensional Gaussian posterior, decoder back to
per-pixel Bernoulli logits; the loss is the negative ELBO in nats per image
(reconstruction NLL summed over the 64 pixels + beta x KL). AdamW at 1e-3 with
cosine decay, batch 128 for 3,300 steps. At the end: the held-out negative
ELBO (beta = 1, one noise draw per image) with its reconstruction and KL
parts, kNN / linear probe / k-means of the posterior means, and
WORKDIR/reconstructions.png and WORKDIR/samples.png (decoded z ~ N(0, I)).

Expected: see the README's "Generative and language pretraining" table.
"""

from jaxssl.train.config import default_config


def get_config(beta: str = "1"):
    """``beta``: the KL weight (1: the ELBO)."""
    c = default_config()
    c.method = "vae"
    c.dataset = "digits"
    c.image_size = 8
    c.generative.features = (32, 64)
    c.generative.latent_dim = 16
    c.generative.beta = float(beta)
    c.batch_size = 128
    c.num_epochs = 300  # 11 steps per epoch
    c.optim.name = "adamw"
    c.optim.base_lr = 1e-3
    c.optim.lr_scaling = "none"
    c.optim.weight_decay = 1e-4
    c.optim.warmup_epochs = 5
    c.log_every_steps = 100
    c.checkpoint.every_steps = 1000
    c.eval.baselines = True
    return c
