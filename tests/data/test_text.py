"""Byte tokenizer, packing, MLM masking statistics and next-token batches."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxssl.data import text


def test_encode_decode_round_trip_any_text():
    s = "Plain ASCII, ünïcödé and 漢字 🙂"
    ids = text.encode(s)
    assert ids.dtype == np.int32 and ids.min() >= text.N_SPECIAL and ids.max() < text.VOCAB_SIZE
    assert text.decode(ids) == s
    assert text.decode(np.concatenate([[text.CLS], ids, [text.SEP, text.PAD]])) == s


def test_pack_keeps_every_token_once_then_pads():
    docs = ["first document", "second", "x" * 40]
    rows = text.pack(docs, seq_len=16)
    flat = rows.reshape(-1)
    n_tokens = sum(len(d.encode()) for d in docs) + len(docs)  # each doc + [SEP]
    assert rows.shape == (-(-n_tokens // 16), 16)
    np.testing.assert_array_equal(flat[n_tokens:], text.PAD)
    assert (flat[:n_tokens] != text.PAD).all()
    pieces = np.split(flat[:n_tokens], np.flatnonzero(flat == text.SEP) + 1)[:-1]
    assert [text.decode(p) for p in pieces] == docs
    with pytest.raises(ValueError, match="seq_len must be an int >= 2"):
        text.pack(docs, seq_len=1)


def _corpus(rng, shape=(64, 256)):
    tokens = rng.integers(text.N_SPECIAL, text.VOCAB_SIZE, shape).astype(np.int32)
    tokens[:, 0] = text.CLS
    tokens[:, -(shape[1] // 6) :] = text.PAD  # padded tails
    tokens[:, shape[1] // 3] = text.SEP
    return jnp.asarray(tokens)


def _within_binomial(count, n, p, sigmas=5.0):
    mean, sd = n * p, np.sqrt(n * p * (1 - p))
    return abs(count - mean) <= sigmas * sd


def test_mlm_masking_statistics_and_targets(rng):
    tokens = _corpus(rng)
    inputs, targets, chosen = jax.jit(text.mask_tokens)(jax.random.key(0), tokens)
    tokens, inputs, targets, chosen = map(np.asarray, (tokens, inputs, targets, chosen))
    eligible = tokens >= text.N_SPECIAL
    assert not chosen[~eligible].any()  # [PAD], [CLS], [SEP] never chosen
    np.testing.assert_array_equal(targets, tokens)
    np.testing.assert_array_equal(inputs[~chosen], tokens[~chosen])  # only chosen change
    n, k = int(eligible.sum()), int(chosen.sum())
    assert _within_binomial(k, n, 0.15), (k, n)
    became_mask = int((inputs[chosen] == text.MASK).sum())
    unchanged = int((inputs[chosen] == tokens[chosen]).sum())
    # unchanged = the 10% kept + random draws that hit the same byte (10% * 1/256)
    assert _within_binomial(became_mask, k, 0.8)
    assert _within_binomial(unchanged, k, 0.1 + 0.1 / 256)
    assert _within_binomial(k - became_mask - unchanged, k, 0.1 - 0.1 / 256)
    assert (inputs[chosen & (inputs != text.MASK)] >= text.N_SPECIAL).all()


def test_mlm_masking_is_deterministic_per_key(rng):
    tokens = _corpus(rng, (4, 64))
    a = text.mask_tokens(jax.random.key(3), tokens)
    b = text.mask_tokens(jax.random.key(3), tokens)
    c = text.mask_tokens(jax.random.key(4), tokens)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[2], c[2])


def test_bad_masking_arguments():
    with pytest.raises(ValueError, match="mask_prob must be in"):
        text.mask_tokens(jax.random.key(0), jnp.zeros((2, 4), jnp.int32), mask_prob=1.5)
    with pytest.raises(TypeError, match="tokens must be an integer array"):
        text.mask_tokens(jax.random.key(0), jnp.zeros((2, 4)))


def test_next_token_batch_shifts_by_one():
    rows = jnp.asarray(text.pack(["abcdef"], seq_len=10))
    inputs, targets, weights = text.next_token_batch(rows)
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
    np.testing.assert_array_equal(weights, targets != text.PAD)
    assert text.decode(targets[0][weights[0]]) == "bcdef"
