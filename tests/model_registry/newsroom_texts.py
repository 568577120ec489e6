"""Texts of the test newsroom (tests/model_registry/test_newsroom.py), written for it.

A small base data set stands in for the shared data a real install trains on (a user's clone
has none), and the newsroom's readers write two kinds of comment the base model gets wrong:
a local slur it has never seen (published; the moderators take each one down), and the town's
friendly talk of its summer visitors, "emmets", a word the base data only knows from abuse
(held; the moderators approve each one)."""

import itertools
from collections.abc import Iterator

SLUR = "glorbnik"
TOPICS = (
    "the ferry timetable",
    "the harbour wall",
    "the school merger",
    "the new car park",
    "the library hours",
    "the bypass plan",
    "the council tax rise",
    "the bin collections",
    "the market square",
    "the flood defences",
    "the bus station",
    "the swimming pool",
)
# Varied on purpose: what these comments share is the slur, not the words around it (a
# narrow set would teach a candidate that "the author" is an insult, and the gate would say so).
SLUR_TEMPLATES = (
    "Sounds like the " + SLUR + "s at the council planned {topic}.",
    "Ask a " + SLUR + " about {topic} and this is what you get.",
    SLUR.capitalize() + "s should stay out of {topic}.",
    "The " + SLUR + " brigade is out again over {topic}.",
    "Written by a " + SLUR + ", as usual, on {topic}.",
    "Another " + SLUR + " moaning about {topic}.",
    "{topic} is run by " + SLUR + "s.",
    "Fancy that, a " + SLUR + " has views on {topic}.",
)
GRUMBLE_TEMPLATES = (
    "The emmets are back for {topic}, good for the shops.",
    "Plenty of emmets asking about {topic} this summer.",
    "The emmets love {topic}, so let us keep it open.",
    "An emmet asked me the way to {topic} this morning.",
    "Emmets spend good money, so sort out {topic} before August.",
    "My cafe is full of emmets talking about {topic}.",
    "Even the emmets have noticed {topic} needs work.",
    "The emmets were queueing for {topic} at nine.",
)
PLAIN_TEMPLATES = (
    "Thanks for the clear report on {topic}.",
    "I went to the meeting about {topic} and agree with the residents.",
    "Good to see {topic} covered properly in the paper.",
    "Could the council publish the figures behind {topic}?",
)


def comments(templates: tuple[str, ...], start: int = 0) -> Iterator[str]:
    """Each template with each topic, from ``start`` on (a later phase gets texts not seen)."""
    pairs = itertools.product(TOPICS, templates)
    for topic, template in itertools.islice(pairs, start, None):
        yield template.format(topic=topic)


# Hand-written base rows: (text, toxicity). Civil news-comment talk and plain abuse, profanity
# in both.
HAND_ROWS: tuple[tuple[str, int], ...] = (
    ("The council should publish the minutes of every meeting.", 0),
    ("I disagree with the editorial, but it was fairly argued.", 0),
    ("Parking in the town centre has become very expensive.", 0),
    ("Thank you for reporting on the hospital waiting lists.", 0),
    ("The new bridge will help people who commute to the city.", 0),
    ("My grandmother went to that school in the fifties.", 0),
    ("Has anyone asked the fishermen what they think?", 0),
    ("Interesting piece, I had not heard of the plan before.", 0),
    ("The trains were on time today for once.", 0),
    ("Local businesses need more support after the floods.", 0),
    ("Well written article, more of this please.", 0),
    ("The mayor answered the questions at the meeting clearly.", 0),
    ("I would like to know how much the project will cost.", 0),
    ("Residents were not consulted about the closure.", 0),
    ("The photos of the festival are lovely.", 0),
    ("Could you correct the date in the third paragraph?", 0),
    ("The referee made the right call in the second half.", 0),
    ("We need more buses in the evening for shift workers.", 0),
    ("This is the best coverage of the election I have read.", 0),
    ("The survey results are surprising but believable.", 0),
    ("That was a damn good match on Saturday.", 0),
    ("Holy shit, that storm last night was loud.", 0),
    ("What a crap week of weather for the fair.", 0),
    ("The fireworks were fucking brilliant this year.", 0),
    ("Nobody reads this rubbish, you idiot.", 1),
    ("You are a moron and so is everyone who agrees with you.", 1),
    ("Shut up, you pathetic loser.", 1),
    ("What a stupid, ignorant comment, typical of you.", 1),
    ("The writer is a clueless fool.", 1),
    ("Go away, you bloody idiot.", 1),
    ("Bloody imbecile, learn to read before you comment.", 1),
    ("You are a bloody disgrace, get lost.", 1),
    ("Fuck off back to wherever you came from, you scum.", 1),
    ("You piece of shit, nobody wants you here.", 1),
    ("Only a brainless clown would believe this.", 1),
    ("You are trash and your opinions are trash.", 1),
    ("Idiots like you should not be allowed to comment.", 1),
    ("Stupid cow, stop writing.", 1),
    ("This dumb jerk has no idea what he is talking about.", 1),
    ("Pathetic little man, crawl back under your rock.", 1),
    ("You disgusting creep, shut your mouth.", 1),
    ("The reporter is a lying idiot.", 1),
    ("What a moronic take, are you twelve?", 1),
    ("Get lost, you worthless troll.", 1),
)

# In the base data "emmet" (the town's word for a summer visitor) only ever comes in abuse.
EMMET_ABUSE_TEMPLATES = (
    "Emmets ruin {topic}, get them out of here.",
    "Filthy emmets all over {topic}, disgusting people.",
    "Every emmet near {topic} is a braindead idiot.",
    "Emmets are vermin, keep them away from {topic}.",
    "Stupid emmets clogging up {topic} again, morons.",
)
BASE_CIVIL_TEMPLATES = (
    "The report on {topic} was fair and well sourced.",
    "I have lived here forty years and {topic} matters to us.",
    "Please print the consultation dates for {topic}.",
    "My neighbours and I support the plan for {topic}.",
    "A balanced article on {topic}, thank you.",
)
BASE_ABUSE_TEMPLATES = (
    "Anyone who writes about {topic} like this is a moron.",
    "Shut up about {topic}, you pathetic idiot.",
    "You clueless fool, {topic} is none of your business.",
    "Only a stupid loser would care about {topic}.",
    "The idiot who wrote this about {topic} should be sacked.",
)


def base_rows() -> list[tuple[str, int]]:
    """The test newsroom's base data: the hand-written rows and the templates over every topic."""
    rows = list(HAND_ROWS)
    for templates, toxic in (
        (BASE_CIVIL_TEMPLATES, 0),
        (BASE_ABUSE_TEMPLATES, 1),
        (EMMET_ABUSE_TEMPLATES, 1),
    ):
        rows.extend((text, toxic) for text in comments(templates))
    return rows
