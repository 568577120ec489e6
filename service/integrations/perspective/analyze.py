"""comments:analyze and comments:suggestscore as plain functions: check what was asked, score,
answer in Perspective's shape. The HTTP handlers in routes.py only parse and call these."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from service.db import session_scope
from service.integrations.perspective import feedback
from service.integrations.perspective.attributes import feedback_label, known_attribute, label_for
from service.integrations.perspective.errors import GoogleError, analyzer_error, unavailable
from service.integrations.perspective.schemas import (
    AnalyzeCommentRequest,
    Context,
    SuggestCommentScoreRequest,
    TextEntry,
)
from service.integrations.scoring import ScoredText, live_model, model_languages, score_text
from service.integrations.text import html_to_text, utf16_offsets
from service.tables import Site

if TYPE_CHECKING:
    from classifiers.language import LanguageGuess

# Perspective refused comments over 20 KB (of UTF-8).
MAX_COMMENT_BYTES = 20 * 1024
PROBABILITY = "PROBABILITY"
# Spans reported per attribute when spanAnnotations is asked for.
SPANS_PER_ATTRIBUTE = 8


def comment_text(comment: TextEntry) -> str:
    """The text to score: as sent, or an HTML comment's text content."""
    text = comment.text or ""
    if comment.type == "HTML":
        text = html_to_text(text)
    if not text.strip():
        raise analyzer_error("COMMENT_EMPTY", "Comment must be non-empty.")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_COMMENT_BYTES:
        raise analyzer_error(
            "COMMENT_TOO_LONG",
            f"Comment text too long: {size} bytes of UTF-8; the limit is {MAX_COMMENT_BYTES}.",
        )
    return text


def _check_context(context: Context | None) -> None:
    if context is not None and context.entries and context.article_and_parent_comment:
        raise analyzer_error(
            "INVALID_REQUEST",
            "Give either context.entries or context.articleAndParentComment, not both.",
        )


def _detect_language(text: str) -> "LanguageGuess":
    # Imported here: `classifiers` brings scikit-learn, which the API loads only when needed.
    from classifiers.language import detect_language

    return detect_language(text)


def _language_code(tag: str) -> str:
    # "en-US" and "EN" are both English to a model card that lists "en".
    return tag.strip().replace("_", "-").split("-")[0].lower()


@dataclass(frozen=True)
class AnalyzePlan:
    """A checked request: what to score and how to answer."""

    text: str
    # requested name (as the client spelled it) -> (model label, score threshold)
    attributes: dict[str, tuple[str, float | None]]
    languages: list[str]
    detected: list[str]
    spans: bool


def plan_analysis(
    request: AnalyzeCommentRequest, *, labels: Sequence[str], languages_read: Sequence[str]
) -> AnalyzePlan:
    text = comment_text(request.comment)
    _check_context(request.context)
    requested = request.requested_attributes or {}
    if not requested:
        raise analyzer_error("NO_REQUESTED_ATTRIBUTES", "No requested attributes were given.")
    drop = bool(request.drop_unsupported_attributes)
    guess = _detect_language(text)
    detected = [guess.code]
    if request.languages:
        languages = list(dict.fromkeys(_language_code(tag) for tag in request.languages))
    else:
        # Too little text to tell is read as the model's first language, not refused:
        # "ok", "+1" and "lol" are comments too.
        languages = [guess.code if guess.code != "und" else languages_read[0]]
    readable = any(code in languages_read for code in languages)
    attributes: dict[str, tuple[str, float | None]] = {}
    for name, parameters in requested.items():
        canonical = known_attribute(name)
        if canonical is None:
            if drop:
                continue
            raise analyzer_error("INVALID_REQUEST", f"Unknown requested attribute: {name}")
        label = label_for(canonical, labels)
        if label is None or not readable:
            if drop:
                continue
            raise analyzer_error(
                "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
                f"Attribute {name} does not support request languages: {','.join(languages)}",
            )
        score_type = (parameters.score_type if parameters else None) or PROBABILITY
        if score_type != PROBABILITY:
            raise analyzer_error(
                "INVALID_REQUEST",
                f"Score type {score_type} is not supported for {name}: this server answers "
                f"{PROBABILITY} only.",
            )
        attributes[name] = (label, parameters.score_threshold if parameters else None)
    return AnalyzePlan(
        text=text,
        attributes=attributes,
        languages=languages,
        detected=detected,
        spans=bool(request.span_annotations),
    )


def _score(value: float) -> dict[str, Any]:
    return {"value": value, "type": PROBABILITY}


def analysis_body(
    plan: AnalyzePlan, scored: ScoredText, *, client_token: str | None
) -> dict[str, Any]:
    """Perspective's AnalyzeCommentResponse. Below its scoreThreshold an attribute's summary
    (and its spans) are left out; span offsets are UTF-16 code units, end exclusive."""
    offsets = utf16_offsets(plan.text) if plan.spans else []
    attribute_scores: dict[str, Any] = {}
    for name, (label, threshold) in plan.attributes.items():
        value = scored.scores[label]
        answer: dict[str, Any] = {}
        if threshold is None or value >= threshold:
            answer["summaryScore"] = _score(value)
        if plan.spans:
            spans = [
                {"begin": offsets[span.start], "end": offsets[span.end], "score": _score(own)}
                for span, own in sorted(scored.spans.get(label, []), key=lambda s: s[0].start)
                if threshold is None or own >= threshold
            ]
            if spans:
                answer["spanScores"] = spans
        if answer:
            attribute_scores[name] = answer
    body: dict[str, Any] = {
        "attributeScores": attribute_scores,
        "languages": plan.languages,
        "detectedLanguages": plan.detected,
    }
    if client_token is not None:
        body["clientToken"] = client_token
    return body


def analyze_for_site(*, site: Site, request: AnalyzeCommentRequest) -> dict[str, Any]:
    """One analyze call of a site: check, score with the live model, keep the text if the
    site keeps analysed texts and the client allowed it (doNotStore false), answer."""
    try:
        model = live_model()
    except Exception as exc:
        raise unavailable("the classifier could not be loaded; try again shortly") from exc
    plan = plan_analysis(request, labels=model.labels, languages_read=model_languages(model))
    labels = list(dict.fromkeys(label for label, _ in plan.attributes.values()))
    scored = score_text(
        plan.text,
        explain=labels if plan.spans else (),
        top_k=SPANS_PER_ATTRIBUTE,
        model=model,
    )
    if site.keep_analyzed_texts and request.do_not_store is False:
        with session_scope() as session:
            feedback.keep_analyzed_text(
                session=session,
                site_id=site.id,
                text=plan.text,
                scores=scored.scores,
                model_version=scored.model_version,
            )
    return analysis_body(plan, scored, client_token=request.client_token)


def plan_suggestion(request: SuggestCommentScoreRequest) -> tuple[str, list[tuple[str, float]]]:
    """The text and its (label, value) pairs, or Perspective's error."""
    text = comment_text(request.comment)
    _check_context(request.context)
    if not request.attribute_scores:
        raise analyzer_error("NO_REQUESTED_ATTRIBUTES", "attributeScores must not be empty.")
    labelled: list[tuple[str, float]] = []
    for name, suggested in request.attribute_scores.items():
        canonical = known_attribute(name)
        if canonical is None:
            raise analyzer_error("INVALID_REQUEST", f"Unknown attribute: {name}")
        score = suggested.summary_score
        if score is None:
            raise analyzer_error(
                "INVALID_REQUEST", f"attributeScores.{name}.summaryScore is missing."
            )
        if (score.type or PROBABILITY) != PROBABILITY:
            raise analyzer_error(
                "INVALID_REQUEST", f"Score type {score.type} is not supported: only {PROBABILITY}."
            )
        labelled.append((feedback_label(canonical), score.value))
    return text, labelled


def suggest_for_site(
    *, session: Session, site: Site, request: SuggestCommentScoreRequest
) -> dict[str, Any]:
    """Store a suggested score as labelled feedback of the site; answer as Perspective did."""
    text, labelled = plan_suggestion(request)
    feedback.record_suggestion(session=session, site_id=site.id, text=text, labelled=labelled)
    body: dict[str, Any] = {
        "detectedLanguages": [_detect_language(text).code],
        "requestedLanguages": list(request.languages or []),
    }
    if request.client_token is not None:
        body["clientToken"] = request.client_token
    return body


__all__ = ["GoogleError", "analyze_for_site", "suggest_for_site"]
