"""Generated training sentences that mention identities, to counter identity-word bias.

In Davidson, Stormfront and HatEval, words like "muslim", "gay" or "black" appear mostly in
hateful rows, so a model learns the word itself as toxic. These sentences (written for this
project, not taken from any data set) show the model the same words in ordinary, friendly
comments (negatives) and beside real abuse (positives), so the weight has to go to the abuse.

The bias *test* uses different templates (:mod:`classifiers.bias`), so passing it is not just
memorising these.
"""

from __future__ import annotations

from classifiers.data import LabelledComment, written_row
from classifiers.model import UNKNOWN

SOURCE = "identity_templates"

# (adjective form, plural/group form)
TRAIN_IDENTITIES: tuple[tuple[str, str], ...] = (
    ("gay", "gay people"),
    ("lesbian", "lesbians"),
    ("bisexual", "bisexual people"),
    ("transgender", "transgender people"),
    ("trans", "trans people"),
    ("queer", "queer people"),
    ("straight", "straight people"),
    ("Muslim", "Muslims"),
    ("Christian", "Christians"),
    ("Jewish", "Jews"),
    ("Hindu", "Hindus"),
    ("Sikh", "Sikhs"),
    ("Buddhist", "Buddhists"),
    ("Catholic", "Catholics"),
    ("atheist", "atheists"),
    ("Black", "Black people"),
    ("white", "white people"),
    ("Asian", "Asians"),
    ("Latino", "Latinos"),
    ("Hispanic", "Hispanics"),
    ("African", "Africans"),
    ("Mexican", "Mexicans"),
    ("Arab", "Arabs"),
    ("Chinese", "Chinese people"),
    ("Indian", "Indians"),
    ("Pakistani", "Pakistanis"),
    ("Somali", "Somalis"),
    ("Syrian", "Syrians"),
    ("Armenian", "Armenians"),
    ("Azerbaijani", "Azerbaijanis"),
    ("immigrant", "immigrants"),
    ("refugee", "refugees"),
    ("female", "women"),
    ("male", "men"),
    ("feminist", "feminists"),
    ("disabled", "disabled people"),
    ("deaf", "deaf people"),
    ("elderly", "older people"),
    ("young", "young people"),
    ("working-class", "working-class families"),
)

NEUTRAL_TEMPLATES: tuple[str, ...] = (
    "I am {a} {adj} person and I live in this town.",
    "My neighbour is {adj} and she runs the bakery on the corner.",
    "As {a} {adj} reader, I found this article very informative.",
    "{Group} have lived in this city for generations.",
    "The report interviewed several {group} about the new housing rules.",
    "Many {group} volunteer at the food bank every weekend.",
    "My best friend is {adj}, we have known each other since school.",
    "{Group} deserve the same rights and respect as everyone else.",
    "The festival celebrated {adj} culture with music and food.",
    "I grew up with {group} and they were always kind to my family.",
    "Being {adj} is part of who I am, and I am proud of it.",
    "The council met with {group} to discuss the new school.",
    "Our team has {adj} engineers and they are brilliant.",
    "There should be more {adj} voices in the newsroom.",
    "{Group} and their neighbours came together after the flood.",
    "The author, who is {adj}, wrote a moving essay about her childhood.",
    "Thanks for covering the story of {group} in our region.",
    "I am {adj} and I agree with this decision.",
    "This policy will affect {group} and everyone else in the county.",
    "The study found that {group} vote at similar rates.",
    "{Group} are part of our community.",
    "I married {a} {adj} man and we have two kids.",
    "As {a} {adj} woman I think the mayor got this right.",
    "The {adj} community organised a charity run.",
    "Both {group} and their neighbours lost loved ones in the war.",
)

# Counter-speech and negation: the group's name next to hateful words, said by someone who
# rejects them. Without these, "I would never hate {group}" scores like the hate it denies.
COUNTER_TEMPLATES: tuple[str, ...] = (
    "People who call {group} vermin should be ashamed of themselves.",
    "It is disgusting that anyone still says {group} are animals.",
    "I will never accept hatred of {group} in this town.",
    "Nobody should be attacked for being {adj}.",
    "Claiming that {group} are criminals is simply false.",
    "There is no excuse for the abuse {group} get online.",
    "I don't hate {group}, I hate the bigots who target them.",
    "Saying {group} should leave is racist and wrong.",
)

# Abuse that names an identity: the abuse must carry the score.
# (template, identity_attack, insult, severe_toxicity)
ABUSIVE_TEMPLATES: tuple[tuple[str, float, float, float], ...] = (
    ("{Group} are vermin and should be wiped out.", 1, UNKNOWN, 1),
    ("All {group} are filthy, send them back.", 1, UNKNOWN, 1),
    ("I hate {group}, they are disgusting parasites.", 1, UNKNOWN, 1),
    ("{Group} are subhuman trash and do not belong here.", 1, UNKNOWN, 1),
    ("Get rid of every last one of the {group}, they are a cancer.", 1, UNKNOWN, 1),
    # Insults that happen to name an identity: toxic, not severe.
    ("You are a stupid {adj} idiot, shut up.", UNKNOWN, 1, 0),
    ("Shut up you worthless {adj} moron.", UNKNOWN, 1, 0),
    ("You are a pathetic loser and your opinion is garbage.", 0, 1, 0),
    ("Nobody wants to hear from a dumb {adj} clown like you.", UNKNOWN, 1, 0),
    ("What an idiot, you clearly cannot read.", 0, 1, 0),
)

# Dehumanising comparisons, as frames x nouns: "{Group} are rats". The functional suite
# (classifiers.functional) uses other nouns ("dogs", "pigs", "locusts", ...), so what it
# measures is whether the frame generalises, not whether a noun was listed here.
DEHUMANISING_FRAMES: tuple[str, ...] = (
    "{Group} are {noun}.",
    "{Group} are nothing but {noun}.",
    "Those {group} are {noun}, every one of them.",
    "{Group}? {Noun}, all of them.",
    "{Group} are {noun} and should be treated like it.",
)
DEHUMANISING_NOUNS: tuple[str, ...] = (
    "vermin",
    "rats",
    "cockroaches",
    "parasites",
    "leeches",
    "a plague",
    "a cancer",
    "filth",
    "savages",
    "beasts",
    "apes",
    "subhuman",
    "maggots",
    "swine",
    "a disease",
    "worms",
)

# Derogation without an insult word: what is claimed about the group is the attack.
DEROGATION_FRAMES: tuple[str, ...] = (
    "{Group} control the banks.",
    "{Group} control the government from behind the scenes.",
    "{Group} run Hollywood and the courts.",
    "{Group} are taking over and ruining everything.",
    "You can never trust {group}, it is in their nature.",
    "{Group} are all criminals and liars.",
    "{Group} are too stupid to run their own lives.",
    "{Group} are too weak to lead anything.",
    "{Group} are too irrational to make decisions.",
    "{Group} should not be allowed to hold any office.",
    "{Group} should not be allowed to own property.",
    "This country was better before the {group} came.",
    "{Group} are only here to steal our jobs.",
    "{Group} breed like crazy and live off our taxes.",
    "{Group} are born liars.",
)

# The same frames kept civil: the group's name and the frame's grammar without the attack,
# so that neither "{Group} are" nor "control" becomes a signal on its own.
CIVIL_FRAMES: tuple[str, ...] = (
    "{Group} are neighbours, teachers and nurses like everyone else.",
    "{Group} are welcome here.",
    "{Group} are part of the history of this town.",
    "{Group} should be allowed to speak at the meeting.",
    "{Group} are running the food drive this weekend.",
    "{Group} are taking part in the parade.",
)


# The words of the dehumanising concept said of animals: the concept alone is no attack.
CIVIL_ANIMAL_SENTENCES: tuple[str, ...] = (
    "Our dogs love the new park by the river.",
    "The farm keeps pigs, goats and cattle.",
    "Rats were found in the old warehouse, the council says.",
    "Locusts destroyed the crops in the south this year.",
    "The zoo's apes have a new enclosure.",
    "Snakes are common on the heath in summer.",
    "Termites damaged the school's wooden roof.",
    "The shelter has cats and dogs waiting for a home.",
    "Cockroaches in the kitchen closed the restaurant for a week.",
    "Monkeys at the sanctuary were rescued from traffickers.",
    "Head lice are back at the primary school, parents are told.",
    "The vet treated the pet rabbit for free.",
)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _fill(template: str, adj: str, group: str, noun: str = "") -> str:
    return template.format(
        a=_article(adj),
        adj=adj,
        group=group,
        Group=group[:1].upper() + group[1:],
        noun=noun,
        Noun=noun[:1].upper() + noun[1:],
    )


def identity_comments() -> list[LabelledComment]:
    rows: list[LabelledComment] = []
    seen: set[str] = set()
    civil = {"toxicity": 0.0, "severe_toxicity": 0.0, "identity_attack": 0.0, "insult": 0.0}
    attack = {"toxicity": 1.0, "identity_attack": 1.0}

    def add(text: str, **values: float) -> None:
        if text not in seen:
            seen.add(text)
            rows.append(written_row(text, SOURCE, **values))

    for text in CIVIL_ANIMAL_SENTENCES:
        add(text, **civil, threat=0.0)
    for adj, group in TRAIN_IDENTITIES:
        for template in NEUTRAL_TEMPLATES:
            add(_fill(template, adj, group), **civil, threat=0.0)
        for template in (*COUNTER_TEMPLATES, *CIVIL_FRAMES):
            add(_fill(template, adj, group), **civil)
        for template, identity_attack, insult, severe in ABUSIVE_TEMPLATES:
            add(
                _fill(template, adj, group),
                toxicity=1.0,
                identity_attack=identity_attack,
                insult=insult,
                severe_toxicity=severe,
            )
        for frame in DEHUMANISING_FRAMES:
            for noun in DEHUMANISING_NOUNS:
                add(_fill(frame, adj, group, noun), **attack, severe_toxicity=1)
        for frame in DEROGATION_FRAMES:
            add(_fill(frame, adj, group), **attack)
    return rows
