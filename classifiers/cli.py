"""``moderation train | evaluate | score | bench-model``: mounted on the service CLI by
:func:`register`, with no import of the service itself."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from classifiers.persist import DEFAULT_MODEL_PATH

if TYPE_CHECKING:
    from classifiers.cross_source import RuleFactory

# Decision rules given by the program that mounts these commands (the service's policy: this
# package knows no policy of its own). Without them the policy rates and the functional suite
# are skipped.
_rules: dict[str, RuleFactory] = {}

DataDir = Annotated[
    Path,
    typer.Option("--data-dir", help="Shared data folder (Davidson, OLID, HatEval, Stormfront)."),
]
ModelPath = Annotated[Path, typer.Option("--model", help="Model file (.skops; card beside it).")]


def train(
    data_dir: DataDir = Path("/work/shared/data"),
    inputs: Annotated[
        list[Path] | None,
        typer.Option("--input", help="CSV/JSONL with text + label (or one column per label)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Where to write the model.")] = DEFAULT_MODEL_PATH,
    version: Annotated[str | None, typer.Option(help="Version string; default dated.")] = None,
    identity_augmentation: Annotated[
        bool, typer.Option(help="Add the generated identity and violence sentences.")
    ] = True,
    word_vectors: Annotated[
        bool | None,
        typer.Option(
            "--word-vectors/--no-word-vectors",
            help="Distil word vectors from the encoder (default: when `uv sync --group train` "
            "installed it).",
        ),
    ] = None,
) -> None:
    """Train, calibrate and save a model with its card (metrics, thresholds, split)."""
    from tqdm import tqdm

    from classifiers.model import LABELS
    from classifiers.training_run import run_training

    steps = ["read", "split", "word vectors", *LABELS, "calibration", "spans", "evaluate", "save"]
    with tqdm(total=len(steps), desc="train", unit="step", file=sys.stderr) as bar:

        def progress(step: str) -> None:
            bar.set_postfix_str(step)
            bar.update(1)

        path, summary = run_training(
            data_dir=data_dir,
            inputs=inputs or [],
            out=out,
            version=version,
            identity_augmentation=identity_augmentation,
            word_vectors=word_vectors,
            progress=progress,
        )
    typer.echo(summary)
    typer.echo(f"saved {path} and {path.with_suffix('.json')}")


def evaluate(
    model: ModelPath = DEFAULT_MODEL_PATH,
    data_dir: DataDir = Path("/work/shared/data"),
    input_file: Annotated[
        Path | None, typer.Option("--input", help="Labelled CSV/JSONL instead of the shared split.")
    ] = None,
    report: Annotated[Path, typer.Option(help="HTML report with curves.")] = Path(
        "bench-results/evaluate.html"
    ),
    baselines: Annotated[bool, typer.Option(help="Train/run the two baselines too.")] = True,
    evasions: Annotated[
        bool, typer.Option(help="Also score a copy with abusive words disguised.")
    ] = True,
    cross_source: Annotated[
        bool,
        typer.Option(
            "--cross-source",
            help="Train on every source but one and score the one left out, for each source.",
        ),
    ] = False,
    compare_model: Annotated[
        Path | None,
        typer.Option(
            help="With --cross-source: a fixed model file to score beside (e.g. the "
            "previous shipped model)."
        ),
    ] = None,
    word_bits: Annotated[int, typer.Option(help="With --cross-source: word hash bits.")] = 18,
    char_bits: Annotated[int, typer.Option(help="With --cross-source: char hash bits.")] = 18,
) -> None:
    """Per-attribute metrics per source beside plain TF-IDF+LR and alt-profanity-check, the
    functional suite and span F1; or, with --cross-source, the same across sources."""
    from classifiers.training_run import run_cross_source_evaluation, run_evaluation

    if cross_source:
        typer.echo(
            run_cross_source_evaluation(
                data_dir=data_dir,
                report=report,
                compare_model=compare_model,
                rule=_rules.get("default"),
                legacy_rule=_rules.get("legacy"),
                word_bits=word_bits,
                char_bits=char_bits,
                progress=lambda step: typer.echo(step, err=True),
            )
        )
        return
    typer.echo(
        run_evaluation(
            model_path=model,
            data_dir=data_dir,
            input_file=input_file,
            report=report,
            baselines=baselines,
            evasions=evasions,
            rule=_rules.get("default"),
        )
    )


def score(
    model: ModelPath = DEFAULT_MODEL_PATH,
    batch_size: Annotated[int, typer.Option(min=1)] = 256,
) -> None:
    """Read comments from stdin (one per line: a JSON string, or an object with "body"),
    write one JSON object of scores per line, in input order."""
    import orjson

    from classifiers.persist import load_model

    scorer = load_model(model)
    out = sys.stdout.buffer
    batch: list[str] = []

    def flush() -> None:
        for row in scorer.score(batch):
            out.write(orjson.dumps(row) + b"\n")
        out.flush()
        batch.clear()

    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        batch.append(_comment_text(line, number))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()


def _comment_text(line: str, number: int) -> str:
    import orjson

    try:
        value: Any = orjson.loads(line)
    except orjson.JSONDecodeError:
        return line.rstrip("\r\n")  # a bare line of text is a comment too
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("body"), str):
        return str(value["body"])
    raise typer.BadParameter(f"line {number}: expected a JSON string or an object with a body")


def bench_model(
    n: Annotated[int, typer.Option(help="At most this many comments to time.")] = 50_000,
    batch_size: Annotated[int, typer.Option(min=1)] = 1024,
    data_dir: DataDir = Path("/work/shared/data"),
    model: ModelPath = DEFAULT_MODEL_PATH,
) -> None:
    """Throughput, single-comment latency, RSS and size beside alt-profanity-check."""
    from classifiers.bench import run_benchmark

    typer.echo(run_benchmark(n=n, batch_size=batch_size, data_dir=data_dir, model_path=model))


def register(
    app: typer.Typer,
    rule: RuleFactory | None = None,
    legacy_rule: RuleFactory | None = None,
) -> None:
    """Mount the commands; ``rule`` decides as the default policy does (measured by
    ``evaluate``), ``legacy_rule`` as the policy of a model from before the attributes."""
    if rule is not None:
        _rules["default"] = rule
    if legacy_rule is not None:
        _rules["legacy"] = legacy_rule
    app.command("train")(train)
    app.command("evaluate")(evaluate)
    app.command("score")(score)
    app.command("bench-model")(bench_model)


app = typer.Typer(help="Toxicity classifier commands.", no_args_is_help=True)
register(app)

if __name__ == "__main__":
    app()
