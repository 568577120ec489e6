"""What Perspective calls leave in the store: suggested scores (labelled data for the learning
loop) and, only for sites that ask for it, analysed texts."""

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.orm import Session

from service.db import utcnow
from service.integrations.text import plain_comment
from service.tables import AnalyzedText, SuggestionFeedback


def record_suggestion(
    *, session: Session, site_id: str, text: str, labelled: Sequence[tuple[str, float]]
) -> int:
    """One suggestion_feedback row per (label, value); how many were written."""
    now = utcnow()
    stored = plain_comment(text)
    session.execute(
        insert(SuggestionFeedback),
        [
            {
                "site_id": site_id,
                "text": stored,
                "attribute": label,
                "value": value,
                "created_at": now,
            }
            for label, value in labelled
        ],
    )
    return len(labelled)


def keep_analyzed_text(
    *, session: Session, site_id: str, text: str, scores: dict[str, float], model_version: str
) -> None:
    session.add(
        AnalyzedText(
            site_id=site_id,
            text=plain_comment(text),
            scores=scores,
            model_version=model_version,
            created_at=utcnow(),
        )
    )
