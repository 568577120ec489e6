"""Training: split, weight, fit, calibrate, and write the model card."""

from __future__ import annotations

import datetime as dt
import platform
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sklearn

from classifiers.data import (
    SPLIT_SALT,
    SPLITS,
    LabelledComment,
    read_labelled_file,
    read_shared,
    split_of,
)
from classifiers.identity import identity_comments
from classifiers.model import LABELS, ToxicityModel, binary, known_rows
from classifiers.normalize import tokenize
from classifiers.violence import violence_comments
from classifiers.word_vectors import concept_classes, vocabulary

# Chosen on the calibration split (log-loss of each label; see docs/classifier.md).
DEFAULT_C: tuple[float, ...] = (4.0,) * len(LABELS)
GENERATED_SOURCES = ("identity_templates", "violence_templates")
# Where the encoder's word vectors are kept between training runs (git-ignored).
DEFAULT_VECTOR_CACHE = Path(".cache/word-vectors")


def targets_of(rows: Sequence[LabelledComment]) -> np.ndarray:
    """Soft targets (n, labels): -1 unknown, else in [0, 1]."""
    return np.asarray([r.targets for r in rows], dtype=np.float64).reshape(len(rows), len(LABELS))


def binary_targets(rows: Sequence[LabelledComment]) -> np.ndarray:
    """Targets as metrics count them: -1 unknown, else 1 when >= 0.5."""
    soft = targets_of(rows)
    return np.where(known_rows(soft), binary(soft), -1).astype(np.int8)


def balanced_weights(
    rows: Sequence[LabelledComment], power: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Per label, weight each source's positive and negative mass to equal totals.

    The sources differ wildly in base rate (Davidson is 80% offensive, Stormfront 11% hate), so
    an unweighted model learns "looks like a tweet from Davidson" as toxic. Balancing inside
    each source removes that shortcut; a source keeps a total weight equal to its size, and
    Platt scaling afterwards restores honest probabilities. ``power`` < 1 balances partly.
    With soft targets a row's mass is split (p positive, 1 - p negative), so the weights come
    as a (positive, negative) pair for :meth:`ToxicityModel.fit`.
    """
    targets = targets_of(rows)
    sources = np.asarray([r.source for r in rows])
    positive = np.zeros(targets.shape, dtype=np.float64)
    negative = np.zeros(targets.shape, dtype=np.float64)
    for k in range(len(LABELS)):
        for source in np.unique(sources):
            in_source = (sources == source) & known_rows(targets[:, k])
            n = float(in_source.sum())
            p = targets[in_source, k]
            pos_mass, neg_mass = float(p.sum()), float((1 - p).sum())
            if pos_mass > 0:
                positive[in_source, k] = (n / (2.0 * pos_mass)) ** power
            if neg_mass > 0:
                negative[in_source, k] = (n / (2.0 * neg_mass)) ** power
    return positive, negative


def split_rows(rows: Sequence[LabelledComment]) -> dict[str, list[LabelledComment]]:
    splits: dict[str, list[LabelledComment]] = {name: [] for name in SPLITS}
    for row in rows:
        splits[split_of(row.text)].append(row)
    return splits


def load_training_rows(inputs: Sequence[Path], data_dir: Path) -> list[LabelledComment]:
    if not inputs:
        return read_shared(data_dir)
    rows: list[LabelledComment] = []
    for path in inputs:
        rows.extend(read_labelled_file(path))
    return rows


def default_version(today: dt.date | None = None, build: int = 1) -> str:
    today = today or dt.date.today()
    return f"news-lr-{today:%Y.%m.%d}-{build}"


def generated_rows() -> list[LabelledComment]:
    """The sentences written for this project (identity mentions, violence): train split only."""
    return identity_comments() + violence_comments()


def fit_model(
    train: Sequence[LabelledComment],
    calibration: Sequence[LabelledComment],
    *,
    version: str,
    C: tuple[float, ...] = DEFAULT_C,
    augment: bool = True,
    generated_weight: float = 3.0,
    source_weights: Mapping[str, float] | None = None,
    word_bits: int = 18,
    char_bits: int = 18,
    mask_identities: bool = True,
    char_ngrams: tuple[int, int] = (3, 5),
    balance_power: float = 1.0,
    nb_scaling: bool = True,
    word_vectors: bool = True,
    vector_cache: Path = DEFAULT_VECTOR_CACHE,
    spans: bool = True,
    progress: Callable[[str], None] | None = None,
) -> ToxicityModel:
    """Fit on ``train`` (+ the generated sentences), calibrate on ``calibration``.

    ``source_weights`` multiply a source's balanced weights (a site's own decisions, say);
    generated sentences get ``generated_weight``: they are few next to ~60k real rows, and
    upweighting them is what moves identity words' and violent words' own weights to zero.
    """
    rows = list(train) + (generated_rows() if augment else [])
    positive, negative = balanced_weights(rows, balance_power)
    factors = dict.fromkeys(GENERATED_SOURCES, generated_weight) | dict(source_weights or {})
    sources = np.asarray([r.source for r in rows])
    for source, factor in factors.items():
        chosen = sources == source
        positive[chosen] *= factor
        negative[chosen] *= factor
    model = ToxicityModel(
        C=C,
        word_bits=word_bits,
        char_bits=char_bits,
        mask_identities=mask_identities,
        char_ngrams=char_ngrams,
        nb_scaling=nb_scaling,
        version=version,
    )
    texts = [r.text for r in rows]
    # The concepts' anchors always; with word vectors, the words of this training set near
    # them (a cross-source fold learns nothing of words only the left-out source has).
    words = vocabulary([tokenize(t) for t in texts]) if word_vectors else []
    classes = concept_classes(words, vector_cache if word_vectors else None)
    if progress is not None and word_vectors:
        progress("word vectors")
    model.fit(
        texts,
        targets_of(rows),
        sample_weight=(positive, negative),
        progress=progress,
        word_classes=classes,
    )
    if progress is not None:
        progress("calibration")
    model.calibrate([r.text for r in calibration], targets_of(calibration))
    marked = [r for r in train if r.spans is not None]
    tune = [r for r in calibration if r.spans is not None]
    if spans and marked and tune:
        model.fit_spans(
            [r.text for r in marked],
            [r.spans or () for r in marked],
            [r.text for r in tune],
            [r.spans or () for r in tune],
        )
        if progress is not None:
            progress("spans")
    return model


def describe_split(splits: dict[str, list[LabelledComment]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule": f"crc32('{SPLIT_SALT}' + split_key(text)) % 100 -> "
        + ", ".join(f"{name} [{lo}, {hi})" for name, (lo, hi) in SPLITS.items()),
        "rows": {},
    }
    for name, rows in splits.items():
        out["rows"][name] = dict(sorted(Counter(r.source for r in rows).items()))
    return out


def base_card(model: ToxicityModel, splits: dict[str, list[LabelledComment]]) -> dict[str, Any]:
    from classifiers import data

    return {
        "version": model.version,
        "labels": list(model.labels),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model": {
            "kind": "normalised tokens -> hashed word 1-2gram + char_wb 3-5gram TF-IDF "
            "-> NB-scaled L2 logistic regression per label (liblinear) -> Platt per label",
            "word_bits": model.word_bits,
            "char_bits": model.char_bits,
            "char_ngrams": list(model.char_ngrams),
            "mask_identities": model.mask_identities,
            "C": list(model.C) if isinstance(model.C, tuple) else model.C,
            "nb_scaling": model.nb_scaling,
            "sample_weighting": "per source and label, positives and negatives balanced",
            "augmentation": "classifiers/identity.py and classifiers/violence.py generated "
            "sentences (train split only)",
        },
        "languages": list(model.languages),
        "training_data": {
            "sources": {
                "davidson": "Davidson et al. 2017, labeled_data.csv (MIT)",
                "olid": "OLID v1.0 training set, Zampieri et al. 2019 (CC BY 4.0)",
                "hateval": "SemEval-2019 Task 5 English, TweetEval train+val (research use)",
                "stormfront": "de Gibert et al. 2018 (CC BY-SA 3.0 ES)",
                "civil_spans": "Civil Comments toxic spans, Pavlopoulos et al. 2022 (CC0)",
            },
            "mapping": (data.__doc__ or "").strip(),
            "split": describe_split(splits),
        },
        "environment": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
        },
    }
