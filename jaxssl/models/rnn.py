"""LSTM language model (Zaremba et al. 2014 layout): embedding, stacked LSTMs, logits."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp


class LSTMLanguageModel(nn.Module):
    """Token ids ``[B, T]`` -> next-token logits ``[B, T, vocab_size]``.

    Each layer is :class:`flax.linen.RNN` over an
    :class:`flax.linen.OptimizedLSTMCell`, scanned over time, with dropout
    between layers while training.

    Attributes:
      vocab_size: number of token ids.
      embed_dim: token embedding width.
      hidden_dim: LSTM state width.
      num_layers: stacked LSTM layers.
      dropout_rate: dropout on the embeddings and between layers while
        training (needs a ``'dropout'`` RNG when > 0).
      dtype: computation dtype.
      param_dtype: parameter dtype.
    """

    vocab_size: int
    embed_dim: int = 256
    hidden_dim: int = 512
    num_layers: int = 2
    dropout_rate: float = 0.0
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, tokens, *, train: bool):
        """Token ids ``[B, T]`` -> logits ``[B, T, vocab_size]``."""
        kw = {"dtype": self.dtype, "param_dtype": self.param_dtype}
        drop = nn.Dropout(self.dropout_rate, deterministic=not train)
        x = drop(nn.Embed(self.vocab_size, self.embed_dim, **kw)(tokens))
        for i in range(self.num_layers):
            cell = nn.OptimizedLSTMCell(self.hidden_dim, **kw)
            x = drop(nn.RNN(cell, name=f"lstm{i + 1}")(x))
        return nn.Dense(self.vocab_size, **kw)(x)
