"""Pre-LayerNorm transformers: a BERT-style encoder with a tied MLM head, a GPT-style decoder.

Both embed tokens with :class:`flax.linen.Embed` plus learned positions, run
:class:`EncoderBlock` s (LayerNorm -> self-attention -> residual, LayerNorm ->
MLP -> residual; Xiong et al. 2020), and end with a LayerNorm. Output logits
reuse the token-embedding matrix (``Embed.attend``), as BERT's MLM head and
GPT-2 do, so there is no separate ``[hidden, vocab]`` output matrix.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp


class EncoderBlock(nn.Module):
    """One pre-LN transformer block; ``mask`` is an attention mask ``[B, 1|H, T, T]``.

    ``approximate_gelu``: the MLP's GELU in Flax's default tanh form (True) or
    the exact ``x * Phi(x)`` that torchvision and timm use (False).
    """

    num_heads: int
    mlp_dim: int
    dropout_rate: float = 0.0
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32
    approximate_gelu: bool = True

    @nn.compact
    def __call__(self, x, *, mask=None, train: bool):
        """``[B, T, D]`` -> ``[B, T, D]``."""
        kw = {"dtype": self.dtype, "param_dtype": self.param_dtype}
        drop = nn.Dropout(self.dropout_rate, deterministic=not train)
        y = nn.LayerNorm(**kw)(x)
        y = nn.MultiHeadDotProductAttention(
            num_heads=self.num_heads,
            dropout_rate=self.dropout_rate,
            deterministic=not train,
            **kw,
        )(y, y, mask=mask)
        x = x + drop(y)
        y = nn.LayerNorm(**kw)(x)
        y = nn.Dense(self.mlp_dim, **kw)(y)
        y = nn.gelu(y, approximate=self.approximate_gelu)
        y = nn.Dense(x.shape[-1], **kw)(drop(y))
        return x + drop(y)


class _TokenTransformer(nn.Module):
    """Shared trunk: embeddings, blocks, final LayerNorm, tied output projection."""

    vocab_size: int
    max_len: int = 512
    hidden_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_dim: int = 3072
    dropout_rate: float = 0.1
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    def setup(self):
        kw = {"dtype": self.dtype, "param_dtype": self.param_dtype}
        self.token_embed = nn.Embed(
            self.vocab_size, self.hidden_dim, embedding_init=nn.initializers.normal(0.02), **kw
        )
        self.pos_embed = self.param(
            "pos_embed", nn.initializers.normal(0.02), (self.max_len, self.hidden_dim)
        )
        self.dropout = nn.Dropout(self.dropout_rate)
        self.blocks = [
            EncoderBlock(self.num_heads, self.mlp_dim, self.dropout_rate, **kw)
            for _ in range(self.depth)
        ]
        self.norm = nn.LayerNorm(**kw)

    def _trunk(self, tokens, mask, train):
        if tokens.ndim != 2:
            raise ValueError(f"tokens must have shape [B, T], got shape {tokens.shape}.")
        if tokens.shape[1] > self.max_len:
            raise ValueError(
                f"tokens has length {tokens.shape[1]}, more than max_len={self.max_len}."
            )
        x = self.token_embed(tokens) + jnp.asarray(self.pos_embed[: tokens.shape[1]], self.dtype)
        x = self.dropout(x, deterministic=not train)
        for block in self.blocks:
            x = block(x, mask=mask, train=train)
        return self.norm(x)


class BertEncoder(_TokenTransformer):
    """BERT-style bidirectional encoder with a masked-LM head tied to the token embedding.

    ``__call__`` returns MLM logits ``[B, T, vocab_size]``: hidden states go
    through Dense -> GELU -> LayerNorm, then ``h @ E.T + b`` with ``E`` the
    token embedding (Devlin et al. 2019). :meth:`encode` returns the hidden
    states ``[B, T, hidden_dim]``.

    Attributes:
      vocab_size: number of token ids.
      max_len: longest sequence (size of the position table).
      hidden_dim: token width.
      depth: number of blocks.
      num_heads: attention heads.
      mlp_dim: hidden width of each block's MLP.
      dropout_rate: dropout while training (needs a ``'dropout'`` RNG when > 0).
      dtype: computation dtype.
      param_dtype: parameter dtype.
    """

    def setup(self):  # noqa: D102
        super().setup()
        kw = {"dtype": self.dtype, "param_dtype": self.param_dtype}
        self.mlm_dense = nn.Dense(self.hidden_dim, **kw)
        self.mlm_norm = nn.LayerNorm(**kw)
        self.mlm_bias = self.param("mlm_bias", nn.initializers.zeros, (self.vocab_size,))

    def encode(self, tokens, padding_mask=None, *, train: bool):
        """Hidden states ``[B, T, hidden_dim]``; ``padding_mask [B, T]`` is True on real tokens."""
        mask = None if padding_mask is None else nn.make_attention_mask(padding_mask, padding_mask)
        return self._trunk(tokens, mask, train)

    def __call__(self, tokens, padding_mask=None, *, train: bool):
        """Token ids ``[B, T]`` -> MLM logits ``[B, T, vocab_size]``."""
        h = self.encode(tokens, padding_mask, train=train)
        h = self.mlm_norm(nn.gelu(self.mlm_dense(h)))
        return self.token_embed.attend(h) + jnp.asarray(self.mlm_bias, self.dtype)


class GPT(_TokenTransformer):
    """GPT-style decoder: causal self-attention, next-token logits from the tied embedding.

    Position ``t`` of the output depends only on tokens ``0..t`` (a causal
    mask in every block). Attributes as :class:`BertEncoder`.
    """

    def __call__(self, tokens, *, train: bool):
        """Token ids ``[B, T]`` -> logits ``[B, T, vocab_size]`` for the next token."""
        h = self._trunk(tokens, nn.make_causal_mask(tokens), train)
        return self.token_embed.attend(h)
