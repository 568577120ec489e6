"""Small, hand-written comment texts and builders for tests (no shared training data here)."""

import itertools
from collections.abc import Iterator

TOPICS = [
    "the new bus routes",
    "the library opening hours",
    "the school budget",
    "the bridge repairs",
    "the harbour festival",
    "the recycling scheme",
    "the cycle lanes",
    "the river clean-up",
]

BENIGN_TEMPLATES = [
    "Thanks for the careful reporting on {topic}.",
    "I went to the meeting about {topic} and found it useful.",
    "Good to see a balanced article on {topic}, well done.",
    "My family has waited a long time for {topic}; glad it is moving.",
    "Could the paper follow up on {topic} next month? Very interesting.",
    "I disagree with the council on {topic}, but this piece explains both sides well.",
]

ABUSIVE_TEMPLATES = [
    "You are a stupid worthless idiot and nobody cares about {topic}, shut up.",
    "What a pathetic moron, only a brainless idiot would write this garbage about {topic}.",
    "F*ck you and your f*cking article on {topic}, you piece of sh1t.",
    "Shut up you dumb bitch, {topic} is none of your business, idiot.",
]


def benign_comments() -> Iterator[str]:
    for template, topic in itertools.cycle(itertools.product(BENIGN_TEMPLATES, TOPICS)):
        yield template.format(topic=topic)


def abusive_comments() -> Iterator[str]:
    for template, topic in itertools.cycle(itertools.product(ABUSIVE_TEMPLATES, TOPICS)):
        yield template.format(topic=topic)


def submission(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "article_id": "article-1",
        "author_name": "Reader",
        "body": "Thanks for the careful reporting.",
    }
    body.update(overrides)
    return body
