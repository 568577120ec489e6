"""The toxicity model: one calibrated linear classifier per label over shared features."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from classifiers import spans as spans_lib
from classifiers.features import CommentVectorizer
from classifiers.language import LanguageGuess, detect_language
from classifiers.normalize import tokenize, tokenize_with_spans

# Perspective API's production attributes, so that its clients and a site's policy speak of the
# same scores. Toxicity first: it is the score a comment is ranked by.
LABELS: tuple[str, ...] = (
    "toxicity",
    "severe_toxicity",
    "identity_attack",
    "insult",
    "profanity",
    "threat",
)
# Older names still accepted where a label is read (stored scores, site policies, CLI options)
# for one release.
LABEL_ALIASES: dict[str, str] = {"hate": "identity_attack"}

# Targets use -1 for "this data set says nothing about this label"; such rows are left out of
# that label's fit, calibration and metrics instead of being counted as negatives. Other
# targets are in [0, 1]: 0/1, or the share of annotators who said so.
UNKNOWN = -1


def canonical_label(name: str) -> str:
    """A label's current name (``hate`` -> ``identity_attack``); unknown names unchanged."""
    return LABEL_ALIASES.get(name, name)


def known_rows(targets: np.ndarray) -> np.ndarray:
    return np.asarray(targets >= 0)


def binary(targets: np.ndarray) -> np.ndarray:
    """Soft targets as metrics count them: >= 0.5 positive (unknown rows must be masked out)."""
    return (np.asarray(targets) >= 0.5).astype(np.int8)


def soft_parts(
    y: np.ndarray, positive_weight: np.ndarray, negative_weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A soft target p as two weighted rows: positive with weight p, negative with 1 - p.

    Returns (row index into y, class, weight); rows with zero weight are dropped. For 0/1
    targets this is exactly the row itself with its weight.
    """
    pos = np.flatnonzero(y > 0)
    neg = np.flatnonzero(y < 1)
    index = np.concatenate([pos, neg])
    cls = np.concatenate([np.ones(len(pos), np.int8), np.zeros(len(neg), np.int8)])
    weight = np.concatenate([positive_weight[pos] * y[pos], negative_weight[neg] * (1 - y[neg])])
    keep = weight > 0
    return index[keep], cls[keep], weight[keep]


class Assessment(NamedTuple):
    """What the model can say of one comment: scores, language, and how much of it it knows.

    (A tuple, not a dataclass: a worker builds one per comment.)
    """

    scores: dict[str, float]
    language: LanguageGuess
    known_words: int  # tokens that occurred in at least two training comments
    words: int  # tokens after normalisation


@dataclass(frozen=True)
class Contribution:
    """A span of the original comment and how much it moved the score (calibrated logit)."""

    text: str
    start: int
    end: int
    weight: float


def _nb_ratios(X: sp.csr_matrix, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """NB-LR feature scaling (Wang & Manning 2012): |log-count ratio| of each feature."""
    pos = np.asarray(X[y == 1].T @ weights[y == 1]).ravel() + 1.0
    neg = np.asarray(X[y == 0].T @ weights[y == 0]).ravel() + 1.0
    return np.abs(np.log((pos / pos.sum()) / (neg / neg.sum())))


def _part_weights(
    sample_weight: np.ndarray | tuple[np.ndarray, np.ndarray] | None, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    if sample_weight is None:
        ones = np.ones(shape)
        return ones, ones
    if isinstance(sample_weight, tuple):
        positive, negative = (np.asarray(w, dtype=np.float64) for w in sample_weight)
    else:
        positive = negative = np.asarray(sample_weight, dtype=np.float64)
    if positive.ndim == 1:
        positive = np.repeat(positive[:, None], shape[1], axis=1)
    if negative.ndim == 1:
        negative = np.repeat(negative[:, None], shape[1], axis=1)
    return positive, negative


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


class ToxicityModel(BaseEstimator):
    """Comment -> calibrated probability per label.

    ``fit`` learns the features and one L2 logistic regression per label (rows whose target is
    ``UNKNOWN`` are skipped for that label), on features scaled by their naive-Bayes
    log-count ratio (NB-LR; +1-2 points ROC AUC on every source of the validation split).
    ``calibrate`` fits Platt scaling per label on a held-out split, so ``score`` returns
    probabilities that match observed frequencies there.
    """

    def __init__(
        self,
        labels: tuple[str, ...] = LABELS,
        C: float | tuple[float, ...] = 4.0,
        nb_scaling: bool = True,
        stack_labels: tuple[str, ...] = ("toxicity",),
        word_bits: int = 18,
        char_bits: int = 18,
        char_ngrams: tuple[int, int] = (2, 5),
        mask_identities: bool = True,
        languages: tuple[str, ...] = ("en",),
        version: str = "untrained",
    ) -> None:
        self.labels = labels
        self.C = C
        self.nb_scaling = nb_scaling
        self.stack_labels = stack_labels
        self.word_bits = word_bits
        self.char_bits = char_bits
        self.char_ngrams = char_ngrams
        self.mask_identities = mask_identities
        self.languages = languages
        self.version = version

    card: dict[str, Any]
    # Models saved before languages were a parameter read English.
    languages: tuple[str, ...] = ("en",)

    # -- training ----------------------------------------------------------------------------

    def fit(
        self,
        texts: Sequence[str],
        targets: np.ndarray,
        sample_weight: np.ndarray | tuple[np.ndarray, np.ndarray] | None = None,
        progress: Any = None,
        word_classes: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> ToxicityModel:
        """Learn the features and one head per label.

        ``targets`` (n, labels): -1 unknown, else a value in [0, 1]; a soft target p counts as
        a positive with weight p and a negative with weight 1 - p. ``sample_weight``: one
        array, (n,) or (n, labels), for both parts, or a (positive, negative) pair of
        (n, labels) arrays (class-balanced weights for soft targets need the two).
        """
        targets = np.asarray(targets, dtype=np.float64)
        if targets.shape != (len(texts), len(self.labels)):
            raise ValueError(f"targets must have shape ({len(texts)}, {len(self.labels)})")
        positive_weight, negative_weight = _part_weights(sample_weight, targets.shape)
        self.vectorizer_ = CommentVectorizer(
            word_bits=self.word_bits,
            char_bits=self.char_bits,
            char_min_n=self.char_ngrams[0],
            char_max_n=self.char_ngrams[1],
            mask_identities=self.mask_identities,
        )
        if word_classes is not None:
            self.vectorizer_.set_word_classes(*word_classes)
        self.vectorizer_.fit(texts)
        X = self._features(texts)
        Cs = self.C if isinstance(self.C, tuple) else (self.C,) * len(self.labels)
        coefs, intercepts = [], []
        for k, label in enumerate(self.labels):
            known = np.flatnonzero(known_rows(targets[:, k]))
            rows, y, w = soft_parts(
                targets[known, k], positive_weight[known, k], negative_weight[known, k]
            )
            if len(np.unique(y)) < 2:
                raise ValueError(f"label {label!r} needs positive and negative examples")
            # liblinear: deterministic, single-threaded and quick on sparse high-dim text; the
            # dual problem, since features (2^19) outnumber rows: 3.5x faster here than the
            # primal for the same coefficients (correlation 0.998 on the toxicity head).
            Xk = X[known[rows]]
            scale = _nb_ratios(Xk, y, w) if self.nb_scaling else None
            if scale is not None:
                Xk = Xk @ sp.diags(scale)
            clf = LogisticRegression(C=Cs[k], solver="liblinear", dual=True, max_iter=200)
            clf.fit(Xk, y, sample_weight=w)
            # NB scaling folds into the coefficients: the served model stays one dot product.
            coef = (clf.coef_[0] * scale if scale is not None else clf.coef_[0]).astype(np.float32)
            coef[np.abs(coef) < 1e-4] = 0.0  # unseen hash buckets and noise: keeps the file small
            coefs.append(coef)
            intercepts.append(float(clf.intercept_[0]))
            if progress is not None:
                progress(label)
        self.coef_ = sp.csr_matrix(np.vstack(coefs))
        self.intercept_ = np.asarray(intercepts, dtype=np.float64)
        n = len(self.labels)
        self.calibration_ = np.hstack([np.eye(n), np.zeros((n, 1))])
        self.__dict__.pop("_effective_cache", None)
        return self

    def calibrate(self, texts: Sequence[str], targets: np.ndarray) -> ToxicityModel:
        """Platt scaling per label on a split the linear models were not fitted on.

        Labels in ``stack_labels`` are calibrated on *all* labels' raw logits (a stacked Platt
        fit): toxicity then draws on the insult and hate heads too, which generalises better
        across sources (+0.006 ROC AUC on OLID). Still linear, so it folds into one weight
        vector per label and ``explain`` stays exact.
        """
        raw = self._raw_decision(texts)
        targets = np.asarray(targets, dtype=np.float64)
        n = len(self.labels)
        calibration = np.hstack([np.eye(n), np.zeros((n, 1))])
        for k, label in enumerate(self.labels):
            known = np.flatnonzero(known_rows(targets[:, k]))
            ones = np.ones(len(known))
            rows, y, w = soft_parts(targets[known, k], ones, ones)
            if len(np.unique(y)) < 2:
                continue  # nothing to calibrate against (tiny custom data): keep raw output
            inputs = list(range(n)) if label in self.stack_labels else [k]
            platt = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000)
            platt.fit(raw[np.ix_(known[rows], inputs)], y, sample_weight=w)
            calibration[k] = 0.0
            calibration[k, inputs] = platt.coef_[0]
            calibration[k, n] = platt.intercept_[0]
        self.calibration_ = calibration
        self.__dict__.pop("_effective_cache", None)
        return self

    # -- scoring -----------------------------------------------------------------------------

    def _features(self, texts: Sequence[str]) -> sp.csr_matrix:
        word, char = self.vectorizer_.transform_blocks(texts)
        return sp.hstack([word, char], format="csr")

    def _effective(self) -> tuple[np.ndarray, np.ndarray]:
        """Calibration folded into the linear heads: (weights (n_features, n_labels), bias)."""
        cached: tuple[np.ndarray, np.ndarray] | None = self.__dict__.get("_effective_cache")
        if cached is None:
            n = len(self.labels)
            mix, bias = self.calibration_[:, :n], self.calibration_[:, n]
            # Dense float32 (n_features, n_labels) makes sparse @ dense the fastest product.
            weights = np.ascontiguousarray((sp.csr_matrix(mix) @ self.coef_).toarray().T)
            cached = (weights.astype(np.float32), mix @ self.intercept_ + bias)
            self.__dict__["_effective_cache"] = cached
        return cached

    def _raw_decision(self, texts: Sequence[str]) -> np.ndarray:
        """Uncalibrated logits of each head (only needed to fit the calibration)."""
        X = self._features(texts)
        return np.asarray((X @ self.coef_.T).toarray()) + self.intercept_

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated logits, shape ``(len(texts), len(labels))``."""
        return self._logits([tokenize(t) for t in texts])

    def _logits(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        word, char = self.vectorizer_.transform_tokens(docs)
        weights, bias = self._effective()
        n_word = word.shape[1]
        z = (word @ weights[:n_word]) + (char @ weights[n_word:]) + bias
        return np.asarray(z, dtype=np.float64)

    def score_matrix(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, shape ``(len(texts), len(labels))``."""
        if isinstance(texts, str):
            raise TypeError("score_matrix takes a sequence of comments, not one string")
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)))
        return _sigmoid(self.decision_function(texts))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.score_matrix(texts)

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """One ``{label: probability}`` dict per comment, keys in ``labels`` order."""
        matrix = self.score_matrix(texts)
        labels = self.labels
        return [dict(zip(labels, map(float, row), strict=True)) for row in matrix]

    def assess(self, texts: Sequence[str]) -> list[Assessment]:
        """Scores, detected language and known-word count of each comment (what a worker
        needs to decide), tokenising each comment once."""
        if isinstance(texts, str):
            raise TypeError("assess takes a sequence of comments, not one string")
        if len(texts) == 0:
            return []
        docs = [tokenize(t) for t in texts]
        matrix = _sigmoid(self._logits(docs))
        labels = self.labels
        return [
            Assessment(dict(zip(labels, map(float, row), strict=True)), *reading)
            for row, reading in zip(matrix, self._read(texts, docs), strict=True)
        ]

    def read(self, texts: Sequence[str]) -> list[tuple[LanguageGuess, int, int]]:
        """What :meth:`assess` says of each comment besides its scores (language, known words,
        words), without scoring: for comments whose scores are already known."""
        return self._read(texts, [tokenize(t) for t in texts])

    def _read(
        self, texts: Sequence[str], docs: Sequence[Sequence[str]]
    ) -> list[tuple[LanguageGuess, int, int]]:
        known = self.vectorizer_.known_word_counts(docs).tolist() if docs else []
        return [
            (detect_language(text), n_known, len(doc))
            for text, doc, n_known in zip(texts, docs, known, strict=True)
        ]

    def label_index(self, label: str) -> int:
        """Position of ``label`` (or of the label it is an alias of) in ``labels``."""
        if label in self.labels:
            return self.labels.index(label)
        return self.labels.index(canonical_label(label))

    # -- explanation -------------------------------------------------------------------------

    def token_contributions(self, text: str) -> tuple[list[tuple[str, int, int]], np.ndarray]:
        """Each token of ``text`` (token, start, end of its original chunk) and its share of
        every label's calibrated logit, shape (tokens, labels).

        Exact for a linear model: each feature's tf-idf value x coefficient (with calibration
        folded in, so weights are in calibrated-logit units) is shared among the tokens that
        produced it (a bigram half to each of its two words). Per label, the rows plus
        ``explain_intercept(label)`` sum to the calibrated logit.
        """
        spans = tokenize_with_spans(text)
        tokens = [t for t, _, _ in spans]
        out = np.zeros((len(tokens), len(self.labels)))
        if not tokens:
            return spans, out
        word, char = self.vectorizer_.transform_tokens([tokens])
        weights = self._effective()[0]
        n_word = word.shape[1]
        word_value = dict(zip(word.indices.tolist(), word.data.tolist(), strict=True))
        char_value = dict(zip(char.indices.tolist(), char.data.tolist(), strict=True))
        vec = self.vectorizer_
        per_token = [vec._token_features(t) for t in tokens]
        # None: an identity term, which has no unigram of its own (features.py says why).
        unigrams = [vec.word_index(f[0]) if f[2] else None for f in per_token]
        pairs = list(itertools.pairwise(per_token))
        bigrams = [vec.bigram_index(a[0], b[0]) for a, b in pairs] if vec.word_bigrams else []
        # Word classes: a classed token's class unigram is its own; a class bigram is shared by
        # its two tokens, as a word bigram is.
        classed = "class_hashes_" in vec.__dict__
        class_unigrams = [vec.word_index(f[3]) if classed and f[4] else None for f in per_token]
        class_bigrams = (
            [vec.class_bigram_index(a, b) for a, b in pairs] if classed and vec.word_bigrams else []
        )
        # Occurrence counts, to share a repeated feature's contribution among its producers.
        word_count: dict[int, float] = defaultdict(float)
        char_count: dict[int, float] = defaultdict(float)
        for index in (*unigrams, *bigrams, *class_unigrams, *class_bigrams):
            if index is not None:
                word_count[index] += 1
        for f in per_token:
            for c in f[1].tolist():
                char_count[c] += 1

        def share(index: int) -> np.ndarray:
            return word_value[index] * weights[index] / word_count[index]

        for i, f in enumerate(per_token):
            for index in (unigrams[i], class_unigrams[i]):
                if index is not None:
                    out[i] += share(index)
            for c in f[1].tolist():
                out[i] += char_value[c] * weights[n_word + c] / char_count[c]
        for pair_bigrams in (bigrams, class_bigrams):
            for i, index in enumerate(pair_bigrams):
                if index is not None:
                    half = share(index) / 2
                    out[i] += half
                    out[i + 1] += half
        return spans, out

    # -- toxic spans (classifiers.spans says why a second model) ----------------------------

    def _span_features(self, text: str) -> tuple[list[tuple[str, int, int]], sp.csr_matrix]:
        tokens, contributions = self.token_contributions(text)
        logits = contributions.sum(axis=0) + self._effective()[1]
        grams = [self.vectorizer_._token_features(t)[1] for t, _, _ in tokens]
        return tokens, spans_lib.token_rows(tokens, contributions, logits, grams)

    def fit_spans(
        self,
        texts: Sequence[str],
        gold: Sequence[Sequence[tuple[int, int]]],
        tune_texts: Sequence[str],
        tune_gold: Sequence[Sequence[tuple[int, int]]],
    ) -> ToxicityModel:
        """Learn which tokens people mark (on ``texts``), then the token and comment thresholds
        that give the best mean span F1 on ``tune_texts``."""
        blocks, targets = [], []
        for text, spans in zip(texts, gold, strict=True):
            tokens, X = self._span_features(text)
            blocks.append(X)
            targets.append(spans_lib.token_targets(tokens, spans))
        y = np.concatenate(targets)
        if len(np.unique(y)) < 2:
            raise ValueError("span training needs comments with and without marked words")
        clf = LogisticRegression(C=1.0, solver="liblinear", dual=True, max_iter=300)
        clf.fit(sp.vstack(blocks, format="csr"), y)
        self.span_coef_ = clf.coef_[0].astype(np.float32)
        self.span_intercept_ = float(clf.intercept_[0])
        # Tuning: per comment, the token probabilities and the comment's toxicity, once.
        k = self.label_index("toxicity")
        tuned = []
        for text in tune_texts:
            tokens, X = self._span_features(text)
            tuned.append((text, tokens, self._span_probabilities(X)))
        toxicity = self.score_matrix(list(tune_texts))[:, k] if len(tune_texts) else np.zeros(0)
        best = (-1.0, 0.5, 0.5)
        for gate in (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
            for threshold in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6):
                predicted = [
                    spans_lib.merge_marked(text, tokens, (p >= threshold).tolist())
                    if tox >= gate
                    else []
                    for (text, tokens, p), tox in zip(tuned, toxicity, strict=True)
                ]
                f1 = spans_lib.mean_span_f1(predicted, tune_gold)
                if f1 > best[0]:
                    best = (f1, gate, threshold)
        self.span_tuning_f1_, self.span_gate_, self.span_threshold_ = best
        return self

    def _span_probabilities(self, X: sp.csr_matrix) -> np.ndarray:
        return np.asarray(_sigmoid(X @ self.span_coef_ + self.span_intercept_))

    def toxic_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans [start, end) of ``text`` a person would mark as toxic; empty for a
        comment the model scores civil (below the tuned gate on toxicity)."""
        if "span_coef_" not in self.__dict__:
            return []
        tokens, X = self._span_features(text)
        if not tokens:
            return []
        logits = np.asarray(X[0, len(self.labels) : 2 * len(self.labels)].toarray()).ravel()
        if _sigmoid(logits[self.label_index("toxicity")]) < self.span_gate_:
            return []
        marked = (self._span_probabilities(X) >= self.span_threshold_).tolist()
        return spans_lib.merge_marked(text, tokens, marked)

    def explain(self, text: str, label: str = "toxicity", top_k: int = 8) -> list[Contribution]:
        """Spans of ``text`` that pushed ``label``'s score up most, largest first; a token's
        weight is credited to the original chunk it came from (see token_contributions).
        Weights plus ``explain_intercept(label)`` sum to the calibrated logit.
        """
        k = self.label_index(label)
        spans, contributions = self.token_contributions(text)
        by_span: dict[tuple[int, int], float] = defaultdict(float)
        for (_, start, end), w in zip(spans, contributions[:, k], strict=True):
            by_span[(start, end)] += float(w)
        ranked = sorted(by_span.items(), key=lambda item: -item[1])[:top_k]
        return [Contribution(text[s:e], s, e, w) for (s, e), w in ranked]

    def explain_intercept(self, label: str = "toxicity") -> float:
        k = self.label_index(label)
        return float(self._effective()[1][k])

    # Derived arrays are rebuilt after loading; only learned state goes into the file.
    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()
        state.pop("_effective_cache", None)
        state.pop("card", None)
        return state
