"""Hashed word + character n-gram TF-IDF features over normalised tokens.

Why not ``TfidfVectorizer``/``HashingVectorizer``: sklearn's char analyzers rebuild every
n-gram of every comment in Python, which caps throughput well below the 20k comments/s target.
Here the n-gram hashes of each *token* are computed once and cached, so scoring a comment costs
a few dictionary look-ups per word. Hashing (stable CRC32, not Python's salted ``hash``) keeps
the model free of a vocabulary dict, which keeps the skops file small and fast to load.

Two blocks, each TF-IDF weighted (sublinear tf) and L2-normalised on its own, as a
``FeatureUnion`` of two vectorizers would be:

* word block: unigrams and bigrams of normalised tokens;
* char block: 3-5 character n-grams inside each token padded with spaces (like ``char_wb``),
  which is what makes unseen spellings (``idiotss``, ``fcking``) land near known words.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from operator import itemgetter
from typing import Any
from zlib import crc32

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from classifiers.lexicon import IDENTITY_PLACEHOLDER, IDENTITY_TERMS
from classifiers.normalize import tokenize

_MAX_TOKEN_CHARS = 24
# ~400 bytes per cached token: 100k tokens bound the cache to ~20 MB of a worker's RSS.
_CACHE_LIMIT = 50_000
# Odd 32-bit multiplier (golden ratio) to mix the left word's hash into a bigram's.
_BIGRAM_MULT = 0x9E3779B1
# The known-word bitmap's hash space (128 KB of bits): only tells whether a comment has any
# word the training data had, so a few collisions do no harm.
_KNOWN_BITS = 20
_NO_GRAMS = np.zeros(0, dtype=np.int32)

# (32-bit word hash, char n-gram indices, whether the token has a unigram feature,
#  hash of its word class (or of itself when it has none), whether it has a class)
TokenFeatures = tuple[int, np.ndarray, bool, int, bool]
# Mixes the left class's hash into a class bigram's (another odd multiplier than words').
_CLASS_BIGRAM_MULT = 0x85EBCA77


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

    # -- token level -------------------------------------------------------------------------

    def _token_features(self, token: str) -> TokenFeatures:
        """(32-bit word hash, char n-gram indices, has a unigram) of one token, cached."""
        cache: dict[str, TokenFeatures] = self.__dict__.setdefault("_token_cache", {})
        hit = cache.get(token)
        if hit is not None:
            return hit
        # Identity terms (see lexicon.IDENTITY_TERMS) have no features of their own: no unigram
        # and no character n-grams, only a shared placeholder hash that takes part in bigrams
        # ("xxidentity are"). A placeholder *unigram* would learn the weight that the group's
        # mentions carry in hateful data sets, and then a bare "Muslim" or "Black Lives Matter"
        # scores like an attack; what is said about the group has to carry the score. Done
        # here, inside the cache, so it costs nothing per comment.
        if self.mask_identities and token in IDENTITY_TERMS:
            placeholder = crc32(IDENTITY_PLACEHOLDER.encode())
            result = (placeholder, _NO_GRAMS, False, placeholder, False)
            cache[token] = result
            return result
        source = token
        char_mask = (1 << self.char_bits) - 1
        # N-grams of the UTF-8 bytes (one encode per token); tokens are ASCII after
        # normalisation except for non-Latin scripts, where byte n-grams work just as well.
        padded = (" " + source[:_MAX_TOKEN_CHARS] + " ").encode()
        grams = [
            crc32(padded[i : i + n]) & char_mask
            for n in range(self.char_min_n, self.char_max_n + 1)
            for i in range(len(padded) - n + 1)
        ]
        # Sorted, so each token is a sorted run and the per-batch sort in _counts is mostly a
        # merge of runs (timsort), not a full sort.
        grams.sort()  # (a list sort: np.sort costs more than this on ~30 numbers)
        word_hash = crc32(source.encode())
        word_class = self._word_class(word_hash)
        # In class bigrams a word without a class stands for itself.
        class_hash = word_hash if word_class is None else crc32(b"xxconcept%d" % word_class)
        result = (
            word_hash,
            np.asarray(grams, dtype=np.int32),
            True,
            class_hash,
            word_class is not None,
        )
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[token] = result
        return result

    def word_index(self, word_hash: int) -> int:
        return word_hash & ((1 << self.word_bits) - 1)

    def bigram_index(self, left_hash: int, right_hash: int) -> int:
        """As vectorised in :meth:`count_tokens` (no overflow: both hashes < 2**32)."""
        return ((left_hash * _BIGRAM_MULT) ^ right_hash) & ((1 << self.word_bits) - 1)

    def class_bigram_index(self, left: TokenFeatures, right: TokenFeatures) -> int | None:
        """The class bigram of two neighbours, None unless one of them has a class."""
        if not (left[4] or right[4]):
            return None
        return ((left[3] * _CLASS_BIGRAM_MULT) ^ right[3]) & ((1 << self.word_bits) - 1)

    # -- counts ------------------------------------------------------------------------------

    def count_tokens(self, docs: Sequence[Sequence[str]]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Raw n-gram counts of already-tokenised comments, one CSR matrix per block."""
        features, token_rows = self._features_of(docs)
        hashes = list(map(itemgetter(0), features))
        char_parts = list(map(itemgetter(1), features))
        unigram = np.fromiter(map(itemgetter(2), features), dtype=bool, count=len(features))
        n = len(docs)
        word_mask = np.uint64((1 << self.word_bits) - 1)
        full = np.asarray(hashes, dtype=np.uint64)
        rows, cols = [token_rows[unigram]], [(full & word_mask)[unigram]]
        if self.word_bigrams and len(full) > 1:
            same_doc = token_rows[1:] == token_rows[:-1]
            bigrams = ((full[:-1] * np.uint64(_BIGRAM_MULT)) ^ full[1:]) & word_mask
            rows.append(token_rows[1:][same_doc])
            cols.append(bigrams[same_doc])
        if "class_hashes_" in self.__dict__ and len(full):
            classes = np.asarray(list(map(itemgetter(3), features)), dtype=np.uint64)
            classed = np.fromiter(map(itemgetter(4), features), dtype=bool, count=len(features))
            rows.append(token_rows[classed])
            cols.append((classes & word_mask)[classed])
            if self.word_bigrams and len(full) > 1:
                pair = (token_rows[1:] == token_rows[:-1]) & (classed[:-1] | classed[1:])
                mixed = ((classes[:-1] * np.uint64(_CLASS_BIGRAM_MULT)) ^ classes[1:]) & word_mask
                rows.append(token_rows[1:][pair])
                cols.append(mixed[pair])
        word = _counts(np.concatenate(rows), np.concatenate(cols), n, 1 << self.word_bits)
        if char_parts:
            lengths = np.fromiter(map(len, char_parts), dtype=np.int64, count=len(char_parts))
            char_rows = np.repeat(token_rows, lengths)
            char_cols = np.concatenate(char_parts)
        else:
            char_rows = char_cols = np.zeros(0, dtype=np.int64)
        char = _counts(char_rows, char_cols, n, 1 << self.char_bits)
        return word, char

    def _features_of(self, docs: Sequence[Sequence[str]]) -> tuple[list[TokenFeatures], np.ndarray]:
        """Every token's cached features, flattened, and the row (document) of each."""
        cache: dict[str, TokenFeatures] = self.__dict__.setdefault("_token_cache", {})
        get = cache.get
        compute = self._token_features
        # The only per-token Python work: one cache look-up. Everything else is vectorised.
        features = [get(token) or compute(token) for token in chain.from_iterable(docs)]
        token_rows = np.repeat(np.arange(len(docs), dtype=np.int64), list(map(len, docs)))
        return features, token_rows

    def known_word_counts(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        """How many tokens of each comment occurred in at least two training comments."""
        known = self.__dict__.get("known_words_")
        if known is None:  # a model trained before the bitmap existed: every word counts
            return np.asarray(list(map(len, docs)), dtype=np.int64)
        features, token_rows = self._features_of(docs)
        bits = np.asarray(list(map(itemgetter(0), features)), dtype=np.uint64) & np.uint64(
            (1 << _KNOWN_BITS) - 1
        )
        hit = (
            known[(bits >> np.uint64(3)).astype(np.int64)] >> (bits & np.uint64(7)).astype(np.uint8)
        ) & 1
        return np.bincount(token_rows, weights=hit, minlength=len(docs)).astype(np.int64)

    # -- word classes (classifiers.word_vectors) ---------------------------------------------

    def set_word_classes(self, hashes: np.ndarray, classes: np.ndarray) -> CommentVectorizer:
        """Give words a class (a concept, classifiers.word_vectors): ``hashes`` are the words'
        CRC32, ``classes`` their class numbers. Each classed word adds a class unigram, and
        bigrams of classes ("xxidentity are" + "are <dehumanising>") generalise what the data
        said with one word of the concept to the others."""
        self.class_hashes_ = np.asarray(hashes, dtype=np.uint32)
        self.class_ids_ = np.asarray(classes, dtype=np.uint16)
        self.__dict__.pop("_class_of", None)
        self.__dict__.pop("_token_cache", None)
        return self

    def _word_class(self, word_hash: int) -> int | None:
        lookup: dict[int, int] | None = self.__dict__.get("_class_of")
        if lookup is None:
            hashes = self.__dict__.get("class_hashes_")
            lookup = (
                {}
                if hashes is None
                else dict(zip(hashes.tolist(), self.class_ids_.tolist(), strict=True))
            )
            self.__dict__["_class_of"] = lookup
        return lookup.get(word_hash)

    # -- sklearn API -------------------------------------------------------------------------

    def fit(self, texts: Sequence[str], y: Any = None) -> CommentVectorizer:
        docs = [tokenize(t) for t in texts]
        word, char = self.count_tokens(docs)
        self.word_idf_ = _idf(word)
        self.char_idf_ = _idf(char)
        self.known_words_ = self._known_words(docs)
        return self

    def _known_words(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        features, token_rows = self._features_of(docs)
        bits = np.asarray(list(map(itemgetter(0), features)), dtype=np.int64) & (
            (1 << _KNOWN_BITS) - 1
        )
        # Document frequency per word: one (document, word) pair counted once.
        pairs = np.unique(token_rows * (1 << _KNOWN_BITS) + bits)
        df = np.bincount(pairs % (1 << _KNOWN_BITS), minlength=1 << _KNOWN_BITS)
        return np.packbits(df >= 2, bitorder="little")

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
        state.pop("_class_of", None)
        return state


def _counts(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> sp.csr_matrix:
    """Duplicate (row, col) pairs summed; one sort of a combined key, already in CSR order."""
    key = rows.astype(np.int64) * n_cols + cols.astype(np.int64)
    # Rows arrive in order, so timsort ("stable") runs ~3x faster here than np.unique's sort.
    key.sort(kind="stable")
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1]))) if len(key) else key
    unique = key[starts]
    counts = np.diff(np.append(starts, len(key)))
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(unique // n_cols, minlength=n_rows), out=indptr[1:])
    indices = (unique % n_cols).astype(np.int32)
    return sp.csr_matrix((counts.astype(np.float32), indices, indptr), shape=(n_rows, n_cols))


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
