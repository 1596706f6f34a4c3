"""Pretraining (two-view methods, rotation, triplet): train, then score the encoder.

Periodic: the kNN monitor (``eval.knn_every_steps``). Final: kNN, linear
probe and k-means of the encoder on the eval split, with the random-init
encoder and raw pixels as baselines (``eval.baselines``).
"""

from __future__ import annotations

from jaxssl.methods import protocol
from jaxssl.programs import _common
from jaxssl.programs.base import Program


class Pretrain(Program):
    """Self-supervised pretraining of an encoder."""

    name = "pretrain"
    needs = (protocol.Features,)

    def hooks(self, ctx, method):
        """The kNN monitor."""
        return [_common.knn_monitor(ctx, self.features(ctx, method))]

    def evaluate(self, ctx, trained, host):
        """kNN, linear probe, k-means (and baselines) of the encoder."""
        features = self.features(ctx, trained.method)
        return _common.encoder_eval(ctx, features, host, trained.create, ctx.fit_src)

    def summary(self, results, config):
        """``simclr encoder on digits:test: kNN ..., linear probe ..., k-means ... | ...``."""
        return _common.pretrained_line(results, config)
