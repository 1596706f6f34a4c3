"""Text for language pretraining: a byte-level tokenizer, packing, MLM masking, next-token batches.

The tokenizer needs no vocabulary file: ids 0-3 are the special tokens
``[PAD] [MASK] [CLS] [SEP]`` and byte ``b`` of the UTF-8 text is id ``b + 4``,
so :data:`VOCAB_SIZE` is 260 and any text round-trips exactly.
"""

from __future__ import annotations

from collections.abc import Iterable

import jax
import jax.numpy as jnp
import numpy as np

PAD, MASK, CLS, SEP = 0, 1, 2, 3
N_SPECIAL = 4
VOCAB_SIZE = 256 + N_SPECIAL


def encode(text: str) -> np.ndarray:
    """UTF-8 bytes of ``text`` as token ids ``[len(bytes)]`` (int32)."""
    return np.frombuffer(text.encode("utf-8"), np.uint8).astype(np.int32) + N_SPECIAL


def decode(ids) -> str:
    """Token ids back to text; special tokens are dropped."""
    ids = np.asarray(ids).reshape(-1)
    data = (ids[ids >= N_SPECIAL] - N_SPECIAL).astype(np.uint8).tobytes()
    return data.decode("utf-8", errors="replace")


def pack(documents: Iterable[str], seq_len: int) -> np.ndarray:
    """Packs documents into ``[num_sequences, seq_len]`` int32 rows.

    Each document is encoded and followed by ``[SEP]``; the stream is cut
    into rows of ``seq_len`` and the last row is padded with ``[PAD]``. Every
    token of every document appears exactly once.
    """
    if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len < 2:
        raise ValueError(f"seq_len must be an int >= 2, got {seq_len!r}.")
    pieces = []
    for doc in documents:
        pieces += [encode(doc), np.array([SEP], np.int32)]
    if not pieces:
        raise ValueError("documents is empty: nothing to pack.")
    stream = np.concatenate(pieces)
    rows = -(-len(stream) // seq_len)
    out = np.full(rows * seq_len, PAD, np.int32)
    out[: len(stream)] = stream
    return out.reshape(rows, seq_len)


def mask_tokens(
    rng: jax.Array,
    tokens: jax.Array,
    *,
    mask_prob: float = 0.15,
    mask_token_prob: float = 0.8,
    random_token_prob: float = 0.1,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """BERT's masked-LM corruption (Devlin et al. 2019), on device.

    Each non-special token is chosen independently with probability
    ``mask_prob``; special tokens (``[PAD]``, ``[CLS]``, ``[SEP]``, ``[MASK]``)
    never are. A chosen token becomes ``[MASK]`` with probability
    ``mask_token_prob``, a uniformly random byte token with
    ``random_token_prob``, and stays unchanged otherwise (80/10/10).

    Args:
      rng: a PRNG key.
      tokens: ``[..., T]`` int token ids.
      mask_prob: chance that a token is chosen for prediction.
      mask_token_prob: chance that a chosen token is replaced by ``[MASK]``.
      random_token_prob: chance that a chosen token is replaced by a random one.

    Returns:
      ``(inputs, targets, chosen)``: the corrupted ids, the original ids, and
      a boolean mask of the chosen positions (the positions the loss scores:
      ``losses.masked_lm_loss(logits, targets, chosen)``).
    """
    for name, p in [("mask_prob", mask_prob), ("mask_token_prob", mask_token_prob),
                    ("random_token_prob", random_token_prob)]:  # fmt: skip
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {p!r}.")
    if mask_token_prob + random_token_prob > 1.0:
        raise ValueError(
            "mask_token_prob + random_token_prob must be <= 1, got "
            f"{mask_token_prob} + {random_token_prob}."
        )
    tokens = jnp.asarray(tokens)
    if not jnp.issubdtype(tokens.dtype, jnp.integer):
        raise TypeError(f"tokens must be an integer array, got dtype {tokens.dtype}.")
    k_choose, k_how, k_random = jax.random.split(rng, 3)
    chosen = (jax.random.uniform(k_choose, tokens.shape) < mask_prob) & (tokens >= N_SPECIAL)
    how = jax.random.uniform(k_how, tokens.shape)
    random_ids = jax.random.randint(k_random, tokens.shape, N_SPECIAL, VOCAB_SIZE, tokens.dtype)
    replaced = jnp.where(how < mask_token_prob, jnp.asarray(MASK, tokens.dtype), tokens)
    replaced = jnp.where(
        (how >= mask_token_prob) & (how < mask_token_prob + random_token_prob), random_ids, replaced
    )
    return jnp.where(chosen, replaced, tokens), tokens, chosen


def next_token_batch(tokens: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``[B, T]`` packed ids -> ``(inputs [B, T-1], targets [B, T-1], weights [B, T-1])``.

    Targets are the inputs shifted by one; weights are False where the
    target is ``[PAD]``.
    """
    tokens = jnp.asarray(tokens)
    if tokens.ndim != 2 or tokens.shape[1] < 2:
        raise ValueError(f"tokens must have shape [B, T] with T >= 2, got shape {tokens.shape}.")
    targets = tokens[:, 1:]
    return tokens[:, :-1], targets, targets != PAD


class TokenRows:
    """Packed token rows as a random-access source: record ``i`` is ``{key: rows[i]}``.

    What :func:`jaxssl.data.make_loader` reads for language pretraining.
    """

    def __init__(self, rows: np.ndarray, key: str = "tokens"):
        rows = np.asarray(rows)
        if rows.ndim != 2 or not np.issubdtype(rows.dtype, np.integer):
            raise ValueError(
                f"rows must be an integer array [N, T], got {rows.dtype} {rows.shape}."
            )
        self.rows, self.key = rows, key

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i):
        return {self.key: self.rows[i]}


def packed_rows(source, seq_len: int, text_key: str = "text") -> np.ndarray:
    """Every document of ``source`` (records with a text field) packed into ``[N, seq_len]``."""
    docs = []
    for i in range(len(source)):
        value = source[i][text_key]
        docs.append(value.decode("utf-8") if isinstance(value, bytes) else str(value))
    return pack(docs, seq_len)


def unigram_bits_per_byte(train_rows: np.ndarray, eval_rows: np.ndarray) -> float:
    """Bits per byte of ``eval_rows``' bytes under the byte frequencies of ``train_rows``.

    The baseline a language model must beat: a model that ignores context and
    predicts each byte with its training frequency (add-one smoothed over the
    256 byte values, so an unseen byte costs a finite amount).
    """
    train = np.asarray(train_rows).ravel()
    held = np.asarray(eval_rows).ravel()
    train, held = train[train >= N_SPECIAL] - N_SPECIAL, held[held >= N_SPECIAL] - N_SPECIAL
    if held.size == 0:
        raise ValueError("eval_rows holds no byte tokens.")
    counts = np.bincount(train, minlength=256).astype(np.float64) + 1.0
    log2p = np.log2(counts / counts.sum())
    return float(-log2p[held].mean())
