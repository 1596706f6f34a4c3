"""Linear evaluation only: kNN, linear probe and k-means of ``config.init_from``'s encoder.

Trains nothing: the encoder (parameters and BatchNorm statistics) is copied
from the newest checkpoint of ``config.init_from`` into a fresh classifier,
whose ``features`` are then scored as a pretraining run's are at its end,
with the same baselines.
"""

from __future__ import annotations

from jaxssl.methods import protocol
from jaxssl.programs import _common
from jaxssl.programs.base import Program
from jaxssl.train import loop
from jaxssl.train.workdir import WorkdirLock


class LinearProbe(Program):
    """The probes of a pretrained encoder, no training."""

    name = "linear_probe"
    needs = (protocol.Features,)

    def run(self, config, workdir, spec, t0):
        """Probes the encoder; writes config.json, results.json, embeddings.npz."""
        ctx = loop.setup(
            config,
            workdir,
            t0,
            trains=False,
            need_eval=True,
            num_classes_from_data=spec.needs_num_classes,
        )
        method = spec.build(ctx.config, ctx.par.axis_name, 1)
        self.check(method, spec)
        host, create, origin = loop.initial_state(ctx, method)
        with WorkdirLock(workdir, enabled=ctx.main):  # one run per workdir
            if ctx.main:
                loop.save_json(workdir, "config.json", ctx.record.to_dict())
                print(
                    f"jaxssl: linear_probe on {config.dataset}, {origin}; workdir {workdir}",
                    flush=True,
                )
            scores, embeddings = _common.encoder_eval(
                ctx, self.features(ctx, method), host, create, ctx.train_src
            )
            results = {"steps": 0, "total_steps": 0}
            return loop.finish(ctx, None, results, scores, embeddings, self.summary)

    def summary(self, results, config):
        """``encoder on digits:test: kNN ..., linear probe ..., k-means ... | ...``."""
        return _common.encoder_line("encoder", results, config)
