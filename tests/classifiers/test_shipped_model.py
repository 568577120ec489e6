"""Checks every shipped model version must pass. They use only the packaged model file."""

import pytest

from classifiers import LABELS, ToxicityModel, load_default_model
from classifiers.bias import NAMED_NEUTRAL, format_bias_table, identity_bias

# A neutral sentence that names an identity must stay below the review threshold.
BIAS_THRESHOLD = 0.5
MAX_FPR_PER_TERM = 0.1  # at most 1 of the 12 neutral templates per term may reach it
MIN_AUC_PER_TERM = 0.95  # abusive templates about the same group must still score higher


@pytest.fixture(scope="module")
def model() -> ToxicityModel:
    return load_default_model()


def test_default_model_is_cached_and_described(model: ToxicityModel) -> None:
    assert load_default_model() is model
    assert model.labels == LABELS
    assert LABELS[0] == "toxicity"
    assert model.version and model.card["version"] == model.version
    for key in ("created_at", "training_data", "metrics", "thresholds", "identity_bias"):
        assert key in model.card


def test_identity_terms_are_not_punished(model: ToxicityModel) -> None:
    rows = identity_bias(model, BIAS_THRESHOLD)
    report = format_bias_table(rows, BIAS_THRESHOLD)
    too_many = [r.term for r in rows if r.false_positive_rate > MAX_FPR_PER_TERM]
    assert not too_many, f"false positives on neutral identity sentences:\n{report}"
    weak = [r.term for r in rows if r.auc < MIN_AUC_PER_TERM]
    assert not weak, f"abuse about these groups no longer stands out:\n{report}"


@pytest.mark.parametrize("text", NAMED_NEUTRAL)
def test_named_identity_sentences_score_low(model: ToxicityModel, text: str) -> None:
    scores = model.score([text])[0]
    assert scores["toxicity"] < BIAS_THRESHOLD, scores
    assert scores["hate"] < BIAS_THRESHOLD, scores


def test_abuse_outscores_benign(model: ToxicityModel) -> None:
    benign = ["Thanks for this thoughtful piece.", "The bus timetable changes next week."]
    abusive = ["You are a pathetic idiot, shut up.", "Go to hell, you worthless piece of shit."]
    scores = model.score_matrix(benign + abusive)[:, 0]
    assert max(scores[:2]) < min(scores[2:])


@pytest.mark.parametrize(
    ("plain", "evasive"),
    [
        ("fuck you", "f*ck you"),
        ("you are shit", "you are sh1t"),
        ("you idiot", "you i d i o t"),
        ("you idiot", "you IDIOOOOT"),
        ("stupid moron", "stup1d m0r0n 🤡🤡 @someone https://x.example.com"),
    ],
)
def test_evasions_score_like_the_plain_word(model: ToxicityModel, plain: str, evasive: str) -> None:
    p_plain, p_evasive = model.score_matrix([plain, evasive])[:, 0]
    benign = model.score_matrix(["have a nice day"])[0, 0]
    assert p_evasive > benign
    assert abs(p_plain - p_evasive) < 0.2


def test_profanity_label_tracks_obscenity(model: ToxicityModel) -> None:
    p = model.score_matrix(["what the fuck is this shit", "what on earth is this nonsense"])
    k = LABELS.index("profanity")
    assert p[0, k] > p[1, k]


def test_explain_highlights_the_abuse(model: ToxicityModel) -> None:
    text = "Thanks for nothing, you pathetic m0r0n"
    top = model.explain(text, top_k=2)
    assert any(c.text in {"pathetic", "m0r0n"} for c in top)


def test_shipped_file_is_small() -> None:
    from classifiers.persist import DEFAULT_MODEL_PATH

    assert DEFAULT_MODEL_PATH.stat().st_size <= 25 * 2**20
