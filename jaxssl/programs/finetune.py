"""Fine-tuning a classifier (all labels, or a class-balanced fraction), then test metrics.

With ``finetune.label_fraction < 1`` only a labelled subset of train is
trained on (:func:`jaxssl.data.subsets.label_fraction`, seeded by
``finetune.subset_seed``). Final: top-1/top-5 and the confusion matrix on
the eval split, kNN on the fine-tuned encoder and, with a labelled subset,
label propagation (``finetune.label_propagation_k`` neighbours) and a
pseudo-label sweep over ``finetune.pseudo_label_thresholds``.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from jaxssl.data.subsets import Subset, check_labels, label_fraction, labels_of
from jaxssl.eval.metrics import classification_metrics
from jaxssl.eval.propagation import label_propagation
from jaxssl.eval.pseudo import pseudo_label_sweep
from jaxssl.methods import protocol
from jaxssl.programs import _common
from jaxssl.programs.base import Program
from jaxssl.train.features import Features
from jaxssl.train.loop import model_state


class Finetune(Program):
    """Supervised training of a classifier on a (pretrained) encoder."""

    name = "finetune"
    needs = (protocol.Features, protocol.Logits)

    def prepare(self, config, train_src, eval_src):
        """The labelled subset of train when ``finetune.label_fraction < 1``."""
        if config.finetune.label_fraction >= 1:
            return train_src, eval_src, train_src, {"labelled": None}
        labels = labels_of(train_src, config.label_key)
        check_labels(labels, config.num_classes, f"{config.dataset}:{config.train_split}")
        labelled = label_fraction(
            labels, config.finetune.label_fraction, seed=config.finetune.subset_seed
        )
        return train_src, eval_src, Subset(train_src, labelled), {"labelled": labelled}

    def note(self, ctx):
        """``, 14 labelled examples`` with a labelled subset."""
        labelled = ctx.extras["labelled"]
        return "" if labelled is None else f", {len(labelled)} labelled examples"

    def results(self, ctx):
        """``labelled_examples`` with a labelled subset."""
        labelled = ctx.extras["labelled"]
        return {} if labelled is None else {"labelled_examples": len(labelled)}

    def hooks(self, ctx, method):
        """The kNN monitor on the encoder being fine-tuned."""
        return [_common.knn_monitor(ctx, self.features(ctx, method))]

    def evaluate(self, ctx, trained, host):
        """Test metrics of the classifier, kNN on its encoder, label propagation, pseudo-labels."""
        config, method = ctx.config, trained.method
        features = self.features(ctx, method)
        labelled = ctx.extras["labelled"]
        params, state = host.params, model_state(host)
        logits_of = Features(method.logits, ctx.par, config, ctx.transform)
        logits, test_y = logits_of(params, state, ctx.eval_src)
        check_labels(test_y, config.num_classes, f"{config.dataset}:{config.eval_split}")
        metrics = classification_metrics(test_y, logits, num_classes=config.num_classes)
        out: dict[str, Any] = {k: metrics[k] for k in ("top1", "top5") if k in metrics}
        out["metrics"] = metrics
        scores, embeddings = _common.evaluate(
            features, params, state, ctx.fit_src, ctx.eval_src, config, probe=False
        )
        out.update(scores)
        if labelled is None:
            return out, embeddings
        train_logits, train_y = logits_of(params, state, ctx.train_src)
        train_feats, _ = features(params, state, ctx.train_src)
        if config.finetune.label_propagation_k:
            out["label_propagation"] = _propagate(
                train_feats, train_y, labelled, embeddings[0], test_y, config
            )
        if config.finetune.pseudo_label_thresholds:
            out["pseudo_labels"] = pseudo_label_sweep(
                train_feats,
                train_y,
                labelled,
                np.asarray(jax.nn.softmax(train_logits, axis=-1)),
                embeddings[0],
                test_y,
                thresholds=tuple(config.finetune.pseudo_label_thresholds),
                num_classes=config.num_classes,
                **_common.probe_settings(config, len(train_y)),
            )
        return out, embeddings

    def summary(self, results, config):
        """``classifier on digits:test: top-1 ..., top-5 ..., encoder kNN ... | ...``."""
        if "knn_top1" not in results:
            return _common.stopped_line(results)
        line = f"classifier on {config.dataset}:{config.eval_split}: top-1 {results['top1']:.4f}"
        if "top5" in results:
            line += f", top-5 {results['top5']:.4f}"
        line += f", encoder kNN {results['knn_top1']:.4f}"
        if "labelled_examples" in results:
            line += f" | {results['labelled_examples']} labelled training examples"
        if "label_propagation" in results:
            line += f" | label propagation {results['label_propagation']['top1']:.4f}"
        if "pseudo_labels" in results:
            sweep = results["pseudo_labels"]
            rows = ", ".join(
                f"{r['threshold']:g}: +{r['pseudo_labelled']} {r['top1']:.4f}"
                for r in sweep["rows"]
            )
            line += (
                f" | pseudo-labels (threshold: added, top-1 of a linear student): "
                f"none {sweep['labelled_only_top1']:.4f}, {rows}"
            )
        return line + _common.steps_text(results)


def _propagate(train_feats, train_y, labelled, test_feats, test_y, config) -> dict:
    """Label propagation over train and eval features together, from the labelled subset.

    Transductive, as Zhou et al. 2004 evaluate it: the eval examples are
    unlabelled nodes of the graph, and ``top1`` is their accuracy;
    ``unlabelled_top1`` is that of the training examples left unlabelled.
    """
    n = len(train_y)
    k = config.finetune.label_propagation_k
    feats = np.concatenate([np.asarray(train_feats), np.asarray(test_feats)])
    labels = np.concatenate([np.asarray(train_y), np.zeros(len(test_y), np.asarray(train_y).dtype)])
    pred = label_propagation(
        feats, labels, labelled, num_classes=config.num_classes, k=min(k, len(feats) - 1)
    )["predictions"]
    rest = np.setdiff1d(np.arange(n), labelled)
    return {
        "k": k,
        "top1": float(np.mean(pred[n:] == np.asarray(test_y))),
        "unlabelled_top1": float(np.mean(pred[rest] == np.asarray(train_y)[rest])),
    }
