"""Scoring inside the API process, for callers that need the answer in the request.

The same model and the same policy code as the workers (service.policy.decide with the
site's policy). The model is loaded on first use and followed as the live version changes.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi.concurrency import run_in_threadpool

from service.model_registry.live import forget_live_model as _forget_registry_model
from service.model_registry.live import live_model as _registry_live_model

if TYPE_CHECKING:
    # Imported only when a model is loaded: the API process starts without scikit-learn
    # (and its memory) until an in-request scoring call first needs it.
    from classifiers import Contribution, ToxicityModel

# What Perspective's clients and our own callers assume when a model card names none.
DEFAULT_LANGUAGES = ("en",)


def live_model() -> "ToxicityModel":
    """The model the workers score with (service.model_registry.live): the store's live
    version, switched within seconds of a promote or rollback."""
    return _registry_live_model()


def forget_live_model() -> None:
    _forget_registry_model()


def model_languages(model: "ToxicityModel") -> tuple[str, ...]:
    """The languages the model reads (its card's `languages`)."""
    languages = getattr(model, "languages", None) or (getattr(model, "card", None) or {}).get(
        "languages"
    )
    return tuple(languages) if languages else DEFAULT_LANGUAGES


@dataclass(frozen=True)
class ScoredText:
    scores: dict[str, float]
    model_version: str
    # Per label asked for: the spans that raised it and each span's own score.
    spans: "dict[str, list[tuple[Contribution, float]]]"


def score_text(
    text: str, *, explain: Sequence[str] = (), top_k: int = 8, model: "ToxicityModel | None" = None
) -> ScoredText:
    """Every label's probability for one text; with `explain`, the spans that pushed those
    labels up, each scored on its own (Perspective's span scores are probabilities too)."""
    model = model or live_model()
    scores = model.score([text])[0]
    spans: dict[str, list[tuple[Contribution, float]]] = {}
    for label in explain:
        pushed = [c for c in model.explain(text, label=label, top_k=top_k) if c.weight > 0]
        own = model.score([c.text for c in pushed]) if pushed else []
        spans[label] = [(c, s[label]) for c, s in zip(pushed, own, strict=True)]
    return ScoredText(scores=scores, model_version=model.version, spans=spans)


async def ascore_text(text: str, *, explain: Sequence[str] = (), top_k: int = 8) -> ScoredText:
    """score_text off the event loop (scoring is CPU work: ~1 ms a comment)."""
    return await run_in_threadpool(score_text, text, explain=explain, top_k=top_k)
