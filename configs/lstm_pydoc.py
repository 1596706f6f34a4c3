"""Next-token LM on Python's bundled documentation text: a 2-layer LSTM, bytes.

Run (CPU is enough):
  python train.py --config=configs/lstm_pydoc.py --workdir=runs/lstm_pydoc
  python -m jaxssl.generate --workdir=runs/lstm_pydoc --prompt="The for statement"

Byte-level tokens (jaxssl.data.text: 256 bytes + 4 specials), the 71 training
topics of pydoc_text packed into rows of 64 tokens; embedding 64, two LSTM
layers of 256 (Zaremba et al. layout, no dropout), AdamW 3e-3, warm-up, cosine,
batch 32 for 1,500 steps. At the end: held-out loss (nats per token) and bits
per byte on the 8 test topics, beside the unigram baseline (bits per byte of
the test bytes under the training bytes' frequencies).

Expected: see the README's "Generative and language pretraining" table.
"""

from jaxssl.train.config import default_config


def get_config():
    """The LSTM run."""
    c = default_config()
    c.method = "causal_lm"
    c.dataset = "pydoc_text"
    c.encoder = "lstm_lm"
    c.encoder_kwargs.embed_dim = 64
    c.encoder_kwargs.hidden_dim = 256
    c.encoder_kwargs.num_layers = 2
    c.text.seq_len = 64
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
