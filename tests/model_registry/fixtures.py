"""Model registry fixtures: the real shipped model, re-saved under other version strings, and
a registry that starts (and is left) as a freshly migrated store has it.

A plugin of tests/conftest.py (pytest_plugins), not a conftest of this folder: the admin UI's
tests (tests/moderation, tests/browser) use the same models and registry."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from service.db import session_scope
from service.migrate import register_shipped_model
from service.tables import ModelChange, ModelVersion


def _shipped_version() -> str:
    import json

    from classifiers.persist import DEFAULT_MODEL_PATH

    return str(json.loads(DEFAULT_MODEL_PATH.with_suffix(".json").read_text())["version"])


@pytest.fixture(scope="session")
def shipped_version() -> str:
    return _shipped_version()


@pytest.fixture(scope="session")
def model_copies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shipped model saved again as versions "registry-test-b" and "registry-test-c"
    (same weights, another version string: what the registry sees as two models)."""
    # Imported here: this plugin is loaded for every test run, most of which need no model.
    from classifiers.persist import DEFAULT_MODEL_PATH, load_model, save_model

    folder = tmp_path_factory.mktemp("model-copies")
    copies = {}
    for version in ("registry-test-b", "registry-test-c"):
        model = load_model(DEFAULT_MODEL_PATH)
        model.version = version
        copies[version] = save_model(
            model, folder / f"{version}.skops", card={**model.card, "version": version}
        )
    return copies


# The identity term the planted model is biased against: outside lexicon.IDENTITY_TERMS (so
# the identity mask does not hide it) and in no functional-suite sentence, so the planted
# bias shows in the bias figures alone.
PLANTED_TERM = "Tamil"
PLANTED_VERSION = "registry-test-biased"
# Added to the term's unigram weight on these heads: enough to push most neutral sentences
# that mention it past 0.5 (measured: toxicity false-positive rate 0.00 -> 0.67).
PLANTED_WEIGHT = 12.0
PLANTED_HEADS = ("toxicity", "identity_attack", "insult")


@pytest.fixture(scope="session")
def planted_bias_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped model with a bias planted against one identity term: the weight of the
    term's own word feature raised on three heads, as a model trained on data where the word
    mostly occurs in abuse would learn it. Saved by save_model, so it is the same kinds of
    objects the allow-list loader accepts, and nothing else differs from the shipped model."""
    from classifiers.persist import DEFAULT_MODEL_PATH, load_model, save_model

    model = load_model(DEFAULT_MODEL_PATH)
    word, _ = model.vectorizer_.transform_blocks([PLANTED_TERM])
    assert word.nnz == 1, "the term should be one word feature"
    coef = model.coef_.tolil()
    for head in PLANTED_HEADS:
        k = model.labels.index(head)
        coef[k, word.indices[0]] = coef[k, word.indices[0]] + PLANTED_WEIGHT
    model.coef_ = coef.tocsr()
    model.version = PLANTED_VERSION
    folder = tmp_path_factory.mktemp("planted")
    return save_model(
        model, folder / f"{PLANTED_VERSION}.skops", card={**model.card, "version": PLANTED_VERSION}
    )


def reset_registry(url: str) -> None:
    with session_scope() as session:
        session.execute(delete(ModelChange))
        session.execute(delete(ModelVersion))
    register_shipped_model(url)


@pytest.fixture
def registry(pg_env: dict[str, str]) -> Iterator[str]:
    """The test PostgreSQL with only the shipped model registered (live); put back that way
    afterwards, so other tests' workers find the store as a fresh migrate leaves it."""
    url = pg_env["DATABASE_URL"]
    reset_registry(url)
    yield url
    reset_registry(url)
