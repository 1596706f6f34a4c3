"""Language models (masked LM, next-token LM) on packed byte rows; held-out numbers.

The text records are packed into byte-level token rows
(:func:`jaxssl.data.text.packed_rows`); the batch's field is ``tokens``.
Final: the method's held-out terms over the eval rows (loss, accuracy or
bits per byte) and, beside bits per byte, the unigram model's bits per byte
on the same rows, the baseline it must beat.
"""

from __future__ import annotations

from jaxssl.data import text
from jaxssl.methods import protocol
from jaxssl.programs import _common
from jaxssl.programs.base import Program


class Language(Program):
    """Byte-level language-model pretraining."""

    name = "language"
    needs = (protocol.EvalTerms,)

    def prepare(self, config, train_src, eval_src):
        """Packed token rows of both splits; the batch field becomes ``tokens``."""
        config.image_key = "tokens"
        train_rows = text.packed_rows(train_src, config.text.seq_len, config.text.text_key)
        extras = {"train_rows": train_rows}
        train_src = text.TokenRows(train_rows)
        if eval_src is not None:
            eval_rows = text.packed_rows(eval_src, config.text.seq_len, config.text.text_key)
            extras["eval_rows"] = eval_rows
            eval_src = text.TokenRows(eval_rows)
        return train_src, eval_src, train_src, extras

    def evaluate(self, ctx, trained, host):
        """Held-out terms; the unigram baseline next to bits per byte."""
        scores = _common.held_out_eval(ctx, trained.method, host)
        if "eval_bits_per_byte" in scores:  # what bits per byte must beat
            scores["eval_unigram_bits_per_byte"] = text.unigram_bits_per_byte(
                ctx.extras["train_rows"], ctx.extras["eval_rows"]
            )
        return scores, None

    def summary(self, results, config):
        """``causal_lm (gpt) on pydoc_text:test: held-out loss ..., bits_per_byte ... | ...``."""
        held_out = _common.held_out_text(results)
        if not held_out:
            return _common.stopped_line(results)
        return (
            f"{config.method} ({config.encoder}) on {config.dataset}:{config.eval_split}: "
            f"held-out {held_out}" + _common.steps_text(results)
        )
