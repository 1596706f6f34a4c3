"""SimCLR on CIFAR-10: ResNet-18 (CIFAR stem), batch 512, LARS, on-device augmentation, bf16.

Prepare the data once (needs a network; TFDS writes array_record):
  tfds build cifar10 --file_format=array_record

Run on one or more GPUs, or a TPU host (the arg after ':' is the epoch count,
200 by default; 800 is the long schedule):
  python train.py --config=configs/simclr_cifar10.py --workdir=runs/c10_200
  python train.py --config=configs/simclr_cifar10.py:800 --workdir=runs/c10_800

Settings follow SimCLR's CIFAR-10 recipe (Chen et al. 2020, appendix B.9):
colour jitter strength 0.5 and no blur at 32x32, temperature 0.5, LARS at
lr 1.0 x B/256 with weight decay 1e-6 (biases and BN excluded), 10 warm-up
epochs then cosine. The final line reports kNN and a linear probe on frozen
features of the test split.

Expected: not yet measured with jaxssl. Published ResNet-18 SimCLR
reproductions reach roughly 85-88% linear accuracy after 200 epochs and about
90-91% after 800-1000 (solo-learn reports 90.7% at 1000 epochs).
"""

from jaxssl.train.config import default_config


def get_config(epochs: str = "200"):
    """``epochs``: '200' or '800' (any positive integer works)."""
    c = default_config()
    c.dataset = "cifar10"
    c.image_size = 32
    c.augment = "simclr"
    c.augment_strength = 0.5
    c.encoder = "resnet18"
    c.encoder_kwargs.stem = "cifar"
    c.dtype = "bfloat16"
    c.batch_size = 512
    c.num_epochs = int(epochs)
    c.simclr.temperature = 0.5
    c.head.name = "simclr_v2_head"
    c.head.hidden_dim = 2048
    c.head.output_dim = 128
    c.optim.name = "lars"
    c.optim.base_lr = 1.0
    c.optim.lr_scaling = "linear"
    c.optim.weight_decay = 1e-6
    c.optim.warmup_epochs = 10
    c.worker_count = 4
    c.log_every_steps = 50
    c.checkpoint.every_steps = 2000
    c.eval.knn_every_steps = 5000
    c.eval.knn_k = 200
    c.eval.knn_temperature = 0.1
    c.eval.batch_size = 1024
    return c
