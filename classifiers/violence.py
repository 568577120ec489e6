"""Generated training sentences about violence: threats, self-harm incitement, and the everyday
uses of violent words that are neither.

Only civil_spans labels threats among the shared data sets (about a hundred comments with a
majority), and none labels incitement to self-harm, which the issue counts as severe. These
sentences (written for this project, not taken from any data set) give the threat and severe
heads the pattern "someone will hurt a person" and, as negatives, the words without it ("the
storm killed the power", "the band killed it"), so that "kill" itself does not become a threat.

The functional suite (:mod:`classifiers.functional`) uses different sentences, so passing it
is not memorising these.
"""

from __future__ import annotations

from classifiers.data import LabelledComment, written_row

SOURCE = "violence_templates"

_TARGETS = (
    "you",
    "him",
    "her",
    "the mayor",
    "that reporter",
    "the editor",
    "this journalist",
    "the judge",
    "your family",
    "the councillor",
)

THREAT_TEMPLATES: tuple[str, ...] = (
    "I will kill {target}.",
    "I am going to shoot {target} when I get the chance.",
    "Somebody should put a bullet in {target}.",
    "I will find {target} and break every bone.",
    "Watch your back, I know where {target} lives.",
    "I'm going to beat {target} until nobody recognises the face.",
    "{Target} deserves to be strangled.",
    "Keep writing this and I will burn down the house of {target}.",
    "One day soon I will stab {target}.",
    "{Target} will pay for this with blood.",
    "I hope someone runs {target} over with a truck.",
    "Let's hang {target} from the nearest tree.",
)

# Incitement to self-harm is aimed at the reader, so its target is always "you".
SELF_HARM_INCITEMENT: tuple[str, ...] = (
    "Kill yourself.",
    "Go kill yourself, loser.",
    "Just kys already.",
    "Do everyone a favour and end your life.",
    "Go hang yourself.",
    "Why don't you jump off a bridge and spare us.",
    "Drink bleach and stop posting.",
    "Nobody would miss you, so just go and die.",
    "You should kill yourself tonight.",
    "Do the world a favour and off yourself.",
    "Slit your wrists, nobody cares.",
    "kys nobody wants you",
)

# Violent words with no one threatened: negatives for threat and severe.
EVERYDAY_VIOLENT_WORDS: tuple[str, ...] = (
    "The storm killed the power in our street for two days.",
    "This commute is killing me.",
    "The band absolutely killed it last night.",
    "They shot the whole film in the old mill.",
    "Police are investigating the shooting on Main Street.",
    "I would kill for a coffee right now.",
    "The striker shot wide again in the second half.",
    "The bill died in committee, as expected.",
    "Good reporting on the stabbing near the station.",
    "My grandfather died peacefully at home.",
    "That joke killed me, I could not stop laughing.",
    "The council wants to kill the bus route, which is a mistake.",
    "Firefighters beat the blaze back before it reached the school.",
    "She knocked it out of the park with that speech.",
    "The drought is slowly killing the old oaks.",
    "We need to fight this decision at the next meeting.",
    "The suspect was shot by police after the chase.",
    "I nearly died of embarrassment at the parade.",
    "Hunters shot three deer on the first day of the season.",
    "The play is about a soldier who comes home from war.",
)


def _fill(template: str, target: str) -> str:
    return template.format(target=target, Target=target[:1].upper() + target[1:])


def violence_comments() -> list[LabelledComment]:
    rows: list[LabelledComment] = []
    seen: set[str] = set()

    def add(text: str, **values: float) -> None:
        if text not in seen:
            seen.add(text)
            rows.append(written_row(text, SOURCE, **values))

    for template in THREAT_TEMPLATES:
        for target in _TARGETS:
            add(_fill(template, target), toxicity=1, severe_toxicity=1, threat=1)
    for text in SELF_HARM_INCITEMENT:
        add(text, toxicity=1, severe_toxicity=1, insult=1)
    for text in EVERYDAY_VIOLENT_WORDS:
        add(
            text,
            toxicity=0,
            severe_toxicity=0,
            identity_attack=0,
            insult=0,
            threat=0,
        )
    return rows
