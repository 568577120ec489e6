import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers import LABELS, Contribution, ToxicityModel, UntrustedModelError, load_model
from classifiers.persist import save_model

from .conftest import ABUSIVE, BENIGN, build_tiny_model

_TINY = build_tiny_model()


def test_score_shapes_order_and_range(tiny_model: ToxicityModel) -> None:
    texts = ["hello there", "you stupid idiot", ""]
    rows = tiny_model.score(texts)
    assert len(rows) == 3
    for row in rows:
        assert list(row) == list(LABELS)
        assert next(iter(row)) == "toxicity"
        assert all(0.0 <= v <= 1.0 for v in row.values())
    matrix = tiny_model.score_matrix(texts)
    assert matrix.shape == (3, len(LABELS))
    assert tiny_model.score_matrix([]).shape == (0, len(LABELS))


def test_batched_equals_one_at_a_time(tiny_model: ToxicityModel) -> None:
    texts = list(BENIGN[:3] + ABUSIVE[:3])
    batched = tiny_model.score_matrix(texts)
    single = np.vstack([tiny_model.score_matrix([t]) for t in texts])
    np.testing.assert_allclose(batched, single, rtol=1e-6)


def test_learns_the_fixture(tiny_model: ToxicityModel) -> None:
    p = tiny_model.score_matrix(["you are a stupid moron", "thanks for the article"])[:, 0]
    assert p[0] > p[1]


def test_rejects_a_bare_string(tiny_model: ToxicityModel) -> None:
    with pytest.raises(TypeError):
        tiny_model.score_matrix("one comment")  # type: ignore[arg-type]


def test_explain_points_at_original_spans_and_sums_to_the_logit(
    tiny_model: ToxicityModel,
) -> None:
    text = "Honestly, you are a STUPID i d i o t @bob"
    contributions = tiny_model.explain(text, top_k=100)
    assert all(isinstance(c, Contribution) for c in contributions)
    assert all(text[c.start : c.end] == c.text for c in contributions)
    weights = [c.weight for c in contributions]
    assert weights == sorted(weights, reverse=True)
    top = {c.text for c in contributions[:2]}
    assert top & {"STUPID", "i d i o t"}
    logit = tiny_model.decision_function([text])[0, 0]
    total = sum(weights) + tiny_model.explain_intercept("toxicity")
    assert total == pytest.approx(logit, abs=1e-4)
    assert len(tiny_model.explain(text, top_k=2)) == 2


def test_explain_other_labels_and_empty_text(tiny_model: ToxicityModel) -> None:
    assert tiny_model.explain("", label="insult") == []
    with pytest.raises(ValueError):
        tiny_model.explain("x", label="no-such-label")


def test_save_load_round_trip(tiny_model: ToxicityModel, tmp_path: Path) -> None:
    path = save_model(tiny_model, tmp_path / "m.skops", {"version": tiny_model.version})
    loaded = load_model(path)
    assert loaded.version == "test-tiny-1"
    assert loaded.card["version"] == "test-tiny-1"
    texts = list(BENIGN + ABUSIVE)
    np.testing.assert_allclose(loaded.score_matrix(texts), tiny_model.score_matrix(texts))
    assert loaded.explain(ABUSIVE[0]) == tiny_model.explain(ABUSIVE[0])


class Payload:
    """Stands in for anything an attacker could smuggle into a model file."""

    def __init__(self) -> None:
        self.command = "echo pwned"


def test_untrusted_types_are_refused(tiny_model: ToxicityModel, tmp_path: Path) -> None:
    evil = ToxicityModel(**tiny_model.get_params())
    evil.__dict__.update(tiny_model.__getstate__())
    evil.extra_ = Payload()
    path = tmp_path / "evil.skops"
    sio.dump(evil, path)
    with pytest.raises(UntrustedModelError, match="Payload"):
        load_model(path)


def test_other_top_level_objects_are_refused(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    path = tmp_path / "lr.skops"
    sio.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), path)
    with pytest.raises(UntrustedModelError, match="LogisticRegression"):
        load_model(path)


def test_non_skops_files_are_refused(tmp_path: Path) -> None:
    pickle_like = tmp_path / "model.skops"
    pickle_like.write_bytes(b"\x80\x04\x95not a zip")
    with pytest.raises(UntrustedModelError):
        load_model(pickle_like)
    with zipfile.ZipFile(tmp_path / "empty.skops", "w"):
        pass
    with pytest.raises(UntrustedModelError):
        load_model(tmp_path / "empty.skops")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "absent.skops")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=5))
def test_scoring_never_fails_on_odd_text(texts: list[str]) -> None:
    model = _TINY
    matrix = model.score_matrix(texts)
    assert matrix.shape == (len(texts), len(LABELS))
    assert np.all((matrix >= 0) & (matrix <= 1))
    for text in texts:
        for c in model.explain(text, top_k=3):
            assert text[c.start : c.end] == c.text


def test_word_classes_join_the_features_and_explain_stays_exact() -> None:
    from classifiers.word_vectors import word_hash

    from .conftest import fixture_targets

    texts = list(BENIGN + ABUSIVE)
    targets = fixture_targets(texts, [False] * len(BENIGN) + [True] * len(ABUSIVE))
    words = sorted({w for t in texts for w in t.split()})
    hashes = np.asarray([word_hash(w) for w in words], dtype=np.uint32)
    classes = np.arange(len(words), dtype=np.uint16) % 7
    order = np.argsort(hashes)
    model = ToxicityModel(word_bits=12, char_bits=12, version="classes-1")
    model.fit(texts, targets, word_classes=(hashes[order], classes[order]))
    model.calibrate(texts, targets)
    plain = build_tiny_model()
    text = "you stupid moron, thanks for nothing"
    word_with, _ = model.vectorizer_.transform_blocks([text])
    word_without, _ = plain.vectorizer_.transform_blocks([text])
    assert word_with.nnz > word_without.nnz  # the class unigrams and bigrams
    _, contributions = model.token_contributions(text)
    logits = model.decision_function([text])[0]
    np.testing.assert_allclose(
        contributions.sum(axis=0) + [model.explain_intercept(k) for k in LABELS], logits, rtol=1e-4
    )


def test_the_functional_suite_is_not_in_the_training_sentences() -> None:
    from classifiers.functional import CATEGORIES
    from classifiers.train import generated_rows

    written = {r.text.lower().strip(" .!") for r in generated_rows()}
    leaked = [c for cat in CATEGORIES for c in cat.cases if c.lower().strip(" .!") in written]
    assert not leaked
