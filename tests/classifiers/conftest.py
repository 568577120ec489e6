"""Small fixtures written for these tests: no shared data set is needed (or allowed) here."""

from collections.abc import Sequence

import numpy as np
import pytest

from classifiers.model import LABELS, UNKNOWN, ToxicityModel

BENIGN = (
    "thanks for the thoughtful article",
    "the council meeting is on tuesday evening",
    "i agree with the mayor about the new bridge",
    "lovely photos of the harvest festival",
    "my grandmother made soup for the whole street",
    "the train was late again this morning",
    "great reporting on the school budget",
    "what time does the library open",
    "the weather was perfect for the race",
    "i disagree but i respect your view",
)
ABUSIVE = (
    "you are a stupid idiot",
    "shut up you worthless moron",
    "what a pathetic loser you are",
    "fuck off you clown",
    "this writer is a brainless idiot",
    "go away you dumb piece of shit",
    "you are trash and everyone hates you",
    "idiot idiot idiot",
    "stupid moron cannot even read",
    "nobody cares what a loser like you thinks",
)


def fixture_targets(texts: Sequence[str], positive: Sequence[bool]) -> np.ndarray:
    y = np.asarray(positive, dtype=np.float64)
    targets = np.full((len(texts), len(LABELS)), float(UNKNOWN))
    # Every attribute needs both classes; the fixture's abuse stands in for all of them but
    # profanity, which follows the obscene words.
    targets[:, :] = y[:, None]
    targets[:, LABELS.index("profanity")] = [
        float(any(w in t for w in ("fuck", "shit"))) for t in texts
    ]
    return targets


def build_tiny_model() -> ToxicityModel:
    texts = list(BENIGN + ABUSIVE)
    targets = fixture_targets(texts, [False] * len(BENIGN) + [True] * len(ABUSIVE))
    # Few hash bits: the fixture trains in milliseconds and saves to a few KB.
    model = ToxicityModel(word_bits=12, char_bits=12, version="test-tiny-1")
    model.fit(texts, targets)
    model.calibrate(texts, targets)
    return model


@pytest.fixture(scope="session")
def tiny_model() -> ToxicityModel:
    return build_tiny_model()
