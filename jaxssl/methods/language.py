"""Language pretraining on byte-level text: masked LM (BERT) and next-token LM (GPT, LSTM).

Batches hold packed rows of token ids (:func:`jaxssl.data.text.pack`) under
``token_key`` and the rows' global ``index``. Random numbers (the MLM
corruption, dropout) are drawn per row from its index, so a batch split over
devices sees the numbers the global batch would.

Losses are means over scored positions of the **global** batch: each
device's loss is ``local sum * devices / global count`` (``psum`` of the
counts), so the generic step's ``pmean`` of gradients and of the loss gives
exactly the global mean's gradient and value. Under ``jit`` the batch is
global and this is the plain mean.

Held-out numbers come from ``eval_terms`` (per-row sums, averaged over rows
by the loop) and ``summarize`` (ratios of those means):

* masked LM: ``loss`` (nats per masked token) and ``accuracy`` on a fixed
  15% corruption of the eval rows (the key is each row's position);
* next-token LM: ``loss`` (nats per predicted token, ``[SEP]`` included) and
  ``bits_per_byte``: the negative log2-likelihood of the byte tokens only,
  per byte (the tokens are bytes, so this is the usual bits per byte).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Hashable

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from jaxssl._src.numerics import example_keys
from jaxssl.data import text


def _global_mean(total: jax.Array, count: jax.Array, axis_name: Hashable | None) -> jax.Array:
    """This device's share of the global mean ``sum(total) / sum(count)`` (see the module doc)."""
    if axis_name is None:
        return total / jnp.maximum(count, 1.0)
    devices = lax.psum(1, axis_name)
    return total * devices / jnp.maximum(lax.psum(count, axis_name), 1.0)


def _token_nll(logits: jax.Array, targets: jax.Array) -> jax.Array:
    logits = logits.astype(jnp.float32)
    return -jnp.take_along_axis(jax.nn.log_softmax(logits), targets[..., None], -1)[..., 0]


@dataclasses.dataclass(frozen=True)
class _TokenMethod:
    net: nn.Module
    axis_name: Hashable | None = None
    token_key: str = "tokens"

    def init(self, rng: jax.Array, sample: dict) -> dict:
        """``{'params': ...}`` from a sample batch of token rows."""
        tokens = jnp.asarray(sample[self.token_key])
        return dict(self.net.init({"params": rng, "dropout": rng}, tokens, train=False))

    def _apply(self, params, tokens, train: bool, rng=None, **kwargs):
        rngs = {"dropout": rng} if train else {}
        return self.net.apply({"params": params}, tokens, train=train, rngs=rngs, **kwargs)


@dataclasses.dataclass(frozen=True)
class MaskedLM(_TokenMethod):
    """BERT's masked-LM objective (Devlin et al. 2019) with 80/10/10 corruption on device.

    Attributes:
      net: a :class:`~jaxssl.models.BertEncoder` over :data:`jaxssl.data.text.VOCAB_SIZE`.
      mask_prob: chance that a (non-special) token is chosen for prediction.
      axis_name: the pmap axis, or None under jit.
      token_key: the batch's field of token rows.
    """

    mask_prob: float = 0.15

    EVAL_TERMS = ("nll_sum", "correct", "masked")

    def __post_init__(self):
        if not 0 < self.mask_prob <= 1:
            raise ValueError(f"mask_prob must be in (0, 1], got {self.mask_prob!r}.")

    def _corrupt(self, rng, tokens, indices):
        mask = jax.vmap(lambda k, row: text.mask_tokens(k, row, mask_prob=self.mask_prob))
        return mask(example_keys(rng, indices, view=None), tokens)

    def _terms(self, params, tokens, indices, rng, train, dropout_rng=None):
        inputs, targets, chosen = self._corrupt(rng, tokens, indices)
        logits = self._apply(params, inputs, train, dropout_rng, padding_mask=tokens != text.PAD)
        nll = _token_nll(logits, targets)
        correct = (jnp.argmax(logits, -1) == targets) & chosen
        weights = chosen.astype(jnp.float32)
        return nll * weights, correct.astype(jnp.float32), weights

    def loss_fn(self, params, state: dict, batch: dict, rng: jax.Array):
        """Mean cross-entropy at the chosen positions of the global batch; metric ``accuracy``."""
        tokens, index = jnp.asarray(batch[self.token_key]), batch["index"]
        k_mask, k_drop = jax.random.split(rng)
        nll, correct, weights = self._terms(params, tokens, index, k_mask, True, k_drop)
        count = jnp.sum(weights)
        loss = _global_mean(jnp.sum(nll), count, self.axis_name)
        accuracy = _global_mean(jnp.sum(correct), count, self.axis_name)
        return loss, (state, {"accuracy": accuracy})

    def eval_terms(self, params, state: dict, tokens: jax.Array) -> jax.Array:
        """``[B, 3]`` per row: summed NLL, correct predictions and masked tokens (fixed mask)."""
        del state
        tokens = jnp.asarray(tokens)
        rows = jnp.arange(tokens.shape[0])
        nll, correct, weights = self._terms(params, tokens, rows, jax.random.key(0), False)
        return jnp.stack([nll.sum(1), correct.sum(1), weights.sum(1)], axis=1)

    def summarize(self, means: dict) -> dict:
        """``loss`` (nats per masked token) and ``accuracy`` on the held-out rows."""
        n = max(means["masked"], 1e-12)
        return {"loss": means["nll_sum"] / n, "accuracy": means["correct"] / n}


@dataclasses.dataclass(frozen=True)
class CausalLM(_TokenMethod):
    """Next-token prediction with a causal model (GPT or the LSTM).

    Attributes:
      net: a :class:`~jaxssl.models.GPT` or :class:`~jaxssl.models.LSTMLanguageModel`.
      axis_name: the pmap axis, or None under jit.
      token_key: the batch's field of token rows.
    """

    EVAL_TERMS = ("nll_sum", "tokens", "byte_nll_sum", "bytes")

    def _terms(self, params, tokens, train, dropout_rng=None):
        inputs, targets, weights = text.next_token_batch(tokens)
        nll = _token_nll(self._apply(params, inputs, train, dropout_rng), targets)
        weights = weights.astype(jnp.float32)
        is_byte = (targets >= text.N_SPECIAL).astype(jnp.float32)
        return nll * weights, weights, nll * is_byte, is_byte

    def loss_fn(self, params, state: dict, batch: dict, rng: jax.Array):
        """Mean next-token cross-entropy (nats) of the global batch; metric ``bits_per_byte``."""
        tokens = jnp.asarray(batch[self.token_key])
        nll, weights, byte_nll, is_byte = self._terms(params, tokens, True, rng)
        loss = _global_mean(jnp.sum(nll), jnp.sum(weights), self.axis_name)
        bpb = _global_mean(jnp.sum(byte_nll), jnp.sum(is_byte), self.axis_name) / math.log(2)
        return loss, (state, {"bits_per_byte": bpb})

    def eval_terms(self, params, state: dict, tokens: jax.Array) -> jax.Array:
        """``[B, 4]`` per row: summed NLL and count of all targets, then of byte targets."""
        del state
        parts = self._terms(params, jnp.asarray(tokens), False)
        return jnp.stack([p.sum(1) for p in parts], axis=1)

    def summarize(self, means: dict) -> dict:
        """``loss`` (nats per token) and ``bits_per_byte`` on the held-out rows."""
        return {
            "loss": means["nll_sum"] / max(means["tokens"], 1e-12),
            "bits_per_byte": means["byte_nll_sum"] / max(means["bytes"], 1e-12) / math.log(2),
        }

    def logits(self, params, tokens: jax.Array) -> jax.Array:
        """Next-token logits ``[B, T, V]`` in inference mode (for generation)."""
        return self._apply(params, jnp.asarray(tokens), False).astype(jnp.float32)
