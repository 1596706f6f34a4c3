"""SimCLR on the 8x8 digits bundled with scikit-learn: the default run.

Run (CPU is enough):
  python train.py                      # this config
  python train.py --config=configs/simclr_digits.py --workdir=runs/digits

Small CNN encoder (conv 32-64-128, a 64-unit dense layer: the 64 features
the probes see), SimCLR v2 projection head (3 layers, BN, 512 hidden, 128
out), mild crops only (no flip: digits are not mirror-symmetric), LARS at
lr 1.2 x B/256 with 10 warm-up epochs and cosine decay, temperature 0.5,
batch 256 for 600 steps.

Expected (2-core CPU, about 2 minutes): kNN, linear probe and k-means on the
355 held-out digits for the pretrained encoder, the same encoder at random
initialisation and raw pixels; seeds 0-2 are in docs/evaluation.md, "Results
on digits", their means in README.md, "Results on digits".
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
    c.encoder_kwargs.dense_features = 64
    c.batch_size = 256
    c.num_epochs = 120  # 5 steps per epoch: 600 steps
    c.simclr.temperature = 0.5
    c.head.hidden_dim = 512
    c.head.output_dim = 128
    c.optim.name = "lars"
    c.optim.base_lr = 1.2
    c.optim.weight_decay = 1e-6
    c.optim.warmup_epochs = 10
    c.log_every_steps = 50
    c.checkpoint.every_steps = 500
    c.eval.knn_every_steps = 0
    # 20 neighbours, not the default 200: the bank has about 144 digits per
    # class, so 200 neighbours would always reach into other classes.
    c.eval.knn_k = 20
    # About 2,000 SGD steps for the probe (100 epochs are only 400 steps of
    # 256 on 1,153 digits, short of convergence).
    c.eval.probe.epochs = 500
    c.eval.baselines = True
    return c
