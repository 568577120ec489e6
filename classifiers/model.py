"""The toxicity model: one calibrated linear classifier per label over shared features."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from classifiers.features import CommentVectorizer
from classifiers.normalize import tokenize, tokenize_with_spans

LABELS: tuple[str, ...] = ("toxicity", "hate", "insult", "profanity")

# Targets use -1 for "this data set says nothing about this label"; such rows are left out of
# that label's fit, calibration and metrics instead of being counted as negatives.
UNKNOWN = -1


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
        self.version = version

    card: dict[str, Any]

    # -- training ----------------------------------------------------------------------------

    def fit(
        self,
        texts: Sequence[str],
        targets: np.ndarray,
        sample_weight: np.ndarray | None = None,
        progress: Any = None,
    ) -> ToxicityModel:
        targets = np.asarray(targets)
        if targets.shape != (len(texts), len(self.labels)):
            raise ValueError(f"targets must have shape ({len(texts)}, {len(self.labels)})")
        weights = np.ones(len(texts)) if sample_weight is None else np.asarray(sample_weight)
        if weights.ndim == 1:
            weights = np.repeat(weights[:, None], len(self.labels), axis=1)
        self.vectorizer_ = CommentVectorizer(
            word_bits=self.word_bits,
            char_bits=self.char_bits,
            char_min_n=self.char_ngrams[0],
            char_max_n=self.char_ngrams[1],
            mask_identities=self.mask_identities,
        )
        self.vectorizer_.fit(texts)
        X = self._features(texts)
        Cs = self.C if isinstance(self.C, tuple) else (self.C,) * len(self.labels)
        coefs, intercepts = [], []
        for k, label in enumerate(self.labels):
            known = targets[:, k] != UNKNOWN
            y = targets[known, k]
            if len(np.unique(y)) < 2:
                raise ValueError(f"label {label!r} needs positive and negative examples")
            # liblinear: deterministic, single-threaded and quick on sparse high-dim text.
            Xk, w = X[known], weights[known, k]
            scale = _nb_ratios(Xk, y, w) if self.nb_scaling else None
            if scale is not None:
                Xk = Xk @ sp.diags(scale)
            clf = LogisticRegression(C=Cs[k], solver="liblinear", max_iter=200)
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
        targets = np.asarray(targets)
        n = len(self.labels)
        calibration = np.hstack([np.eye(n), np.zeros((n, 1))])
        for k, label in enumerate(self.labels):
            known = targets[:, k] != UNKNOWN
            if len(np.unique(targets[known, k])) < 2:
                continue  # nothing to calibrate against (tiny custom data): keep raw output
            inputs = list(range(n)) if label in self.stack_labels else [k]
            platt = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000)
            platt.fit(raw[np.ix_(known, inputs)], targets[known, k])
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
        word, char = self.vectorizer_.transform_tokens([tokenize(t) for t in texts])
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

    # -- explanation -------------------------------------------------------------------------

    def explain(self, text: str, label: str = "toxicity", top_k: int = 8) -> list[Contribution]:
        """Spans of ``text`` that pushed ``label``'s score up most, largest first.

        Exact for a linear model: each feature's tf-idf value x coefficient (with calibration
        folded in, so weights are in calibrated-logit units) is shared among the tokens that
        produced it; a token's weight is credited to the original chunk it came from.
        Weights plus ``explain_intercept(label)`` sum to the calibrated logit.
        """
        k = self.labels.index(label)
        spans = tokenize_with_spans(text)
        tokens = [t for t, _, _ in spans]
        word, char = self.vectorizer_.transform_tokens([tokens])
        weights = self._effective()[0][:, k]
        n_word = word.shape[1]
        word_value = dict(zip(word.indices.tolist(), word.data.tolist(), strict=True))
        char_value = dict(zip(char.indices.tolist(), char.data.tolist(), strict=True))
        vec = self.vectorizer_
        # Occurrence counts, to share a repeated feature's contribution among its producers.
        word_count: dict[int, float] = defaultdict(float)
        char_count: dict[int, float] = defaultdict(float)
        per_token = [vec._token_features(t) for t in tokens]
        unigrams = [vec.word_index(h) for h, _ in per_token]
        bigrams = (
            [vec.bigram_index(a, b) for (a, _), (b, _) in itertools.pairwise(per_token)]
            if vec.word_bigrams
            else []
        )
        per_token_features = [(u, chars) for u, (_, chars) in zip(unigrams, per_token, strict=True)]
        for uni, chars in per_token_features:
            word_count[uni] += 1
            for c in chars.tolist():
                char_count[c] += 1
        for b in bigrams:
            word_count[b] += 1
        token_weight = np.zeros(len(tokens))
        for i, (uni, chars) in enumerate(per_token_features):
            token_weight[i] += word_value[uni] * weights[uni] / word_count[uni]
            for c in chars.tolist():
                token_weight[i] += char_value[c] * weights[n_word + c] / char_count[c]
        for i, b in enumerate(bigrams):
            share = word_value[b] * weights[b] / word_count[b] / 2
            token_weight[i] += share
            token_weight[i + 1] += share
        by_span: dict[tuple[int, int], float] = defaultdict(float)
        for (_, start, end), w in zip(spans, token_weight, strict=True):
            by_span[(start, end)] += float(w)
        ranked = sorted(by_span.items(), key=lambda item: -item[1])[:top_k]
        return [Contribution(text[s:e], s, e, w) for (s, e), w in ranked]

    def explain_intercept(self, label: str = "toxicity") -> float:
        k = self.labels.index(label)
        return float(self._effective()[1][k])

    # Derived arrays are rebuilt after loading; only learned state goes into the file.
    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()
        state.pop("_effective_cache", None)
        state.pop("card", None)
        return state
