"""DCGAN on the 8x8 digits: alternating D and G updates, fixed-noise sample grids.

Run (CPU is enough):
  python train.py --config=configs/gan_digits.py --workdir=runs/gan_digits
  python train.py --config=configs/gan_digits.py:hinge --workdir=runs/gan_hinge

Generator: 64-dimensional noise -> dense 4x4x128 map -> BatchNorm/ReLU ->
transposed conv to 8x8x1 -> tanh. Discriminator: conv 4x4 stride 2 (64) ->
LeakyReLU -> dense logit. Adam (lr 2e-4, beta1 0.5: DCGAN's settings) per
network, constant rate, batch 128, 3,300 steps. The argument after ':' is the
loss: non_saturating (default), hinge or least_squares.

Logged every 100 steps: d_loss, g_loss, d_real (mean D(x)), d_fake (mean
D(G(z))), d_accuracy and diversity (mean pairwise distance of generated
images over that of real ones: near 0 means mode collapse). Written:
WORKDIR/pictures/samples_<step>.png every 500 steps and WORKDIR/samples.png at
the end, all from the same fixed noise; kNN / linear probe / k-means of the
discriminator's features.

Expected (seed 0, 2-core CPU, about 2.5 minutes): at the last logged step
D(x) 0.526, D(G(z)) 0.471, D accuracy 0.73, diversity 0.98; the
discriminator's features give kNN 0.9437, linear probe 0.9746, k-means 0.8000.
"""

from jaxssl.train.config import default_config


def get_config(loss: str = "non_saturating"):
    """``loss``: non_saturating, hinge or least_squares."""
    c = default_config()
    c.method = "gan"
    c.dataset = "digits"
    c.image_size = 8
    c.gan.loss = loss
    c.gan.latent_dim = 64
    c.gan.base_features = 64
    c.batch_size = 128
    c.num_epochs = 300  # 11 steps per epoch
    c.optim.name = "adamw"
    c.optim.base_lr = 2e-4
    c.optim.lr_scaling = "none"
    c.optim.b1 = 0.5
    c.optim.weight_decay = 0.0
    c.optim.warmup_epochs = 0
    c.optim.end_lr_fraction = 1.0  # constant
    c.log_every_steps = 100
    c.checkpoint.every_steps = 1000
    c.generative.pictures_every_steps = 500
    return c
