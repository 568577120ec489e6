"""GDPR erasure reaches the copies of a reader's text that carry no comment id: the texts a
site asked Perspective's endpoint to keep and the suggestscore feedback Coral sends per
moderator decision (issue 15 item 3's siblings)."""

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.authors import Author, erase_comments
from service.integrations.perspective.feedback import keep_analyzed_text, record_suggestion
from service.integrations.text import plain_comment
from service.tables import AnalyzedText, Comment, SuggestionFeedback
from tests.conftest import make_site

# As written; the copies keep it as plain_comment makes it (trimmed).
ERASED = "  You are all idiots here.\u00a0"
KEPT = "A different reader's words."


def _copies(session: Session, site_id: str) -> list[str]:
    feedback = session.scalars(
        select(SuggestionFeedback.text).where(SuggestionFeedback.site_id == site_id)
    ).all()
    analysed = session.scalars(
        select(AnalyzedText.text).where(AnalyzedText.site_id == site_id)
    ).all()
    return sorted([*feedback, *analysed])


def test_erasure_removes_the_sites_feedback_and_kept_texts_with_the_erased_text(
    pg_env: dict[str, str], sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        site, _ = make_site(session)
        other_site, _ = make_site(session)
        session.add_all(
            Comment(
                site_id=site.id,
                article_id="a",
                author_name=name,
                author_id=f"id-{name}",
                body=body,
                status="held",
            )
            for name, body in (("Ann", ERASED), ("Bob", KEPT))
        )
        for site_id in (site.id, other_site.id):
            for text in (ERASED, KEPT):
                record_suggestion(
                    session=session, site_id=site_id, text=text, labelled=[("toxicity", 1.0)]
                )
                keep_analyzed_text(
                    session=session,
                    site_id=site_id,
                    text=text,
                    scores={"toxicity": 0.9},
                    model_version="m",
                )
        session.commit()
        plain = plain_comment(ERASED)
        assert plain != ERASED
        assert _copies(session, site.id) == sorted([plain, plain, KEPT, KEPT])

        assert erase_comments(session=session, site=site, author=Author(author_id="id-Ann")) == 1
        session.commit()

        assert _copies(session, site.id) == [KEPT, KEPT], "the erased text's copies are gone"
        # Another site's rows are that site's data: a reader erases on one site at a time.
        assert _copies(session, other_site.id) == sorted([plain, plain, KEPT, KEPT])
