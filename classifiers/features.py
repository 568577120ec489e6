"""Hashed word + character n-gram TF-IDF features over normalised tokens.

Why not ``TfidfVectorizer``/``HashingVectorizer``: sklearn's char analyzers rebuild every
n-gram of every comment in Python, which caps throughput well below the 20k comments/s target.
Here the n-gram hashes of each *token* are computed once and cached, so scoring a comment costs
a few dictionary look-ups per word. Hashing (stable CRC32, not Python's salted ``hash``) keeps
the model free of a vocabulary dict, which keeps the skops file small and fast to load.

Two blocks, each TF-IDF weighted (sublinear tf) and L2-normalised on its own, as a
``FeatureUnion`` of two vectorizers would be:

* word block: unigrams and bigrams of normalised tokens;
* char block: 2-5 character n-grams inside each token padded with spaces (like ``char_wb``),
  which is what makes unseen spellings (``idiotss``, ``fcking``) land near known words.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any
from zlib import crc32

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from classifiers.lexicon import IDENTITY_PLACEHOLDER, IDENTITY_TERMS
from classifiers.normalize import tokenize

_MAX_TOKEN_CHARS = 24
_CACHE_LIMIT = 300_000


class CommentVectorizer(TransformerMixin, BaseEstimator):
    """Comments -> (word block, char block) of hashed, IDF-weighted, L2-normalised features."""

    def __init__(
        self,
        word_bits: int = 18,
        char_bits: int = 18,
        char_min_n: int = 2,
        char_max_n: int = 5,
        word_bigrams: bool = True,
        mask_identities: bool = True,
    ) -> None:
        self.word_bits = word_bits
        self.char_bits = char_bits
        self.char_min_n = char_min_n
        self.char_max_n = char_max_n
        self.word_bigrams = word_bigrams
        self.mask_identities = mask_identities

    def map_tokens(self, tokens: Sequence[str]) -> Sequence[str]:
        """Identity terms -> one placeholder (see :data:`classifiers.lexicon.IDENTITY_TERMS`)."""
        if not self.mask_identities:
            return tokens
        return [IDENTITY_PLACEHOLDER if t in IDENTITY_TERMS else t for t in tokens]

    # -- token level -------------------------------------------------------------------------

    def _token_features(self, token: str) -> tuple[int, np.ndarray]:
        cache: dict[str, tuple[int, np.ndarray]] = self.__dict__.setdefault("_token_cache", {})
        hit = cache.get(token)
        if hit is not None:
            return hit
        word_mask = (1 << self.word_bits) - 1
        char_mask = (1 << self.char_bits) - 1
        padded = " " + token[:_MAX_TOKEN_CHARS] + " "
        grams = [
            crc32(padded[i : i + n].encode()) & char_mask
            for n in range(self.char_min_n, self.char_max_n + 1)
            for i in range(len(padded) - n + 1)
        ]
        result = (crc32(token.encode()) & word_mask, np.asarray(grams, dtype=np.int32))
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[token] = result
        return result

    def _bigram(self, left: str, right: str) -> int:
        return crc32(f"{left} {right}".encode()) & ((1 << self.word_bits) - 1)

    # -- counts ------------------------------------------------------------------------------

    def count_tokens(self, docs: Sequence[Sequence[str]]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Raw n-gram counts of already-tokenised comments, one CSR matrix per block."""
        word_idx: list[int] = []
        word_ptr = [0]
        char_parts: list[np.ndarray] = []
        char_ptr = [0]
        char_total = 0
        features = self._token_features
        for doc in docs:
            tokens = self.map_tokens(doc)
            for token in tokens:
                word, chars = features(token)
                word_idx.append(word)
                char_parts.append(chars)
                char_total += len(chars)
            if self.word_bigrams:
                word_idx.extend(self._bigram(a, b) for a, b in itertools.pairwise(tokens))
            word_ptr.append(len(word_idx))
            char_ptr.append(char_total)
        n = len(docs)
        word = _counts(np.asarray(word_idx, dtype=np.int32), word_ptr, n, 1 << self.word_bits)
        char_idx = np.concatenate(char_parts) if char_parts else np.zeros(0, dtype=np.int32)
        char = _counts(char_idx, char_ptr, n, 1 << self.char_bits)
        return word, char

    # -- sklearn API -------------------------------------------------------------------------

    def fit(self, texts: Sequence[str], y: Any = None) -> CommentVectorizer:
        word, char = self.count_tokens([tokenize(t) for t in texts])
        self.word_idf_ = _idf(word)
        self.char_idf_ = _idf(char)
        return self

    def transform_tokens(
        self, docs: Sequence[Sequence[str]]
    ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        word, char = self.count_tokens(docs)
        return _tfidf(word, self.word_idf_), _tfidf(char, self.char_idf_)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        word, char = self.transform_tokens([tokenize(t) for t in texts])
        return sp.hstack([word, char], format="csr", dtype=np.float32)

    def transform_blocks(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        return self.transform_tokens([tokenize(t) for t in texts])

    @property
    def n_features(self) -> int:
        return (1 << self.word_bits) + (1 << self.char_bits)

    # The token cache is a runtime accelerator, not learned state: keep it out of the file.
    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()
        state.pop("_token_cache", None)
        return state


def _counts(indices: np.ndarray, indptr: list[int], n_rows: int, n_cols: int) -> sp.csr_matrix:
    data = np.ones(len(indices), dtype=np.float32)
    matrix = sp.csr_matrix(
        (data, indices, np.asarray(indptr, dtype=np.int64)), shape=(n_rows, n_cols)
    )
    matrix.sum_duplicates()
    return matrix


def _idf(counts: sp.csr_matrix) -> np.ndarray:
    n_docs = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    # Smooth idf as TfidfVectorizer does; unseen features get the maximum idf but have no weight.
    return (np.log((1 + n_docs) / (1 + df)) + 1).astype(np.float32)


def _tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    matrix = counts.copy()
    np.log(matrix.data, out=matrix.data)
    matrix.data += 1.0
    matrix.data *= idf[matrix.indices]
    row_nnz = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(matrix.shape[0]), row_nnz)
    norms = np.sqrt(np.bincount(rows, weights=matrix.data**2, minlength=matrix.shape[0]))
    norms[norms == 0] = 1.0
    matrix.data /= norms[rows].astype(np.float32)
    return matrix
