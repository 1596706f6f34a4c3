"""Next-token LM on Python's bundled documentation text: a 2-layer LSTM, bytes.

Run (CPU is enough):
  python train.py --config=configs/lstm_pydoc.py --workdir=runs/lstm_pydoc
  python -m jaxssl.generate --workdir=runs/lstm_pydoc --prompt="The for statement"

configs/gpt_pydoc.py's data, rows of 64 byte tokens, optimizer and 1,500
steps of batch 32, with the GPT replaced by the LSTM language model
(embedding 64, two LSTM layers of 256, no dropout; 0.94 M parameters).

Expected (seed 0, 2-core CPU, about 3.5 minutes): held-out 2.196 bits per
byte (1.523 nats per token) on the 8 test topics, against 4.776 for the
unigram baseline.
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """The LSTM run."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "gpt_pydoc.py"))
    c.encoder = "lstm_lm"
    c.encoder_kwargs = {"embed_dim": 64, "hidden_dim": 256, "num_layers": 2}
    return c
