"""Pictures and one JSON file from a finished run's workdir.

  python -m jaxssl.report WORKDIR [--projection=pca|tsne]

Reads what a run wrote (``metrics.jsonl``, ``results.json``,
``embeddings.npz``) and writes, under ``WORKDIR/plots/``:

* ``loss.png``: the training loss per step;
* ``learning_rate.png``: the learning rate per step;
* ``knn.png``: kNN top-1 on the eval split over training (the monitor's
  points, ``eval.knn_every_steps``, and the final evaluation);
* ``confusion.png``: the confusion matrix of the linear probe (pretraining,
  ``linear_probe`` runs) or of the fine-tuned classifier;
* ``embeddings.png``: the eval-split features projected to 2-D (PCA, or
  t-SNE), coloured by class;

and ``WORKDIR/eval.json``: every number of ``results.json`` plus the curves'
summaries (last loss, the kNN history) and the list of plots.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence

import numpy as np

PROJECTIONS = ("pca", "tsne")


def _read_metrics(workdir: str) -> list[dict]:
    path = os.path.join(workdir, "metrics.jsonl")
    if not os.path.exists(path):
        raise FileNotFoundError(f"workdir={workdir!r} has no metrics.jsonl: is it a run's workdir?")
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _series(rows: list[dict], split: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    # A resumed run appends; the last value written for a step wins.
    points = {r["step"]: r[name] for r in rows if r.get("split") == split and name in r}
    steps = np.array(sorted(points), dtype=np.int64)
    return steps, np.array([points[s] for s in steps], dtype=np.float64)


def _confusion(results: dict) -> tuple[list | None, str, float | None]:
    """The confusion matrix to draw, what made it, and its top-1."""
    if "linear_metrics" in results:
        return results["linear_metrics"]["confusion"], "linear probe", results.get("linear_top1")
    if "metrics" in results:
        return results["metrics"]["confusion"], "fine-tuned classifier", results.get("top1")
    return None, "", None


def _class_labels(names: list | None, count: int) -> list[str]:
    """The dataset's class names (from ``results.json``), or the class numbers."""
    if names is not None and len(names) >= count:
        return [str(n) for n in names[:count]]
    return [str(i) for i in range(count)]


def _project(features: np.ndarray, method: str, seed: int) -> np.ndarray:
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(features)
    from sklearn.manifold import TSNE

    perplexity = min(30.0, max(2.0, (len(features) - 1) / 3))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(
        features
    )


def report(workdir: str, *, projection: str = "pca", seed: int = 0) -> dict:
    """Writes ``WORKDIR/plots/*.png`` and ``WORKDIR/eval.json``; returns what eval.json holds.

    Raises:
      FileNotFoundError: ``workdir`` has no ``metrics.jsonl`` (not a run), or
        no ``results.json`` (the run has not finished).
      ValueError: ``projection`` is not one of :data:`PROJECTIONS`.
    """
    if projection not in PROJECTIONS:
        raise ValueError(f"projection must be one of {PROJECTIONS}, got {projection!r}.")
    import matplotlib

    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt

    rows = _read_metrics(workdir)
    results_path = os.path.join(workdir, "results.json")
    if not os.path.exists(results_path):
        raise FileNotFoundError(
            f"workdir={workdir!r} has no results.json: the run has not finished "
            "(re-run train.py with the same --workdir to resume it)."
        )
    with open(results_path) as f:
        results = json.load(f)
    data_name = results.get("evaluated_on", "the eval split")
    names = results.get("class_names")
    plots_dir = os.path.join(workdir, "plots")
    os.makedirs(plots_dir, exist_ok=True)
    written = []

    def save(fig, name):
        fig.tight_layout()
        path = os.path.join(plots_dir, name)
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(os.path.relpath(path, workdir))

    for name, label, file in (
        ("loss", "training loss", "loss.png"),
        ("lr", "learning rate", "learning_rate.png"),
    ):
        steps, values = _series(rows, "train", name)
        if len(steps):
            fig, ax = plt.subplots(figsize=(5, 3.2))
            ax.plot(steps, values)
            ax.set(xlabel="step", ylabel=label, title=label)
            ax.grid(alpha=0.3)
            save(fig, file)

    knn_steps, knn = _series(rows, "eval", "knn_top1")
    final_steps, final_knn = _series(rows, "final", "knn_top1")
    if len(knn_steps) or len(final_steps):
        fig, ax = plt.subplots(figsize=(5, 3.2))
        if len(knn_steps):
            ax.plot(knn_steps, knn, marker="o", label="monitor")
        if len(final_steps):
            ax.scatter(final_steps, final_knn, color="C3", zorder=3, label="final")
        ax.set(xlabel="step", ylabel="kNN top-1", title=f"kNN top-1 on {data_name}")
        ax.grid(alpha=0.3)
        ax.legend()
        save(fig, "knn.png")

    confusion, source, top1 = _confusion(results)
    if confusion is not None:
        matrix = np.asarray(confusion)
        labels = _class_labels(names, len(matrix))
        fig, ax = plt.subplots(figsize=(6, 5.2) if names else (4.5, 4))
        image = ax.imshow(matrix, cmap="Blues")
        fig.colorbar(image, ax=ax)
        if len(matrix) <= 20:
            ax.set_xticks(range(len(matrix)), labels, rotation=90 if names else 0, fontsize=7)
            ax.set_yticks(range(len(matrix)), labels, fontsize=7)
            for (i, j), count in np.ndenumerate(matrix):
                color = "white" if count > matrix.max() / 2 else "black"
                ax.text(j, i, str(count), ha="center", va="center", fontsize=7, color=color)
        title = f"{data_name}: {source}, top-1 {top1:.4f}" if top1 is not None else source
        ax.set(xlabel="predicted", ylabel="true", title=title)
        ax.title.set_fontsize(9)
        save(fig, "confusion.png")

    embeddings_path = os.path.join(workdir, "embeddings.npz")
    if os.path.exists(embeddings_path):
        data = np.load(embeddings_path)
        points = _project(np.asarray(data["features"], np.float64), projection, seed)
        fig, ax = plt.subplots(figsize=(4.8, 4.2))
        scatter = ax.scatter(points[:, 0], points[:, 1], c=data["labels"], cmap="tab10", s=6)
        handles, _ = scatter.legend_elements()
        shown = np.unique(data["labels"])
        labels = _class_labels(names, int(shown.max()) + 1 if len(shown) else 0)
        legend = [labels[int(c)] for c in shown]
        ax.legend(handles, legend, fontsize=6, title="class", loc="best")
        name = {"pca": "PCA", "tsne": "t-SNE"}[projection]
        ax.set(title=f"{data_name} features ({name})", xticks=[], yticks=[])
        save(fig, "embeddings.png")

    loss_steps, loss = _series(rows, "train", "loss")
    out = {
        "results": results,
        "train": {
            "last_step": int(loss_steps[-1]) if len(loss_steps) else 0,
            "last_loss": float(loss[-1]) if len(loss) else None,
        },
        "knn_history": [[int(s), float(v)] for s, v in zip(knn_steps, knn, strict=True)],
        "plots": written,
    }
    with open(os.path.join(workdir, "eval.json"), "w") as f:
        json.dump(out, f, indent=2, sort_keys=True)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """The command line: ``python -m jaxssl.report WORKDIR [--projection=pca|tsne]``."""
    parser = argparse.ArgumentParser(
        prog="python -m jaxssl.report", description=__doc__.split("\n")[0]
    )
    parser.add_argument("workdir", help="a run's workdir (train.py --workdir)")
    parser.add_argument("--projection", choices=PROJECTIONS, default="pca")
    parser.add_argument("--seed", type=int, default=0, help="seed of the projection")
    args = parser.parse_args(argv)
    out = report(args.workdir, projection=args.projection, seed=args.seed)
    for path in out["plots"]:
        print(os.path.join(args.workdir, path))
    print(os.path.join(args.workdir, "eval.json"))


if __name__ == "__main__":
    main()
