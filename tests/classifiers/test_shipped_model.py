"""Checks every shipped model version must pass. They use only the packaged model file."""

import pytest

from classifiers import LABELS, ToxicityModel, load_default_model
from classifiers.bias import (
    BIAS_IDENTITIES,
    NAMED_NEUTRAL,
    format_bias_table,
    identity_bias,
)
from classifiers.bias import (
    UNCOVERED_IDENTITIES as UNCOVERED,
)
from classifiers.functional import (
    FUNCTIONAL_FLOORS,
    ISSUE_EXAMPLES,
    format_functional,
    run_functional_suite,
)
from service.policy import DEFAULT_THRESHOLDS, Reading, decide, decision_rule, default_policy

DEFAULT_POLICY = default_policy(approve_below=0.5, reject_at=0.9)
# Attributes whose abusive bias templates are expected to outrank the neutral ones: the
# templates attack a group ("{group} are vermin"), which is toxicity and identity_attack;
# insult is aimed at a person (civil_spans' insult spans), so group attacks need not reach it.
ABUSE_OUTRANKS_FOR = ("toxicity", "identity_attack")

# A neutral sentence that names an identity must stay below the review threshold.
BIAS_THRESHOLD = 0.5
MAX_FPR_PER_TERM = 0.1  # at most 1 of the 12 neutral templates per term may reach it
MIN_AUC_PER_TERM = 0.95  # abusive templates about the same group must still score higher
# Terms outside lexicon.IDENTITY_TERMS (bias.UNCOVERED_IDENTITIES) are not masked, and the
# model knows little of them; model 2026-12-02 measured AUC 0.74 (Yazidi, identity_attack) to
# 0.94. A floor that catches a regression, not the goal (0.95 for these too).
MIN_AUC_UNCOVERED_TERM = 0.7


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


@pytest.mark.parametrize("label", LABELS)
def test_identity_terms_are_not_punished_on_any_attribute(model: ToxicityModel, label: str) -> None:
    # Every attribute, not only toxicity: a Black Lives Matter comment was once held by insult.
    rows = identity_bias(model, BIAS_THRESHOLD, label)
    report = format_bias_table(rows, BIAS_THRESHOLD)
    too_many = [r.term for r in rows if r.false_positive_rate > MAX_FPR_PER_TERM]
    assert not too_many, f"{label}: false positives on neutral identity sentences:\n{report}"
    if label in ABUSE_OUTRANKS_FOR:
        weak = [
            r.term
            for r in rows
            if r.auc < (MIN_AUC_UNCOVERED_TERM if r.term in UNCOVERED else MIN_AUC_PER_TERM)
        ]
        assert not weak, f"{label}: abuse about these groups no longer stands out:\n{report}"


@pytest.mark.parametrize("text", NAMED_NEUTRAL)
def test_named_identity_sentences_score_low(model: ToxicityModel, text: str) -> None:
    scores = model.score([text])[0]
    assert max(scores.values()) < BIAS_THRESHOLD, scores


@pytest.mark.parametrize("term", [adj for adj, _ in BIAS_IDENTITIES])
def test_a_bare_identity_term_is_published(model: ToxicityModel, term: str) -> None:
    scores = model.score([term])[0]
    assert max(scores.values()) < BIAS_THRESHOLD, scores
    if term in UNCOVERED and model.assess([term])[0].known_words == 0:
        # A word the model never saw is held by the known-word rule, whatever it scores:
        # the service does not publish on scores it cannot give (service.policy.decide).
        assert decide(scores, DEFAULT_POLICY, Reading("und", 0, 1)).status == "held"
        return
    rule = decision_rule(model, DEFAULT_POLICY)
    assert rule([term]) == ["approved"], scores


def test_the_newsroom_examples_are_decided_as_a_newsroom_expects(model: ToxicityModel) -> None:
    rule = decision_rule(model, DEFAULT_POLICY)
    texts = list(ISSUE_EXAMPLES)
    wrong = [
        (text, outcome, model.score([text])[0])
        for text, outcome in zip(texts, rule(texts), strict=True)
        if outcome not in ISSUE_EXAMPLES[text]
    ]
    assert not wrong


def test_no_functional_category_drops_below_its_floor(model: ToxicityModel) -> None:
    results = run_functional_suite(decision_rule(model, DEFAULT_POLICY))
    below = [r for r in results if r.rate < FUNCTIONAL_FLOORS[r.name]]
    assert not below, format_functional(results)


# Each head tied to the threshold the default policy uses it at: a model whose scores were
# all scaled down, or one with a dead head, fails here.
@pytest.mark.parametrize(
    ("text", "label", "level"),
    [
        ("You are a pathetic idiot, shut up.", "insult", "approve_below"),
        ("You are a pathetic idiot, shut up.", "toxicity", "approve_below"),
        ("what the fuck is this shit", "profanity", "approve_below"),
        ("Muslims are terrorists", "identity_attack", "reject_at"),
        ("I will shoot the editor when I see him.", "threat", "reject_at"),
        ("kys", "severe_toxicity", "reject_at"),
    ],
)
def test_each_attribute_reaches_its_policy_threshold(
    model: ToxicityModel, text: str, label: str, level: str
) -> None:
    limit = getattr(DEFAULT_THRESHOLDS[label], level)
    assert model.score([text])[0][label] >= limit


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


@pytest.mark.parametrize(
    ("text", "marked"),
    [("Armenians are dogs", "dogs"), ("Thanks for nothing, you pathetic m0r0n", "m0r0n")],
)
def test_spans_mark_the_words_a_person_would(model: ToxicityModel, text: str, marked: str) -> None:
    spans = [text[start:end] for start, end in model.toxic_spans(text)]
    assert any(marked in span for span in spans), spans


@pytest.mark.xfail(
    strict=True,
    reason="model 2026-12-02 marks the whole of 'Armenians are dogs' (the span tagger follows "
    "the class bigram's weight on 'are'); issue 12's span precision is not met yet",
)
def test_spans_leave_out_the_words_between() -> None:
    text = "Armenians are dogs"
    spans = [text[start:end] for start, end in load_default_model().toxic_spans(text)]
    assert spans and not any("are" in span.split() for span in spans), spans


def test_shipped_file_is_small() -> None:
    from classifiers.persist import DEFAULT_MODEL_PATH

    assert DEFAULT_MODEL_PATH.stat().st_size <= 60 * 2**20
