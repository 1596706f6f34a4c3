"""Programs: what a run does end to end, picked from ``config.method``.

=================  ===============================================  ==========================
program            methods                                          module
=================  ===============================================  ==========================
``pretrain``       simclr, moco, byol, simsiam, barlow_twins,       :mod:`.pretrain`
                   vicreg, rotation, triplet
``generative``     autoencoder, vae, gan                            :mod:`.generative`
``language``       masked_lm, causal_lm                             :mod:`.language`
``finetune``       classifier                                       :mod:`.finetune`
``linear_probe``   linear_probe                                     :mod:`.linear_probe`
=================  ===============================================  ==========================

Which program runs a method is the method's entry in
:mod:`jaxssl.methods.registry` (:attr:`~jaxssl.methods.registry.MethodSpec.program`);
each program plugs its data step, periodic hooks, final evaluation and summary
line into the shared loop (:mod:`jaxssl.train.loop`). :func:`run` is what
``train.py`` calls (``jaxssl.train.run`` is the same function).
"""

from __future__ import annotations

import copy
import time
from typing import Any

import ml_collections

from jaxssl.methods import registry
from jaxssl.programs.base import Program
from jaxssl.programs.finetune import Finetune
from jaxssl.programs.generative import Generative
from jaxssl.programs.language import Language
from jaxssl.programs.linear_probe import LinearProbe
from jaxssl.programs.pretrain import Pretrain
from jaxssl.train import config as config_lib

PROGRAMS: dict[str, type[Program]] = {
    cls.name: cls for cls in (Pretrain, Generative, Language, Finetune, LinearProbe)
}
assert set(PROGRAMS) == set(registry.PROGRAMS), "every program the registry names exists"


def program_for(method: str) -> Program:
    """A fresh instance of the program that runs ``method`` (a ``config.method`` name)."""
    return PROGRAMS[registry.spec(method).program]()


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
    """Runs (or resumes) ``config`` in ``workdir``; returns the final results.

    ``config.method`` picks the program: a pretraining method (``simclr``)
    trains and scores its encoder, ``classifier`` fine-tunes (optionally on
    a labelled fraction, from ``config.init_from``), ``linear_probe`` only
    evaluates the encoder in ``config.init_from``; generative and language
    methods report their held-out numbers.

    Writes ``WORKDIR/config.json`` (the resolved config: the keys every run
    shares and its method's sections), ``metrics.jsonl``, ``tensorboard/``,
    ``checkpoints/`` and, at the end, ``results.json`` (every number of the
    final evaluation) and ``embeddings.npz`` (eval-split features, for
    ``python -m jaxssl.report``).

    Raises:
      ValueError: an unknown config key or bad value, a batch size that does
        not divide over the devices, a dataset smaller than one batch.
      FileNotFoundError: the dataset is not prepared (the message has the
        command that prepares it), or ``init_from`` has no checkpoint.
      TypeError: the method lacks a capability its program needs.
    """
    t0 = time.time()
    config_lib.validate(config)
    config = copy.deepcopy(config)  # filled in by the program (num_classes); the caller's stays
    spec = registry.spec(config.method)
    return program_for(config.method).run(config, workdir, spec, t0)


def summary_line(results: dict, config: ml_collections.ConfigDict) -> str:
    """The one-line result of a run of ``config`` (what :func:`run` prints last)."""
    return program_for(config.method).summary(results, config)


__all__ = ["PROGRAMS", "Program", "program_for", "run", "summary_line"]
