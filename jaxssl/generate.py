"""Text from a trained next-token LM: greedy, temperature or top-k sampling.

  python -m jaxssl.generate --workdir=runs/gpt_pydoc --prompt="The for statement"
  python -m jaxssl.generate --workdir=runs/lstm_pydoc --prompt="def " --temperature=0.8 --top-k=20

The workdir is a finished (or checkpointed) ``causal_lm`` run of
``train.py``: its ``config.json`` says which model, its newest checkpoint
gives the parameters. Generation stops after ``--max-new-tokens`` tokens, at
the model's longest sequence (GPT's ``max_len``), or at a ``[SEP]`` (the end
of a document in the packed training text). Temperature 0 is greedy
decoding; otherwise tokens are drawn from ``softmax(logits / temperature)``,
restricted to the ``--top-k`` most likely when it is > 0. The same seed gives
the same text.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxssl import methods
from jaxssl.data import text
from jaxssl.train import config as config_lib
from jaxssl.train.checkpoint import read_state


def load_model(workdir: str):
    """``(method, params, config)`` of the causal LM run in ``workdir``.

    Raises:
      FileNotFoundError: no ``config.json`` or no checkpoint in ``workdir``.
      ValueError: the run is not a ``causal_lm`` run.
    """
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: --workdir must be a train.py run's workdir.")
    with open(path) as f:
        config = ml_collections.ConfigDict(json.load(f))
    if config.method != "causal_lm":
        raise ValueError(
            f"--workdir {workdir} is a {config.method!r} run; generation needs a causal_lm run "
            "(configs/gpt_pydoc.py or configs/lstm_pydoc.py)."
        )
    config_lib.validate(config)
    method = methods.build(config)
    params = jax.tree.map(jnp.asarray, read_state(workdir)["params"])
    return method, params, config


def max_length(config: ml_collections.ConfigDict) -> int | None:
    """The longest sequence the model takes (GPT's position table), None for the LSTM."""
    return config.encoder_kwargs.get("max_len", 512) if config.encoder == "gpt" else None


@functools.lru_cache(maxsize=16)
def _decoder(method, start: int, total: int, temperature: float, top_k: int):
    """The compiled decoding loop for one setting; calls with other seeds or params reuse it."""

    def pick(logits, key, position):
        if temperature == 0:
            return jnp.argmax(logits).astype(jnp.int32)
        logits = logits / temperature
        if top_k:
            kth = jnp.sort(logits)[-min(top_k, logits.shape[-1])]
            logits = jnp.where(logits < kth, -jnp.inf, logits)
        return jax.random.categorical(jax.random.fold_in(key, position), logits).astype(jnp.int32)

    @jax.jit
    def run(params, buffer, key):
        def body(position, buffer):
            logits = method.logits(params, buffer)[0, position - 1]
            return buffer.at[0, position].set(pick(logits, key, position))

        return jax.lax.fori_loop(start, total, body, buffer)

    return run


def generate(
    method,
    params,
    prompt: np.ndarray,
    *,
    max_new_tokens: int,
    temperature: float = 0.0,
    top_k: int = 0,
    seed: int = 0,
    max_len: int | None = None,
) -> np.ndarray:
    """The prompt's token ids followed by up to ``max_new_tokens`` generated ones.

    One compiled loop: at each position the model reads the whole buffer (its
    causal mask hides the unfilled part) and the next token is the arg-max
    (``temperature == 0``) or a draw keyed by ``fold_in(key(seed), position)``.
    Generation stops at ``max_len`` tokens in all and at the first ``[SEP]``.
    """
    prompt = np.asarray(prompt, np.int32).reshape(-1)
    if prompt.size == 0:
        raise ValueError("prompt must hold at least one token.")
    if max_new_tokens < 0 or temperature < 0 or top_k < 0:
        raise ValueError(
            "max_new_tokens, temperature and top_k must be >= 0, got "
            f"{max_new_tokens}, {temperature}, {top_k}."
        )
    total = prompt.size + max_new_tokens
    if max_len is not None:
        if prompt.size >= max_len:
            raise ValueError(f"the prompt has {prompt.size} tokens; the model takes {max_len}.")
        total = min(total, max_len)
    if total == prompt.size:
        return prompt
    buffer = jnp.full((1, total), text.PAD, jnp.int32).at[0, : prompt.size].set(prompt)
    run = _decoder(method, int(prompt.size), int(total), float(temperature), int(top_k))
    out = np.asarray(run(params, buffer, jax.random.key(seed)))[0]
    ends = np.flatnonzero(out[prompt.size :] == text.SEP)
    return out[: prompt.size + ends[0]] if ends.size else out


def main(argv=None) -> None:
    """The command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, help="a causal_lm run of train.py")
    parser.add_argument("--prompt", default="", help="text to continue ('' starts a document)")
    parser.add_argument("--max-new-tokens", type=int, default=200)
    parser.add_argument("--temperature", type=float, default=0.0, help="0: greedy")
    parser.add_argument("--top-k", type=int, default=0, help="0: the whole vocabulary")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("max_new_tokens", "top_k", "temperature"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must be >= 0, got {getattr(args, name)}")
    try:
        method, params, config = load_model(args.workdir)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
    # an empty prompt starts a new document, as after a [SEP] in training
    prompt = text.encode(args.prompt) if args.prompt else np.array([text.SEP], np.int32)
    out = generate(
        method,
        params,
        prompt,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        seed=args.seed,
        max_len=max_length(config),
    )
    print(text.decode(out))


if __name__ == "__main__":
    main()
