"""civil_spans reading and the toxic-span measure, on a tiny folder written here."""

import csv
from pathlib import Path

import pytest

from classifiers.data import majority_spans, read_civil_spans
from classifiers.model import LABELS
from classifiers.normalize import tokenize_with_spans
from classifiers.spans import character_f1, mean_span_f1, merge_marked, token_targets


def write_civil_spans(root: Path) -> Path:
    folder = root / "civil_spans"
    folder.mkdir(parents=True)
    comments = [
        ("1", "You are an idiot and a liar."),
        ("2", "Thanks for the report on the ferry."),
        ("3", "I will find you,\nwatch out."),
    ]
    # (annotation, comment, worker): three annotators per comment
    annotations = [
        (str(i), c, f"w{i % 3}") for i, c in enumerate(["1"] * 3 + ["2"] * 3 + ["3"] * 3)
    ]
    spans = [
        ("0", "Insult", 11, 16),  # idiot
        ("1", "Insult", 11, 16),
        ("1", "Insult", 23, 27),  # liar: one annotator of three
        ("2", "Insu", 11, 16),  # a cut type counts as untyped
        ("6", "Threat", 0, 16),
        ("7", "Threat", 0, 26),
    ]
    with (folder / "comments.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows([("comment_id", "comment_text"), *comments])
    with (folder / "annotations.csv").open("w", newline="") as fh:
        rows = [(a, c, w, "XX", "False", "False") for a, c, w in annotations]
        csv.writer(fh).writerows(
            [("annotation", "comment_id", "worker", "country", "all toxic", "not toxic"), *rows]
        )
    with (folder / "spans.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows([("annotation", "type", "start", "end"), *spans])
    return root


def test_civil_spans_targets_are_annotator_shares(tmp_path: Path) -> None:
    rows = {r.text: r for r in read_civil_spans(write_civil_spans(tmp_path))}
    insult = rows["You are an idiot and a liar."]
    t = dict(zip(LABELS, insult.targets, strict=True))
    assert t["toxicity"] == 1.0  # all three marked something
    assert t["insult"] == pytest.approx(2 / 3, abs=1e-3)  # the cut "Insu" is untyped
    assert t["threat"] == 0.0 and t["severe_toxicity"] == 0.0
    assert insult.spans == ((11, 16),)  # "liar" had one vote of three
    civil = dict(zip(LABELS, rows["Thanks for the report on the ferry."].targets, strict=True))
    assert civil["toxicity"] == 0.0 and rows["Thanks for the report on the ferry."].spans == ()
    threat = dict(zip(LABELS, rows["I will find you,\nwatch out."].targets, strict=True))
    assert threat["threat"] == pytest.approx(2 / 3, abs=1e-3)
    assert threat["severe_toxicity"] == pytest.approx(2 / 3, abs=1e-3)  # a threat is severe


def test_majority_spans_keep_characters_half_the_annotators_marked() -> None:
    marked = [[(0, 5)], [(3, 8)], []]  # two of three cover 3..5
    assert majority_spans(marked, 10) == ((3, 5),)
    assert majority_spans([[(0, 5)], [(3, 8)], [], []], 10) == ((3, 5),)


def test_span_f1_follows_the_semeval_definition() -> None:
    assert character_f1(set(), set()) == 1.0
    assert character_f1({1}, set()) == 0.0
    assert character_f1(set(), {1}) == 0.0
    assert character_f1({1, 2}, {2, 3}) == pytest.approx(0.5)
    assert mean_span_f1([[(0, 2)], []], [[(0, 2)], [(5, 6)]]) == pytest.approx(0.5)


def test_marked_tokens_become_spans_joined_across_spaces() -> None:
    text = "what a whiny  jerk, honestly"
    tokens = tokenize_with_spans(text)
    targets = token_targets(tokens, [(7, 18)])
    assert [t for (t, _, _), on in zip(tokens, targets, strict=True) if on] == ["whiny", "jerk"]
    assert merge_marked(text, tokens, targets.astype(bool).tolist()) == [(7, 18)]
