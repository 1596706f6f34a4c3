"""Masked LM on Python's bundled documentation text: a small BERT-style encoder, bytes.

Run (CPU is enough):
  python train.py --config=configs/mlm_pydoc.py --workdir=runs/mlm_pydoc

configs/gpt_pydoc.py's data (rows of 64 byte tokens), network size,
optimizer and 1,500 steps of batch 32, with the causal decoder replaced by
the bidirectional BERT-style encoder and its tied MLM head (0.46 M
parameters). BERT's corruption runs on device: 15% of the tokens are
chosen, of those 80% become [MASK], 10% a random byte and 10% stay. At the
end: held-out masked-token loss and accuracy on the 8 test topics, under one
fixed corruption.

Expected (seed 0, 2-core CPU, about 3.5 minutes): held-out masked-token loss
2.200 nats, accuracy 0.409.
"""

import os

from jaxssl.train.config import load_config_file


def get_config():
    """The masked-LM run."""
    c = load_config_file(os.path.join(os.path.dirname(__file__), "gpt_pydoc.py"))
    c.method = "masked_lm"
    c.encoder = "bert"
    c.text.mask_prob = 0.15
    return c
