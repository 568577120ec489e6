"""Cross-source evaluation: train on every source but one, score the one left out.

A model is judged on comments from sources it never saw (the team's hidden sets are such
sources, news comments among them), so a gain that shows only inside a source does not count.
For each source in turn, the recipe is trained on the train split of the other sources and
calibrated on their calibration split, and every scorer is measured on the left-out source's
validation split. The validation split, not the whole source, so that a fixed model trained on
that source's train split (the previous shipped model, alt-profanity-check on Davidson) is at
least never scored on its own training rows; the table marks those as in-source.

Baselines, measured in the same run: a plain TF-IDF + logistic regression trained the same way
(toxicity only), a fixed model file (the previous shipped model) and alt-profanity-check.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from classifiers.data import LabelledComment
from classifiers.evaluate import PlainTfidfBaseline, profanity_check_scorer
from classifiers.model import LABELS, ToxicityModel, canonical_label
from classifiers.train import binary_targets, fit_model, split_rows

# model -> (comments -> outcome per comment)
RuleFactory = Callable[[ToxicityModel], Callable[[Sequence[str]], list[str]]]
THIS_RECIPE = "this recipe"
PLAIN = "plain tfidf+lr"
APC = "alt-profanity-check"


@dataclass(frozen=True)
class Score:
    source: str
    label: str
    scorer: str
    n: int
    positives: int
    roc_auc: float
    average_precision: float
    in_source: bool = False  # the scorer was trained on this source's train split


@dataclass(frozen=True)
class Rates:
    """The default policy as readers meet it, on one source."""

    source: str
    scorer: str
    civil: int
    toxic: int
    civil_published: float
    toxic_not_published: float


@dataclass(frozen=True)
class CrossSourceReport:
    scores: list[Score]
    rates: list[Rates]
    seconds: float
    # Every left-out validation row, and each scorer's scores for them (NaN: not scored).
    rows: list[LabelledComment]
    matrices: dict[str, np.ndarray]

    def worst(self, scorer: str = THIS_RECIPE, label: str = "toxicity") -> Score:
        return min(
            (s for s in self.scores if s.scorer == scorer and s.label == label),
            key=lambda s: s.roc_auc,
        )


def _metrics(
    source: str, scorer: str, rows: Sequence[LabelledComment], P: np.ndarray, in_source: bool
) -> list[Score]:
    Y = binary_targets(rows)
    out = []
    for k, label in enumerate(LABELS):
        known = Y[:, k] >= 0
        y = Y[known, k]
        if len(np.unique(y)) < 2 or P.shape[1] <= k or np.isnan(P[0, k]):
            continue
        p = P[known, k]
        out.append(
            Score(
                source,
                label,
                scorer,
                int(known.sum()),
                int(y.sum()),
                float(roc_auc_score(y, p)),
                float(average_precision_score(y, p)),
                in_source,
            )
        )
    return out


def _rates(source: str, scorer: str, rows: Sequence[LabelledComment], outcomes: list[str]) -> Rates:
    toxicity = binary_targets(rows)[:, LABELS.index("toxicity")]
    outcome = np.asarray(outcomes)
    civil, toxic = toxicity == 0, toxicity == 1
    return Rates(
        source,
        scorer,
        int(civil.sum()),
        int(toxic.sum()),
        float(np.mean(outcome[civil] == "approved")) if civil.any() else float("nan"),
        float(np.mean(outcome[toxic] != "approved")) if toxic.any() else float("nan"),
    )


def _only_toxicity(p: np.ndarray) -> np.ndarray:
    out = np.full((len(p), len(LABELS)), np.nan)
    out[:, 0] = p
    return out


def cross_source(
    rows: Sequence[LabelledComment],
    *,
    sources: Sequence[str],
    rule: RuleFactory | None,
    fixed_models: dict[str, tuple[ToxicityModel, RuleFactory | None, frozenset[str]]] | None = None,
    word_bits: int = 18,
    char_bits: int = 18,
    baselines: bool = True,
    progress: Callable[[str], None] | None = None,
) -> CrossSourceReport:
    """``fixed_models``: name -> (model, its decision rule, the sources it was trained on)."""
    started = time.perf_counter()
    splits = {name: split_rows([r for r in rows if r.source == name]) for name in sources}
    apc = profanity_check_scorer() if baselines else None
    scores: list[Score] = []
    rates: list[Rates] = []
    tested: list[LabelledComment] = []
    parts: dict[str, list[np.ndarray]] = {}

    def keep(name: str, matrix: np.ndarray) -> np.ndarray:
        parts.setdefault(name, []).append(matrix)
        return matrix

    for held_out in sources:
        others = [s for s in sources if s != held_out]
        train = [r for s in others for r in splits[s]["train"]]
        calibration = [r for s in others for r in splits[s]["calibration"]]
        test = splits[held_out]["validation"]
        texts = [r.text for r in test]
        tested += test
        if progress is not None:
            progress(f"train without {held_out}")
        model = fit_model(
            train,
            calibration,
            version=f"without-{held_out}",
            word_bits=word_bits,
            char_bits=char_bits,
            spans=False,  # span F1 is measured in-source (civil_spans alone has spans)
        )
        scores += _metrics(
            held_out, THIS_RECIPE, test, keep(THIS_RECIPE, model.score_matrix(texts)), False
        )
        if rule is not None:
            rates.append(_rates(held_out, THIS_RECIPE, test, rule(model)(texts)))
        if baselines:
            plain = PlainTfidfBaseline(labels=("toxicity",)).fit(train)
            plain_scores = keep(PLAIN, _only_toxicity(plain(texts)[:, 0]))
            scores += _metrics(held_out, PLAIN, test, plain_scores, False)
            if apc is not None:
                p = apc(texts)[:, 0]
                scores += _metrics(
                    held_out, APC, test, keep(APC, _only_toxicity(p)), held_out == "davidson"
                )
                rates.append(
                    _rates(held_out, APC, test, ["held" if v >= 0.5 else "approved" for v in p])
                )
        for name, (fixed, fixed_rule, trained_on) in (fixed_models or {}).items():
            matrix = keep(name, _aligned(fixed, texts))
            scores += _metrics(held_out, name, test, matrix, held_out in trained_on)
            if fixed_rule is not None:
                rates.append(_rates(held_out, name, test, fixed_rule(fixed)(texts)))
    matrices = {name: np.vstack(chunks) for name, chunks in parts.items()}
    return CrossSourceReport(scores, rates, time.perf_counter() - started, tested, matrices)


def _aligned(model: ToxicityModel, texts: Sequence[str]) -> np.ndarray:
    """A model's scores in today's LABELS order (an older model's "hate" as identity_attack;
    attributes it does not have as NaN)."""
    own = model.score_matrix(texts)
    out = np.full((len(texts), len(LABELS)), np.nan)
    for j, name in enumerate(model.labels):
        if canonical_label(name) in LABELS:
            out[:, LABELS.index(canonical_label(name))] = own[:, j]
    return out


def format_cross_source(report: CrossSourceReport) -> str:
    scorers = list(dict.fromkeys(s.scorer for s in report.scores))
    keyed = {(s.source, s.label, s.scorer): s for s in report.scores}
    width = 20
    lines = [
        "Cross-source: trained without the source, scored on its validation split.",
        "ROC AUC / average precision; * = that scorer was trained on this source (in-source)",
        f"{'left out':<12} {'attribute':<16} {'n':>5} {'pos':>5} "
        + " ".join(f"{name[:width]:>{width}}" for name in scorers),
    ]
    for source, label in dict.fromkeys((s.source, s.label) for s in report.scores):
        first = next(s for s in report.scores if s.source == source and s.label == label)
        cells = []
        for name in scorers:
            s = keyed.get((source, label, name))
            cell = (
                f"{s.roc_auc:.3f}/{s.average_precision:.3f}{'*' if s.in_source else ''}"
                if s
                else ""
            )
            cells.append(f"{cell:>{width}}")
        lines.append(
            f"{source:<12} {label:<16} {first.n:>5} {first.positives:>5} " + " ".join(cells)
        )
    if report.rates:
        lines += [
            "",
            "Default policy: civil comments published / toxic comments not published",
            f"{'left out':<12} {'scorer':<24} {'civil':>6} {'toxic':>6} {'published':>10} "
            f"{'caught':>8}",
        ]
        for r in report.rates:
            lines.append(
                f"{r.source:<12} {r.scorer[:24]:<24} {r.civil:>6} {r.toxic:>6} "
                f"{r.civil_published:>10.3f} {r.toxic_not_published:>8.3f}"
            )
    ours = [s for s in report.scores if s.scorer == THIS_RECIPE and s.label == "toxicity"]
    if ours:
        worst = report.worst()
        lines += [
            "",
            f"headline: worst toxicity ROC AUC across sources = {worst.roc_auc:.3f} "
            f"({worst.source}); {report.seconds:.0f} s",
        ]
    return "\n".join(lines)
