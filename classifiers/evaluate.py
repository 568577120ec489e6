"""Metrics per source and label, the two baselines, and the HTML report with curves."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from classifiers.data import LabelledComment
from classifiers.model import LABELS, UNKNOWN
from classifiers.train import binary_targets

SYNTHETIC_SOURCE = "evaded"

Scorer = Callable[[Sequence[str]], np.ndarray]  # texts -> (n, len(LABELS)) probabilities


@dataclass(frozen=True)
class LabelMetrics:
    model: str
    source: str
    label: str
    n: int
    positives: int
    roc_auc: float
    average_precision: float
    f1_at_half: float
    brier: float


class PlainTfidfBaseline:
    """The bar to clear: sklearn defaults, TfidfVectorizer + LogisticRegression per label."""

    name = "tfidf+lr (plain)"

    def __init__(self, labels: tuple[str, ...] = LABELS) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.labels = labels
        self.vectorizer = TfidfVectorizer()
        self.models: list[Any] = []

    def fit(self, rows: Sequence[LabelledComment]) -> PlainTfidfBaseline:
        from sklearn.linear_model import LogisticRegression

        X = self.vectorizer.fit_transform([r.text for r in rows])
        Y = binary_targets(rows)
        for label in self.labels:
            k = LABELS.index(label)
            known = Y[:, k] != UNKNOWN
            self.models.append(LogisticRegression(max_iter=1000).fit(X[known], Y[known, k]))
        return self

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities in ``labels`` order."""
        X = self.vectorizer.transform(list(texts))
        return np.column_stack([m.predict_proba(X)[:, 1] for m in self.models])


def profanity_check_scorer() -> Scorer | None:
    """alt-profanity-check's single probability, used for every label (it has only one)."""
    try:
        from profanity_check import predict_prob
    except ImportError:
        return None

    def score(texts: Sequence[str]) -> np.ndarray:
        p = np.asarray(predict_prob(list(texts)), dtype=np.float64)
        return np.repeat(p[:, None], len(LABELS), axis=1)

    return score


def _f1(y: np.ndarray, p: np.ndarray, threshold: float) -> float:
    pred = p >= threshold
    tp = float(np.sum(pred & (y == 1)))
    denom = float(pred.sum() + (y == 1).sum())
    return 2 * tp / denom if denom else 0.0


def metrics_table(
    scorers: dict[str, Scorer], rows: Sequence[LabelledComment]
) -> tuple[list[LabelMetrics], dict[str, np.ndarray]]:
    """Metrics for every scorer x source (plus ``ALL``) x label the source labels.

    ``ALL`` pools the real sources only; the synthetic ``evaded`` copy is reported on its own.
    """
    texts = [r.text for r in rows]
    Y = binary_targets(rows)
    sources = np.asarray([r.source for r in rows])
    scores = {name: scorer(texts) for name, scorer in scorers.items()}
    out: list[LabelMetrics] = []
    for source in [*sorted(set(sources.tolist())), "ALL"]:
        in_source = sources != SYNTHETIC_SOURCE if source == "ALL" else sources == source
        for k, label in enumerate(LABELS):
            mask = in_source & (Y[:, k] != UNKNOWN)
            y = Y[mask, k]
            if len(np.unique(y)) < 2:
                continue
            for name, P in scores.items():
                p = P[mask, k]
                out.append(
                    LabelMetrics(
                        model=name,
                        source=source,
                        label=label,
                        n=int(mask.sum()),
                        positives=int(y.sum()),
                        roc_auc=float(roc_auc_score(y, p)),
                        average_precision=float(average_precision_score(y, p)),
                        f1_at_half=_f1(y, p, 0.5),
                        brier=float(brier_score_loss(y, p)),
                    )
                )
    return out, scores


def format_metrics(table: Sequence[LabelMetrics]) -> str:
    models = list(dict.fromkeys(m.model for m in table))
    header = f"{'source':<11} {'label':<10} {'n':>6} {'pos':>5} " + " ".join(
        f"{name[:22]:>22}" for name in models
    )
    lines = [
        "ROC AUC / average precision / F1@0.5 (Brier in the HTML report)",
        header,
    ]
    keyed = {(m.source, m.label, m.model): m for m in table}
    for source, label in dict.fromkeys((m.source, m.label) for m in table):
        first = keyed[(source, label, models[0])]
        cells = []
        for name in models:
            m = keyed.get((source, label, name))
            cells.append(
                f"{m.roc_auc:.3f}/{m.average_precision:.3f}/{m.f1_at_half:.3f}".rjust(22)
                if m
                else " " * 22
            )
        lines.append(
            f"{source:<11} {label:<10} {first.n:>6} {first.positives:>5} " + " ".join(cells)
        )
    return "\n".join(lines)


def suggest_thresholds(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Operating points for a site's policy, from held-out scores."""
    precision, recall, thresholds = precision_recall_curve(y, p)
    precision, recall = precision[:-1], recall[:-1]
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    out = {"best_f1": float(thresholds[int(np.argmax(f1))])}
    # Highest threshold still catching 90% of positives: "hold for review" above it.
    ok = np.where(recall >= 0.9)[0]
    out["review_recall_0.90"] = float(thresholds[ok[-1]]) if len(ok) else float(thresholds[0])
    # Lowest threshold where 95% of what is flagged is truly positive: "auto-reject" above it.
    ok = np.where(precision >= 0.95)[0]
    out["reject_precision_0.95"] = float(thresholds[ok[0]]) if len(ok) else 1.0
    return out


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        if m.any():
            out.append(
                {
                    "bin": float(edges[b]),
                    "n": int(m.sum()),
                    "mean_score": float(p[m].mean()),
                    "observed": float(y[m].mean()),
                }
            )
    return out


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def write_report(
    path: Path,
    rows: Sequence[LabelledComment],
    table: Sequence[Any],
    scores: dict[str, np.ndarray],
    ours: str,
    extra_text: str = "",
    fp_cost: float = 1.0,
    fn_cost: float = 1.0,
) -> Path:
    """Self-contained HTML: tables (rows of a dataclass), ROC/PR curves of every scorer,
    reliability curve and cost per threshold of ``ours``. Scores that are NaN (an attribute a
    scorer does not have) are left out of its curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    real = np.asarray([r.source != SYNTHETIC_SOURCE for r in rows])
    rows = [r for r, keep in zip(rows, real, strict=True) if keep]
    scores = {name: P[real] for name, P in scores.items()}
    Y = binary_targets(rows)
    images: list[tuple[str, str]] = []
    for k, label in enumerate(LABELS):
        known = Y[:, k] != UNKNOWN
        y = Y[known, k]
        if len(np.unique(y)) < 2:
            continue
        fig, axes = plt.subplots(1, 4, figsize=(20, 4.5))
        for name, P in scores.items():
            p = P[known, k]
            if np.isnan(p).any():
                continue
            fpr, tpr, _ = roc_curve(y, p)
            axes[0].plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y, p):.3f})")
            prec, rec, _ = precision_recall_curve(y, p)
            axes[1].plot(rec, prec, label=f"{name} (AP {average_precision_score(y, p):.3f})")
        axes[0].plot([0, 1], [0, 1], "k:", lw=0.8)
        axes[0].set(
            title=f"{label}: ROC", xlabel="false positive rate", ylabel="true positive rate"
        )
        axes[1].set(title=f"{label}: precision-recall", xlabel="recall", ylabel="precision")
        axes[0].legend(fontsize=8)
        axes[1].legend(fontsize=8)
        mine = scores[ours][known, k]
        curve = reliability(y, mine)
        axes[2].plot([0, 1], [0, 1], "k:", lw=0.8)
        axes[2].plot([c["mean_score"] for c in curve], [c["observed"] for c in curve], "o-")
        axes[2].set(
            title=f"{label}: reliability (Brier {brier_score_loss(y, mine):.3f})",
            xlabel="mean predicted probability",
            ylabel="observed frequency",
        )
        thresholds = np.linspace(0, 1, 101)
        fp = np.array([np.sum((mine >= t) & (y == 0)) for t in thresholds])
        fn = np.array([np.sum((mine < t) & (y == 1)) for t in thresholds])
        axes[3].plot(thresholds, fp, label="wrongly held/rejected (FP)")
        axes[3].plot(thresholds, fn, label="abuse let through (FN)")
        axes[3].plot(
            thresholds, fp_cost * fp + fn_cost * fn, label=f"cost {fp_cost}*FP+{fn_cost}*FN"
        )
        axes[3].set(title=f"{label}: cost of each threshold", xlabel="threshold", ylabel="comments")
        axes[3].legend(fontsize=8)
        images.append((label, _png(fig)))
        plt.close(fig)
    rows_html = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(v if not isinstance(v, float) else f'{v:.4f}'))}</td>"
            for v in asdict(m).values()
        )
        + "</tr>"
        for m in table
    )
    head = "".join(f"<th>{h}</th>" for h in asdict(table[0]))
    body = (
        f"<h1>Evaluation of {html.escape(ours)}</h1>"
        f"<pre>{html.escape(extra_text)}</pre>"
        f"<table border=1 cellspacing=0 cellpadding=3><tr>{head}</tr>{rows_html}</table>"
        + "".join(
            f"<h2>{label}</h2><img src='data:image/png;base64,{img}'>" for label, img in images
        )
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<!doctype html><meta charset=utf-8><title>evaluation</title>{body}")
    return path
