import orjson
import typer
from typer.testing import CliRunner

from classifiers import LABELS
from classifiers.cli import register


def make_app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def noop() -> None:  # a second command keeps typer in multi-command mode
        pass

    return app


def test_commands_are_registered() -> None:
    result = CliRunner().invoke(make_app(), ["--help"])
    assert result.exit_code == 0
    for name in ("train", "evaluate", "score", "bench-model"):
        assert name in result.output


def test_score_reads_json_lines_and_keeps_order() -> None:
    lines = [
        orjson.dumps("Thanks, a fair article.").decode(),
        orjson.dumps({"body": "you are a worthless idiot", "id": 7}).decode(),
        "",
        orjson.dumps("have a nice day").decode(),
    ]
    result = CliRunner().invoke(make_app(), ["score", "--batch-size", "2"], input="\n".join(lines))
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 3
    for row in rows:
        assert list(row) == list(LABELS)
    assert rows[1]["toxicity"] > rows[0]["toxicity"]
    assert rows[1]["toxicity"] > rows[2]["toxicity"]


def test_score_rejects_objects_without_body() -> None:
    result = CliRunner().invoke(make_app(), ["score"], input='{"text": "x"}\n')
    assert result.exit_code != 0
