"""VAE on the 8x8 digits: ELBO with a Bernoulli decoder, samples and reconstructions.

Run (CPU is enough):
  python train.py --config=configs/vae_digits.py --workdir=runs/vae_digits
  python train.py --config=configs/vae_digits.py:4 --workdir=runs/bvae4   # beta = 4

configs/ae_digits.py's encoder widths and optimizer, for 3,300 steps, with
a 16-dimensional Gaussian posterior between encoder and decoder. The loss is
the negative ELBO in nats per image: the Bernoulli NLL summed over the 64
pixels + beta x KL. At the end: the held-out negative ELBO (beta = 1, one
noise draw per image) with its reconstruction and KL parts, kNN / linear
probe / k-means of the posterior means, WORKDIR/reconstructions.png and
WORKDIR/samples.png (decoded z ~ N(0, I)).

Expected (seed 0, 2-core CPU, under 5 minutes): held-out negative ELBO 24.15
nats = reconstruction 20.68 + KL 3.47; kNN 0.9070, linear probe 0.9268,
k-means 0.7775 (the encoder at random initialisation: 0.7859 / 0.8113 /
0.6423).
"""

import os

from jaxssl.train.config import load_config_file


def get_config(beta: str = "1"):
    """``beta``: the KL weight (1: the ELBO)."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "ae_digits.py"))
    c.method = "vae"
    c.generative.latent_dim = 16
    c.generative.beta = float(beta)
    c.num_epochs = 300  # 11 steps per epoch
    return c
