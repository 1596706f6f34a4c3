"""Generative models (autoencoder, VAE, GAN): train, then probes, held-out terms, pictures.

Periodic: picture grids (``generative.pictures_every_steps``) and the kNN
monitor. Final: the pretraining evaluation of the encoder's features, the
method's held-out terms (reconstruction error, the negative ELBO) and its
pictures (reconstructions, samples) as PNG files in the workdir.
"""

from __future__ import annotations

from jaxssl.methods import protocol
from jaxssl.programs import _common
from jaxssl.programs.base import Program
from jaxssl.train.loop import Hook


class Generative(Program):
    """Autoencoders and GANs; evaluated as encoders and by their own held-out numbers."""

    name = "generative"
    needs = (protocol.Features,)

    def hooks(self, ctx, method):
        """Picture grids at intervals (process 0), then the kNN monitor."""
        hooks = []
        every = ctx.config.generative.pictures_every_steps
        if ctx.main and every and protocol.has(method, protocol.Pictures):
            images = _common.picture_images(ctx, ctx.eval_src or ctx.train_src)
            if images is not None:

                def pictures(step, host, report):
                    del report
                    _common.save_pictures(ctx, method, host, images, step)

                hooks.append(Hook(every, pictures))
        return [*hooks, _common.knn_monitor(ctx, self.features(ctx, method))]

    def evaluate(self, ctx, trained, host):
        """The encoder's scores, then the held-out terms and pictures."""
        features = self.features(ctx, trained.method)
        scores, embeddings = _common.encoder_eval(ctx, features, host, trained.create, ctx.fit_src)
        scores.update(_common.held_out_eval(ctx, trained.method, host))
        return scores, embeddings

    def summary(self, results, config):
        """The encoder's line with ``held-out ...`` and ``pictures: ...``."""
        return _common.pretrained_line(results, config)
