"""Comment bodies for the load: reader-like, mixed lengths, a few abusive, deterministic."""

import random

_OPENERS = [
    "Thanks for the careful reporting on",
    "I went to the meeting about",
    "Good to see a balanced article on",
    "My family has waited a long time for",
    "Could the paper follow up on",
    "I disagree with the council on",
    "Nobody asked us, the residents, about",
    "Interesting read, but you left out the cost of",
]
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
_CLAUSES = [
    "the figures in the third paragraph do not add up",
    "last year the same promise was made and nothing happened",
    "my neighbours feel the same way",
    "the consultation closed before most people heard of it",
    "I would like to see the full report published",
    "the councillors should answer these questions in public",
    "it is good that someone is finally paying attention",
    "the photos make the situation look better than it is",
    "young families are the ones who pay for this",
    "please keep covering this story",
]
_ABUSIVE = [
    "You are a stupid worthless idiot and nobody cares about {topic}, shut up.",
    "What a pathetic moron, only a brainless idiot would write this garbage about {topic}.",
    "Shut up you dumb clown, {topic} is none of your business, idiot.",
]


def comment_bodies(count: int, *, seed: int = 7) -> list[str]:
    """`count` bodies from 40 to ~600 characters; about one in ten is abusive."""
    rng = random.Random(seed)
    bodies = []
    for _ in range(count):
        topic = rng.choice(TOPICS)
        if rng.random() < 0.1:
            bodies.append(rng.choice(_ABUSIVE).format(topic=topic))
            continue
        sentences = [f"{rng.choice(_OPENERS)} {topic}."]
        for _ in range(rng.choice([0, 1, 1, 2, 3, 5, 8])):
            clause = rng.choice(_CLAUSES)
            sentences.append(clause[0].upper() + clause[1:] + ".")
        bodies.append(" ".join(sentences))
    return bodies
