"""Vision Transformer (Dosovitskiy et al. 2021): ViT-Ti/S/B with any patch size.

Pre-LayerNorm encoder blocks, learned position embeddings, a class token
(``pool='cls'``) or mean pooling over patches (``pool='mean'``, no class
token), final LayerNorm. ViT-B/16 with a 1000-class head at 224x224 has
86,567,656 parameters, the published count.

torchvision's ViTs are the same network with the exact GELU:
``ViT(..., approximate_gelu=False)`` with the parameters of
:func:`from_torchvision` gives their logits; with Flax's default tanh GELU
they differ slightly.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

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
      approximate_gelu: the blocks' GELU in tanh form (Flax's default, True)
        or exact (torchvision's and timm's, False).
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
    approximate_gelu: bool = True

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
                approximate_gelu=self.approximate_gelu,
                name=f"block{i + 1}",
                **dense_kw,
            )(x, train=train)
        x = nn.LayerNorm(name="norm", **dense_kw)(x)
        x = x[:, 0] if self.pool == "cls" else jnp.mean(x, axis=1)
        if self.num_classes is None:
            return x
        return nn.Dense(self.num_classes, name="head", **dense_kw)(x)


def from_torchvision(state_dict, num_heads: int) -> dict:
    """The parameters of :class:`ViT` from a torchvision ``VisionTransformer``'s ``state_dict``.

    ``state_dict`` maps torchvision's names to arrays (NumPy, or tensors'
    ``.numpy()``): ``conv_proj``, ``class_token``, ``encoder.pos_embedding``,
    ``encoder.layers.encoder_layer_{i}.{ln_1, self_attention, ln_2, mlp.0, mlp.3}``,
    ``encoder.ln`` and ``heads.head`` (absent for a model without a head).
    Linear weights ``[out, in]`` become kernels ``[in, out]``; the attention's
    packed ``in_proj`` (query, key, value stacked) is split per head; the
    patch convolution ``[D, C, p, p]`` becomes an HWIO kernel. Use with
    ``ViT(patch_size=p, hidden_dim=D, depth=..., num_heads=num_heads,
    mlp_dim=..., num_classes=..., approximate_gelu=False)`` on NHWC images.
    Written here because torchvision's layout is not Flax's and no library
    converts it.
    """
    sd = {k: np.asarray(v, np.float32) for k, v in state_dict.items()}
    dim = sd["class_token"].shape[-1]
    head_dim = dim // num_heads

    def dense(prefix):
        return {"kernel": sd[f"{prefix}.weight"].T, "bias": sd[f"{prefix}.bias"]}

    def norm(prefix):
        return {"scale": sd[f"{prefix}.weight"], "bias": sd[f"{prefix}.bias"]}

    params = {
        "patch_embed": {
            "kernel": sd["conv_proj.weight"].transpose(2, 3, 1, 0),
            "bias": sd["conv_proj.bias"],
        },
        "cls_token": sd["class_token"],
        "pos_embed": sd["encoder.pos_embedding"],
        "norm": norm("encoder.ln"),
    }
    depth = 1 + max(
        int(k.split(".")[2].rpartition("_")[2]) for k in sd if k.startswith("encoder.layers.")
    )
    for i in range(depth):
        layer = f"encoder.layers.encoder_layer_{i}"
        attn = f"{layer}.self_attention"
        w_qkv = sd[f"{attn}.in_proj_weight"].reshape(3, num_heads, head_dim, dim)
        b_qkv = sd[f"{attn}.in_proj_bias"].reshape(3, num_heads, head_dim)
        qkv = {
            name: {"kernel": w_qkv[j].transpose(2, 0, 1), "bias": b_qkv[j]}
            for j, name in enumerate(("query", "key", "value"))
        }
        out = sd[f"{attn}.out_proj.weight"]  # [dim, heads * head_dim]
        qkv["out"] = {
            "kernel": out.T.reshape(num_heads, head_dim, dim),
            "bias": sd[f"{attn}.out_proj.bias"],
        }
        params[f"block{i + 1}"] = {
            "LayerNorm_0": norm(f"{layer}.ln_1"),
            "MultiHeadDotProductAttention_0": qkv,
            "LayerNorm_1": norm(f"{layer}.ln_2"),
            "Dense_0": dense(f"{layer}.mlp.0"),
            "Dense_1": dense(f"{layer}.mlp.3"),
        }
    if "heads.head.weight" in sd:
        params["head"] = dense("heads.head")
    return params


ViTTi = partial(ViT, hidden_dim=192, depth=12, num_heads=3, mlp_dim=768)
ViTS = partial(ViT, hidden_dim=384, depth=12, num_heads=6, mlp_dim=1536)
ViTB = partial(ViT, hidden_dim=768, depth=12, num_heads=12, mlp_dim=3072)
