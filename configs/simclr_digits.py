"""SimCLR on the 8x8 digits bundled with scikit-learn: the default run.

Run (CPU is enough):
  python train.py                      # this config
  python train.py --config=configs/simclr_digits.py --workdir=runs/digits

Small CNN encoder (512-d features), SimCLR v2 projection head (3 layers, BN),
mild crops only (no flip: digits are not mirror-symmetric), LARS at
lr 1.2 x B/256 with warm-up and cosine decay, temperature 0.2.

Expected (2-core CPU, about TODO s): on the 355 held-out digits, kNN ~TODO and
linear probe ~TODO for the pretrained encoder, against ~TODO linear for the
same encoder at random initialisation and ~0.96-0.97 for raw pixels.
"""

from jaxssl.train.config import default_config


def get_config():
    """The default run."""
    c = default_config()
    c.dataset = "digits"
    c.image_size = 8
    c.augment = "digits"
    c.encoder = "small_cnn"
    c.encoder_kwargs.features = (32, 64, 128)
    c.encoder_kwargs.dense_features = 512
    c.batch_size = 256
    c.num_epochs = 200
    c.simclr.temperature = 0.2
    c.optim.name = "lars"
    c.optim.base_lr = 1.2
    c.optim.weight_decay = 1e-6
    c.optim.warmup_epochs = 10
    c.log_every_steps = 50
    c.checkpoint.every_steps = 500
    c.eval.knn_every_steps = 0
    c.eval.baselines = True
    return c
