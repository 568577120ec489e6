"""Toxic spans: the words a person would mark, and how well the model marks them.

The moderator UI highlights what made a comment toxic. The linear heads' own contributions
(``ToxicityModel.token_contributions``) are exact but say what moved the *score*, which is
not always what a reader would point at ("are" in "Armenians are dogs" carries the bigram's
weight). So a small second model, trained on civil_spans' human-marked spans, decides per
token whether it belongs to a toxic span: its features are the token's contributions to each
head, the comment's scores, the token itself (hashed word and character n-grams) and its
neighbours. A comment scored clearly civil gets no spans at all (a comment with no gold span
counts as right only when nothing is marked).

Measured with the SemEval-2021 task 5 definition: character-level F1 per comment, averaged;
a comment with no gold span scores 1 if nothing is predicted, else 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from zlib import crc32

import numpy as np
import scipy.sparse as sp

from classifiers.lexicon import IDENTITY_TERMS, PROFANE_WORDS

# Hashed space of the tagger's token features (own word, own character n-grams, the words
# either side): 4 x 2^16 weights, 1 MB as float32.
SPAN_BITS = 16
_BLOCK = 1 << SPAN_BITS
_SALTS = (b"w:", b"p:", b"n:")


def character_f1(predicted: set[int], gold: set[int]) -> float:
    if not gold:
        return 1.0 if not predicted else 0.0
    if not predicted:
        return 0.0
    overlap = len(predicted & gold)
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(predicted), overlap / len(gold)
    return 2 * precision * recall / (precision + recall)


def characters(spans: Sequence[tuple[int, int]]) -> set[int]:
    return {i for start, end in spans for i in range(start, end)}


def mean_span_f1(
    predicted: Sequence[Sequence[tuple[int, int]]], gold: Sequence[Sequence[tuple[int, int]]]
) -> float:
    scores = [
        character_f1(characters(p), characters(g)) for p, g in zip(predicted, gold, strict=True)
    ]
    return float(np.mean(scores)) if scores else 1.0


def n_dense(n_labels: int) -> int:
    return 2 * n_labels + 3


def token_rows(
    tokens: Sequence[tuple[str, int, int]],
    contributions: np.ndarray,
    logits: np.ndarray,
    char_grams: Sequence[np.ndarray],
) -> sp.csr_matrix:
    """One feature row per token: dense block (contributions, comment logits, lexicon flags,
    relative size), then the hashed own word, its character n-grams and its neighbours."""
    n, n_labels = contributions.shape
    dense_width = n_dense(n_labels)
    if n == 0:
        return sp.csr_matrix((0, dense_width + 4 * _BLOCK), dtype=np.float32)
    strongest = max(float(np.abs(contributions).max()), 1e-6)
    rows, cols, vals = [], [], []
    words = [t for t, _, _ in tokens]
    for i, word in enumerate(words):
        dense = [
            *contributions[i].tolist(),
            *logits.tolist(),
            float(word in PROFANE_WORDS),
            float(word in IDENTITY_TERMS),
            float(contributions[i, 0]) / strongest,
        ]
        for j, v in enumerate(dense):
            if v:
                rows.append(i)
                cols.append(j)
                vals.append(v)
        hashed = [dense_width + (crc32(_SALTS[0] + word.encode()) & (_BLOCK - 1))]
        if i > 0:
            hashed.append(
                dense_width + _BLOCK + (crc32(_SALTS[1] + words[i - 1].encode()) & (_BLOCK - 1))
            )
        if i + 1 < n:
            hashed.append(
                dense_width + 2 * _BLOCK + (crc32(_SALTS[2] + words[i + 1].encode()) & (_BLOCK - 1))
            )
        grams = char_grams[i]
        for c in hashed:
            rows.append(i)
            cols.append(c)
            vals.append(1.0)
        if len(grams):
            scale = 1.0 / np.sqrt(len(grams))
            for g in (grams & (_BLOCK - 1)).tolist():
                rows.append(i)
                cols.append(dense_width + 3 * _BLOCK + g)
                vals.append(scale)
    return sp.csr_matrix(
        (np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(n, dense_width + 4 * _BLOCK)
    )


def token_targets(
    tokens: Sequence[tuple[str, int, int]], gold: Sequence[tuple[int, int]]
) -> np.ndarray:
    """1 for a token whose original chunk is at least half inside a gold span."""
    marked = characters(gold)
    out = np.zeros(len(tokens), dtype=np.int8)
    for i, (_, start, end) in enumerate(tokens):
        if end > start and sum(c in marked for c in range(start, end)) * 2 >= end - start:
            out[i] = 1
    return out


def merge_marked(
    text: str, tokens: Sequence[tuple[str, int, int]], marked: Sequence[bool]
) -> list[tuple[int, int]]:
    """Marked tokens' chunks as character spans; neighbours joined across the spaces between
    them ("whiny jerk" is one span, as annotators mark it)."""
    spans: list[tuple[int, int]] = []
    for (_, start, end), on in zip(tokens, marked, strict=True):
        if not on:
            continue
        if spans and spans[-1][1] >= start:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        elif spans and not text[spans[-1][1] : start].strip():
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans
