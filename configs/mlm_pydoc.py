"""Masked LM on Python's bundled documentation text: a small BERT-style encoder, bytes.

Run (CPU is enough):
  python train.py --config=configs/mlm_pydoc.py --workdir=runs/mlm_pydoc

Byte-level tokens (jaxssl.data.text), the 71 training topics of pydoc_text
packed into rows of 64 tokens; BERT's corruption on device (15% of the
tokens chosen; of those 80% [MASK], 10% a random byte, 10% unchanged); 2
bidirectional blocks of width 128 (4 heads, MLP 512, dropout 0.1) with the
tied MLM head; AdamW 3e-3 with warm-up and cosine, batch 32 for 1,500 steps.
At the end: held-out masked-token loss and accuracy on the 8 test topics
(one fixed corruption).

Expected: see the README's "Generative and language pretraining" table.
"""

from jaxssl.train.config import default_config


def get_config():
    """The masked-LM run."""
    c = default_config()
    c.method = "masked_lm"
    c.dataset = "pydoc_text"
    c.encoder = "bert"
    c.encoder_kwargs.max_len = 64
    c.encoder_kwargs.hidden_dim = 128
    c.encoder_kwargs.depth = 2
    c.encoder_kwargs.num_heads = 4
    c.encoder_kwargs.mlp_dim = 512
    c.encoder_kwargs.dropout_rate = 0.1
    c.text.seq_len = 64
    c.text.mask_prob = 0.15
    c.batch_size = 32
    c.num_epochs, c.num_steps = 1, 1500
    c.optim.name = "adamw"
    c.optim.base_lr = 3e-3
    c.optim.lr_scaling = "none"
    c.optim.weight_decay = 0.01
    c.optim.warmup_epochs = 1  # about 100 steps
    c.optim.clip_norm = 1.0
    c.log_every_steps = 100
    c.checkpoint.every_steps = 500
    c.eval.batch_size = 64
    return c
