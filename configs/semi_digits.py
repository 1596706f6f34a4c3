r"""Semi-supervised digits: fine-tune on 1% or 10% of the labels, then pseudo-label the rest.

  python train.py --config=configs/semi_digits.py:10 --workdir=runs/digits_10pct \
      --config.init_from=runs/digits
  python train.py --config=configs/semi_digits.py:1 --workdir=runs/digits_1pct \
      --config.init_from=runs/digits

The argument is the percentage of training labels kept: a class-balanced,
fixed subset (``finetune.subset_seed``), nested (the 1% digits are among the
10%): 1 example per class at 1%, 14 at 10%. Fine-tuning as in
finetune_digits.py but without label smoothing (it caps the confidence the
thresholds below compare with), for 200 steps. Then the fine-tuned network labels the
other training digits; for each threshold in
``finetune.pseudo_label_thresholds`` the confident ones join the labelled
set and a linear classifier on the fine-tuned features is retrained on both.
kNN uses the labelled subset as its bank. Without init_from: the
random-init baseline.

Expected: see docs/evaluation.md, "Results on digits" (CPU, about 20 s each).
"""

import os

from jaxssl.train.config import load_config_file


def get_config(percent: str = "10"):
    """``percent``: '1' or '10' (any value in (0, 100] works)."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "finetune_digits.py"))
    c.finetune.label_fraction = float(percent) / 100
    # No label smoothing: with 0.1 over 10 classes the best a smoothed model
    # can say is 0.91, so thresholds like 0.95 would mean nothing.
    c.finetune.label_smoothing = 0.0
    c.batch_size = 8 if c.finetune.label_fraction < 0.05 else 32
    c.num_steps = 200  # batches run across epochs of the small labelled set
    c.log_every_steps = 20
    return c
