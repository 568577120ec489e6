"""The demo article: our own made-up local news story, so the comment form has a page to sit on."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Article:
    id: str
    section: str
    headline: str
    standfirst: str
    byline: str
    paragraphs: tuple[str, ...]


HARBOUR_FERRY = Article(
    id="harbour-ferry",
    section="Local",
    headline="Harbour ferry will keep sailing through the winter",
    standfirst=(
        "After a long evening of debate the town council voted to fund the island ferry "
        "all year round, ending twelve winters of a reduced weekend-only timetable."
    ),
    byline="By the Newsroom Desk",
    paragraphs=(
        "The small blue ferry that links the harbour with Gull Island will run every day "
        "this winter, the town council decided on Tuesday night by nine votes to four.",
        "Since the fuel-price crisis of a decade ago the crossing has stopped on weekdays "
        "between November and March. Islanders have had to choose between a two-hour walk "
        "round the causeway at low tide and a taxi boat that costs more than a week's shopping.",
        "\u201cMy daughter missed half a term of school because of the tides,\u201d said Mira "
        "Osei, who runs the island's only caf\u00e9. \u201cTonight feels like being let back "
        "into the town.\u201d",
        "The extra sailings will cost about 310,000 a year. Most of it comes from the harbour "
        "parking fund, which councillors agreed to raise by fifty cents an hour in the summer "
        "months, when visitors fill the quay.",
        "Opponents said the money would be better spent on the pier, which engineers "
        "described last spring as \u201ctired but safe.\u201d Councillor Ben Lachance warned that "
        "a single bad storm could leave the ferry with nowhere to dock.",
        "The harbour master expects the first weekday winter sailing on the first Monday of "
        "November, at 07:15 from the island. Timetables will be posted at both landings and "
        "on the council's website.",
        "The council will review passenger numbers next spring before deciding whether the "
        "all-year service becomes permanent.",
    ),
)

ARTICLES = {HARBOUR_FERRY.id: HARBOUR_FERRY}


def article_for(article_id: str) -> Article:
    """The demo story, or a stub for any other id so a site can try its own article ids."""
    if article_id in ARTICLES:
        return ARTICLES[article_id]
    return Article(
        id=article_id,
        section="Demo",
        headline=f"Article {article_id}",
        standfirst="A placeholder page: the comments below are the real ones for this article id.",
        byline="",
        paragraphs=(),
    )
