"""Vision Transformer (Dosovitskiy et al. 2021): ViT-Ti/S/B with any patch size.

Pre-LayerNorm encoder blocks, learned position embeddings, a class token
(``pool='cls'``) or mean pooling over patches (``pool='mean'``, no class
token), final LayerNorm. ViT-B/16 with a 1000-class head at 224x224 has
86,567,656 parameters, the published count.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxssl.models._common import Conv, check_choice
from jaxssl.models.transformer import EncoderBlock

POOLS = ("cls", "mean")


class ViT(nn.Module):
    """ViT on NHWC images whose height and width are multiples of ``patch_size``.

    Attributes:
      patch_size: side of the square patches.
      hidden_dim: token width.
      depth: number of encoder blocks.
      num_heads: attention heads.
      mlp_dim: hidden width of each block's MLP.
      num_classes: dense head on the pooled token; ``None`` returns it.
      pool: ``'cls'`` or ``'mean'``.
      dropout_rate: dropout in the blocks while training.
      dtype: computation dtype.
      param_dtype: parameter dtype.
    """

    patch_size: int = 16
    hidden_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_dim: int = 3072
    num_classes: int | None = None
    pool: str = "cls"
    dropout_rate: float = 0.0
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool):
        """Images ``[B, H, W, C]`` -> ``[B, hidden_dim]`` or logits ``[B, num_classes]``."""
        check_choice(self.pool, "pool", POOLS)
        p = self.patch_size
        if x.shape[1] % p or x.shape[2] % p:
            raise ValueError(
                f"image height and width must be multiples of patch_size={p}, "
                f"got images of shape {x.shape}."
            )
        dense_kw = {"dtype": self.dtype, "param_dtype": self.param_dtype}
        x = Conv(self.hidden_dim, (p, p), strides=(p, p), name="patch_embed", **dense_kw)(
            jnp.asarray(x, self.dtype)
        )
        x = x.reshape(x.shape[0], -1, self.hidden_dim)
        if self.pool == "cls":
            cls = self.param("cls_token", nn.initializers.zeros, (1, 1, self.hidden_dim))
            cls = jnp.broadcast_to(jnp.asarray(cls, self.dtype), (x.shape[0], 1, self.hidden_dim))
            x = jnp.concatenate([cls, x], axis=1)
        pos = self.param(
            "pos_embed", nn.initializers.normal(0.02), (1, x.shape[1], self.hidden_dim)
        )
        x = nn.Dropout(self.dropout_rate, deterministic=not train)(x + jnp.asarray(pos, self.dtype))
        for i in range(self.depth):
            x = EncoderBlock(
                num_heads=self.num_heads,
                mlp_dim=self.mlp_dim,
                dropout_rate=self.dropout_rate,
                name=f"block{i + 1}",
                **dense_kw,
            )(x, train=train)
        x = nn.LayerNorm(name="norm", **dense_kw)(x)
        x = x[:, 0] if self.pool == "cls" else jnp.mean(x, axis=1)
        if self.num_classes is None:
            return x
        return nn.Dense(self.num_classes, name="head", **dense_kw)(x)


ViTTi = partial(ViT, hidden_dim=192, depth=12, num_heads=3, mlp_dim=768)
ViTS = partial(ViT, hidden_dim=384, depth=12, num_heads=6, mlp_dim=1536)
ViTB = partial(ViT, hidden_dim=768, depth=12, num_heads=12, mlp_dim=3072)
