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

# Threats as (who intends, the harm): "{intent} {harm}" with the target in the harm.
THREAT_INTENTS: tuple[str, ...] = (
    "I will",
    "I'm going to",
    "I'll",
    "We will",
    "Someone should",
    "Somebody needs to",
    "I swear I will",
    "One day I will",
    "Next time I see you I will",
    "I hope someone will",
)
THREAT_HARMS: tuple[str, ...] = (
    "kill {target}",
    "shoot {target}",
    "stab {target}",
    "strangle {target}",
    "beat {target} senseless",
    "burn down the house of {target}",
    "put a bullet in {target}",
    "break every bone of {target}",
    "hunt {target} down",
    "gut {target} like a fish",
    "bury {target} in the woods",
    "smash the face of {target}",
    "choke {target}",
    "cut {target} into pieces",
)
THREAT_STATEMENTS: tuple[str, ...] = (
    "Watch your back, I know where {target} lives.",
    "{Target} deserves to be shot.",
    "{Target} should be hanged.",
    "{Target} will pay for this with blood.",
    "{Target} won't live to see next week.",
    "Keep it up and {target} ends up in a body bag.",
    "{Target} should be lined up against a wall.",
)

# Incitement to self-harm is aimed at the reader, so its target is always "you".
SELF_HARM_FRAMES: tuple[str, ...] = (
    "{act}.",
    "Go {act}.",
    "Just {act} already.",
    "{Act}, loser.",
    "Please {act}, nobody would miss you.",
    "Why don't you {act} and spare us.",
)
SELF_HARM_ACTS: tuple[str, ...] = (
    "kill yourself",
    "kys",
    "hang yourself",
    "end your life",
    "jump off a bridge",
    "slit your wrists",
    "off yourself",
    "shoot yourself",
    "overdose",
    "throw yourself under a train",
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

    for i, intent in enumerate(THREAT_INTENTS):
        for j, harm in enumerate(THREAT_HARMS):
            # Each (intent, harm) pair once, with a target that varies along the grid.
            target = _TARGETS[(i + j) % len(_TARGETS)]
            add(_fill(f"{intent} {harm}.", target), toxicity=1, severe_toxicity=1, threat=1)
    for template in THREAT_STATEMENTS:
        for target in _TARGETS:
            add(_fill(template, target), toxicity=1, severe_toxicity=1, threat=1)
    for frame in SELF_HARM_FRAMES:
        for act in SELF_HARM_ACTS:
            text = frame.format(act=act, Act=act[:1].upper() + act[1:])
            if text.lower() == "kys.":
                continue  # the functional suite's own case: it must be read, not remembered
            add(text[:1].upper() + text[1:], toxicity=1, severe_toxicity=1, insult=1)
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
