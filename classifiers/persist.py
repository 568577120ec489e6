"""Saving and loading models safely: skops with an explicit allow-list, plus a JSON card."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from classifiers.features import CommentVectorizer
from classifiers.model import ToxicityModel

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL_PATH = MODELS_DIR / "toxicity.skops"

# The only non-default types a model file may ask for: our own estimator classes and scipy's CSR
# matrix (skops rebuilds it from arrays, no code runs). skops already trusts the sklearn and
# numpy builtins it can rebuild without running arbitrary code.
TRUSTED_TYPES: frozenset[str] = frozenset(
    f"{cls.__module__}.{cls.__qualname__}" for cls in (ToxicityModel, CommentVectorizer)
) | {"scipy.sparse._csr.csr_matrix"}


class UntrustedModelError(Exception):
    """A model file asks to instantiate types outside the allow-list; it was not loaded."""

    def __init__(self, path: Path, untrusted: list[str]) -> None:
        self.path = path
        self.untrusted = untrusted
        super().__init__(
            f"refusing to load {path}: it asks for types that are not trusted: "
            f"{', '.join(untrusted)}. Only {', '.join(sorted(TRUSTED_TYPES))} and the "
            "scikit-learn/numpy/scipy types skops trusts by default may appear in a model file."
        )


def card_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def save_model(model: ToxicityModel, path: str | Path, card: dict[str, Any] | None = None) -> Path:
    """Write ``path`` (skops, compressed) and its card beside it as ``<stem>.json``."""
    import zipfile

    import skops.io as sio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(model, path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    card = dict(card if card is not None else getattr(model, "card", {}) or {})
    card.setdefault("version", model.version)
    card.setdefault("labels", list(model.labels))
    card_path(path).write_text(json.dumps(card, indent=2, sort_keys=False) + "\n")
    model.card = card
    return path


def load_model(path: str | Path) -> ToxicityModel:
    """Load a model saved by :func:`save_model`, refusing any file that needs untrusted types."""
    import skops.io as sio

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # a truncated or non-skops file
        raise UntrustedModelError(path, [f"<unreadable skops file: {exc}>"]) from exc
    refused = sorted(set(untrusted) - TRUSTED_TYPES)
    if refused:
        raise UntrustedModelError(path, refused)
    model = sio.load(path, trusted=list(untrusted))
    if not isinstance(model, ToxicityModel):
        raise UntrustedModelError(path, [f"top-level object is {type(model).__qualname__}"])
    cpath = card_path(path)
    model.card = json.loads(cpath.read_text()) if cpath.is_file() else {"version": model.version}
    return model


@functools.cache
def load_default_model() -> ToxicityModel:
    """The model shipped in ``classifiers/models/``, loaded once per process."""
    return load_model(DEFAULT_MODEL_PATH)
