"""The shape every training program shares: set up, train with hooks, evaluate, summarise.

A program subclasses :class:`Program` and overrides what is its own: the
capabilities it needs of the method, its data step, its periodic hooks, its
final evaluation and its summary line. :meth:`Program.run` strings them
together with the shared pieces of :mod:`jaxssl.train.loop`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import ml_collections

from jaxssl.methods import protocol
from jaxssl.methods.registry import MethodSpec
from jaxssl.train import loop
from jaxssl.train.features import Features
from jaxssl.train.loop import Context, Hook, Trained
from jaxssl.train.state import TrainState
from jaxssl.train.workdir import WorkdirLock


class Program:
    """A run end to end; subclasses override the hooks below. One instance per run."""

    name: ClassVar[str]
    # the capabilities (jaxssl.methods.protocol) the program uses, checked at start-up
    needs: ClassVar[tuple[type, ...]] = ()

    def need_eval(self, config: ml_collections.ConfigDict) -> bool:
        """Whether the eval split is read (a final evaluation or a periodic monitor)."""
        return config.eval.final or config.eval.knn_every_steps > 0

    def prepare(self, config, train_src, eval_src) -> tuple[Any, Any, Any, dict]:
        """The program's data step: ``(train_src, eval_src, fit_src, extras)``."""
        del config
        return train_src, eval_src, train_src, {}

    def note(self, ctx: Context) -> str:
        """Added to the start-up line after the dataset."""
        del ctx
        return ""

    def hooks(self, ctx: Context, method) -> list[Hook]:
        """Periodic work during training."""
        del ctx, method
        return []

    def results(self, ctx: Context) -> dict:
        """What the run reports besides its steps and scores."""
        del ctx
        return {}

    def evaluate(self, ctx: Context, trained: Trained, host: TrainState) -> tuple[dict, Any]:
        """The final evaluation: ``(scores, (eval features, labels) or None)``."""
        raise NotImplementedError

    def summary(self, results: dict, config: ml_collections.ConfigDict) -> str:
        """The run's one-line result."""
        raise NotImplementedError

    def features(self, ctx: Context, method) -> Features:
        """The method's ``features`` over a split; one per run, so it compiles once."""
        if getattr(self, "_features", None) is None:
            self._features = Features(method.features, ctx.par, ctx.config, ctx.transform)
        return self._features

    def check(self, method, spec: MethodSpec) -> None:
        """``TypeError`` when ``method`` lacks a capability in :attr:`needs`."""
        protocol.require(method, spec.name, self.needs, f"the {self.name} program")

    def run(self, config, workdir: str, spec: MethodSpec, t0: float) -> dict[str, Any]:
        """Trains (or resumes) and evaluates the run; returns its results."""
        ctx = loop.setup(
            config,
            workdir,
            t0,
            need_eval=self.need_eval(config),
            num_classes_from_data=spec.needs_num_classes,
            prepare=self.prepare,
        )

        def build(num_steps: int):
            method = spec.build(ctx.config, ctx.par.axis_name, num_steps)
            self.check(method, spec)
            return method

        with WorkdirLock(workdir, enabled=ctx.main):  # one run per workdir
            trained = loop.train(
                ctx, build, hooks=lambda method: self.hooks(ctx, method), note=self.note(ctx)
            )
            skipped = ctx.par.from_device(trained.state).skipped_steps
            results = {
                "steps": trained.stop,
                "total_steps": trained.total_steps,
                "skipped_steps": int(jax.device_get(skipped)),
                **self.results(ctx),
            }
            scores = embeddings = None
            if trained.complete and config.eval.final:
                host = ctx.par.from_device(trained.state)
                kept = (
                    f"training is complete, its checkpoint (step {trained.stop}) is kept in "
                    f"{trained.ckpt.directory}"
                )
                with loop.explained_stop("the final evaluation", kept):
                    scores, embeddings = self.evaluate(ctx, trained, host)
            return loop.finish(ctx, trained, results, scores, embeddings, self.summary)
