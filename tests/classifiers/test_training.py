"""Training end to end from a user's own labelled file (no shared data needed)."""

import json
import random
from pathlib import Path

import orjson
import typer
from typer.testing import CliRunner

from classifiers import LABELS, load_model
from classifiers.cli import register
from classifiers.data import LabelledComment, read_labelled_file
from classifiers.train import balanced_weights

from .conftest import ABUSIVE, BENIGN


def write_fixture(path: Path, n: int = 240) -> Path:
    rng = random.Random(7)
    rows = []
    for i in range(n):
        abusive = i % 2 == 0
        text = rng.choice(ABUSIVE if abusive else BENIGN)
        rows.append(
            {"text": f"{text} {rng.choice(['', 'ok', 'so', 'today'])} n{i}", "label": int(abusive)}
        )
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    return path


def test_read_labelled_csv_and_jsonl(tmp_path: Path) -> None:
    csv_path = tmp_path / "c.csv"
    csv_path.write_text("text,toxicity,insult\nhello there,0,0\nyou idiot,1,1\n")
    rows = read_labelled_file(csv_path)
    assert [r.targets[0] for r in rows] == [0, 1]
    assert rows[1].targets[LABELS.index("insult")] == 1
    assert rows[0].targets[LABELS.index("identity_attack")] == -1  # not labelled: skipped
    jsonl = tmp_path / "j.jsonl"
    jsonl.write_text('{"body": "shit happens", "label": true}\n')
    (row,) = read_labelled_file(jsonl)
    assert row.targets[0] == 1 and row.targets[LABELS.index("profanity")] == 1


def test_balanced_weights_equalise_each_source(tmp_path: Path) -> None:
    rows = read_labelled_file(write_fixture(tmp_path / "f.jsonl", 40))
    positive, negative = balanced_weights(rows)
    y = [r.targets[0] for r in rows]
    pos = sum(wi for wi, yi in zip(positive[:, 0], y, strict=True) if yi == 1)
    neg = sum(wi for wi, yi in zip(negative[:, 0], y, strict=True) if yi == 0)
    assert abs(pos - neg) < 1e-9


def test_balanced_weights_split_soft_targets_by_mass() -> None:
    # Two sources: one with soft targets (annotator shares), one with 0/1 labels. Within each,
    # the positive mass (p x weight) must equal the negative mass ((1 - p) x weight).
    soft = [(0.2, "news"), (0.6, "news"), (1.0, "news"), (0.0, "news"), (1.0, "t"), (0.0, "t")]
    rows = [
        LabelledComment(f"comment {i}", source, (p,) + (-1.0,) * (len(LABELS) - 1))
        for i, (p, source) in enumerate(soft)
    ]
    positive, negative = balanced_weights(rows)
    for source in ("news", "t"):
        chosen = [i for i, (_, s) in enumerate(soft) if s == source]
        pos = sum(positive[i, 0] * soft[i][0] for i in chosen)
        neg = sum(negative[i, 0] * (1 - soft[i][0]) for i in chosen)
        assert abs(pos - neg) < 1e-9
        assert abs(pos + neg - len(chosen)) < 1e-9  # the source keeps its size
    assert (positive[:, 1:] == 0).all() and (negative[:, 1:] == 0).all()  # unknown: no weight


def test_train_command_on_a_custom_file(tmp_path: Path) -> None:
    data = write_fixture(tmp_path / "mine.jsonl")
    out = tmp_path / "model" / "custom.skops"
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--input",
            str(data),
            "--out",
            str(out),
            "--version",
            "custom-1",
            "--data-dir",
            str(tmp_path / "none"),
        ],
    )
    assert result.exit_code == 0, result.output
    model = load_model(out)
    assert model.version == "custom-1"
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["version"] == "custom-1" and "split" in card["training_data"]
    p = model.score_matrix(["you stupid idiot", "lovely photos of the festival"])[:, 0]
    assert p[0] > p[1]
