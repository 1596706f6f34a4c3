r"""SimCLR on ImageNet: ResNet-50, batch 4096, LARS lr 0.3 x B/256, 100 epochs, blockwise loss.

Prepare the data once (the archives must be downloaded by hand first, see
TFDS's imagenet2012 page), on storage every host can read:
  tfds build imagenet2012 --file_format=array_record --data_dir=gs://BUCKET/tfds

Run on a TPU pod: the same command on every host; jaxssl calls
jax.distributed.initialize() when the environment says it is one of several
processes, each process reads its own shard, and only process 0 writes logs.
  gcloud compute tpus tpu-vm ssh NAME --worker=all --command="cd jaxssl && \\
    python train.py --config=configs/simclr_imagenet.py \\
      --config.data_dir=gs://BUCKET/tfds --workdir=gs://BUCKET/runs/simclr_in1k"

On one 8-GPU host the same command without gcloud.

Settings are the SimCLR paper's (Chen et al. 2020): 224x224 crops with blur,
jitter strength 1.0, temperature 0.1, LARS with weight decay 1e-6 (biases
and BN excluded), 10 warm-up epochs, cosine; a 3-layer SimCLR v2 head.
Images are resized on the host to 256 (shorter side) and centre-cropped
before the on-device random resized crop; the NT-Xent runs blockwise (1024
candidates per block) so the 8192 x 8192 logits are never stored at once.

Expected: not yet measured with jaxssl. The SimCLR paper reports about 64-65%
linear accuracy after 100 epochs at batch 4096 (its Figure 9).
"""

from jaxssl.train.config import default_config


def get_config():
    """The 100-epoch ImageNet run."""
    c = default_config()
    c.dataset = "imagenet2012"
    c.eval_split = "validation"
    c.load_size = 256
    c.image_size = 224
    c.augment = "simclr"
    c.augment_strength = 1.0
    c.encoder = "resnet50"
    c.dtype = "bfloat16"
    c.batch_size = 4096
    c.num_epochs = 100
    c.simclr.temperature = 0.1
    c.simclr.chunk_size = 1024
    c.head.name = "simclr_v2_head"
    c.head.hidden_dim = 2048
    c.head.output_dim = 128
    c.optim.name = "lars"
    c.optim.base_lr = 0.3
    c.optim.lr_scaling = "linear"
    c.optim.weight_decay = 1e-6
    c.optim.warmup_epochs = 10
    c.worker_count = 16
    c.log_every_steps = 100
    c.checkpoint.every_steps = 1000
    c.eval.knn_every_steps = 10000
    c.eval.knn_k = 20
    c.eval.max_train_examples = 100_000
    c.eval.batch_size = 4096
    c.eval.kmeans = False  # 1000 clusters on 50k x 2048: use jaxssl.eval.cluster offline
    c.eval.linear_probe = False  # too large for scikit-learn; see the evaluation module
    return c
