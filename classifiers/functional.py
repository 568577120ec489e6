"""Functional tests: what the model and the default policy must do with kinds of comments.

The idea comes from published functional test suites for hate-speech models (one category per
capability, each with an expected outcome); every sentence here was written for this project.
None of them is a training sentence (:mod:`classifiers.identity` and :mod:`classifiers.violence`
use other wording), so a pass rate measures what the model learned, not what it memorised.

An outcome is what a reader meets: ``approved`` (published), ``held`` (a moderator decides) or
``rejected``. Each category names the outcomes that count as a pass; the rows of the issue that
started this suite (the comments a newsroom judged) are cases of their categories, and
``ISSUE_EXAMPLES`` lists them so a test can check every one.

The decision rule is passed in: the policy is the service's (``service.policy``), and this
package imports nothing of the service.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

PUBLISHED = frozenset({"approved"})
NOT_REJECTED = frozenset({"approved", "held"})
NOT_PUBLISHED = frozenset({"held", "rejected"})
REJECTED = frozenset({"rejected"})

# (comments) -> one outcome per comment, "approved" | "held" | "rejected"
DecisionRule = Callable[[Sequence[str]], list[str]]


@dataclass(frozen=True)
class Category:
    name: str
    description: str
    expected: frozenset[str]
    cases: tuple[str, ...]


_GROUPS = (
    "Muslims",
    "Jews",
    "gay people",
    "trans women",
    "Black people",
    "immigrants",
    "women",
    "Armenians",
    "refugees",
    "disabled people",
    "Mexicans",
    "Roma",
    "Hindus",
    "lesbians",
    "Somalis",
    "Sikhs",
    "Chinese people",
    "Catholics",
    "asylum seekers",
    "Palestinians",
    "Nigerians",
    "Uyghurs",
    "Irish travellers",
    "bisexual people",
    "deaf people",
    "Haitians",
)


def _for_groups(template: str, groups: Sequence[str] = _GROUPS) -> tuple[str, ...]:
    return tuple(template.format(group=g, Group=g[:1].upper() + g[1:]) for g in groups)


IDENTITY_NEUTRAL = Category(
    "identity_neutral",
    "an identity mentioned neutrally or positively",
    PUBLISHED,
    (
        "Black Lives Matter.",
        "Muslim",
        "Jewish",
        "gay",
        "I'm a proud gay dad of two.",
        "My Jewish neighbours invited us to their Hanukkah party.",
        "The mosque on Elm Street is hosting an open day for everyone.",
        "As a Muslim woman I found this article fair.",
        "Trans women are women.",
        "The Armenian bakery downtown makes the best bread in town.",
        "Refugees from Syria opened a restaurant near the station.",
        "Our mayor is the first Black woman to hold the office.",
        "Disabled people deserve step-free access to the new library.",
        "The Sikh temple fed hundreds of people after the flood.",
        "Lesbian couples can now adopt in every county.",
        "Immigrants built half the houses on this street.",
        "The Somali community centre needs more volunteers.",
        "I am deaf and the captions on your videos help a lot.",
        "Hindu families celebrated Diwali in the park last night.",
        "The Roma festival brought music to the old square.",
        "Women's football is growing fast in our region.",
        "A Chinese New Year parade is planned for February.",
        "Catholic schools in the county will share the new bus route.",
        "The Palestinian embroidery exhibition is worth a visit.",
        "Nigerian-born nurses staff much of the night shift.",
        "Pride month starts with a picnic by the river.",
        "Uyghur musicians played at the folk evening.",
        "I'm bisexual and I agree with the columnist.",
    ),
)

COUNTER_SPEECH = Category(
    "counter_speech",
    "counter-speech and quoting: hateful words reported or rejected",
    PUBLISHED,
    (
        "If you say 'I hate Muslims', you are the problem.",
        "Calling refugees 'vermin' says more about the speaker than about them.",
        "The sign said 'Jews go home' and the whole street came out to paint over it.",
        "Nobody should have to read 'gay people are sick' on their school wall.",
        "He shouted that immigrants were rats; the judge fined him for it.",
        "Saying women are too stupid to vote was wrong in 1900 and is wrong now.",
        "'Send them back' is not a policy, it is a slogan.",
        "The report quotes messages calling Black players monkeys. Shameful.",
        "I reported the account that kept posting that trans women are freaks.",
        "Statements like 'all Roma are thieves' have no place in this paper.",
        "The councillor apologised for saying disabled people are a burden.",
        "My grandmother was told 'no Irish' when she looked for a flat.",
        "Writing 'Armenians are dogs' on a church door is a hate crime.",
        "People who call Somalis parasites should meet my neighbours.",
        "The troll wrote that Hindus are filthy; the moderators removed it.",
        "It is not 'free speech' to say Jews control the banks.",
        "Posters claiming immigrants spread disease were taken down.",
        "The hate mail said Muslims are animals. The police are investigating.",
        "Being told 'you people are all the same' is exhausting.",
        "Anyone who thinks gay people are perverts has never met one.",
        "She was called a 'stupid foreigner' at the bus stop and nobody helped.",
        "The graffiti read 'kill all refugees' and it was cleaned within an hour.",
        "Comments saying Chinese people are a virus were reported to the police.",
        "We must answer 'go back to your country' with facts, not silence.",
        "Saying Black people are criminals is racist, full stop.",
        "The article rightly condemns the chant that Mexicans are rapists.",
    ),
)

NEGATION = Category(
    "negation",
    "a hateful statement negated",
    PUBLISHED,
    _for_groups("I would never say that {group} are less than anyone else.")[:9]
    + _for_groups("{Group} are not a threat to this town.")[9:18]
    + _for_groups("I don't hate {group} and I never will.")[18:]
    + (
        "No one here thinks refugees are criminals.",
        "It is not true that women are worse drivers.",
    ),
)

PROFANITY_UNTARGETED = Category(
    "profanity_untargeted",
    "profanity aimed at no one (published, or at most held)",
    NOT_REJECTED,
    (
        "this policy is damn stupid",
        "What a load of crap from the council",
        "Holy shit, that final minute was incredible!",
        "Fuck yes, the library is staying open!",
        "Damn, I missed the parade again.",
        "That pothole is a bloody disgrace.",
        "Shit happens, the bus will be late again.",
        "What the hell is going on with the water bills?",
        "This weather is crap for the harvest.",
        "Oh crap, I forgot to vote by post.",
        "The traffic on the ring road is a fucking nightmare.",
        "Bloody hell, house prices went up again.",
        "That concert was damn good.",
        "Pissed off that the pool is closed all summer.",
        "The new parking rules are total bullshit.",
        "Hell yeah, the team finally won at home.",
        "This is some serious shit for the farmers.",
        "Goddamn, those fireworks were loud.",
        "The roadworks are a pain in the ass.",
        "Shitty weather for a marathon, well done to all runners.",
        "Fucking finally, the bridge reopens.",
        "The budget is a crap sandwich whichever way you slice it.",
        "Damn right the school deserves the funding.",
        "My commute was hell today.",
        "Crap, I left my umbrella on the train again.",
    ),
)

CRITICISM_OF_OFFICIALS = Category(
    "criticism_of_officials",
    "criticism of public officials and institutions (held at most)",
    NOT_REJECTED,
    (
        "The mayor is a liar and a crook",
        "The council has been incompetent for a decade.",
        "This minister should resign in disgrace.",
        "The police chief lied to the committee.",
        "The governor's budget is a disaster for schools.",
        "The senator is a hypocrite who voted against his own bill.",
        "The board of education has failed our kids.",
        "This government is corrupt from top to bottom.",
        "The president's speech was full of lies.",
        "The water authority is a bunch of clueless bureaucrats.",
        "Our MP is useless and never answers letters.",
        "The planning committee sold us out to the developers.",
        "The judge's ruling was a joke.",
        "The health department is criminally negligent.",
        "The prime minister is a coward.",
        "The sheriff is an embarrassment to the county.",
        "City hall is run by idiots.",
        "The council leader should be ashamed of this mess.",
        "The regulator is asleep at the wheel again.",
        "The transport secretary has no idea what he is doing.",
        "The school board members are clowns.",
        "The mayor's office is a swamp of cronyism.",
        "The party leadership betrayed every promise it made.",
        "That councillor is a greedy liar.",
        "The police commissioner is a disgrace.",
    ),
)

OBFUSCATED_INSULTS = Category(
    "obfuscated_insults",
    "insults with swapped, dropped or added characters (not published)",
    NOT_PUBLISHED,
    (
        "u r a moron",
        "you are an idoit",
        "what a stupdi comment",
        "you absolute m0r0n",
        "shut up you i.d.i.o.t",
        "go away l0ser",
        "you're such a dumbasss",
        "what a pathettic excuse for a writer",
        "youre a clwon",
        "stfu you imbecil",
        "ur so stoopid",
        "you r a f*cking idiot",
        "what a looooser",
        "you moronn",
        "Idiiiot, read the article",
        "this author is a brainles twit",
        "you are a compelte idiot",
        "sh1thead",
        "you dumb b1tch",
        "moron!!!! moron!!!",
        "you are a r e t a r d",
        "what an a$$hole",
        "go cry, you pathetic wimp",
        "You are too dumb to breathe",
        "this writer is a tw@t",
    ),
)

THREATS = Category(
    "threats_and_self_harm",
    "threats and incitement to self-harm (rejected)",
    REJECTED,
    (
        "kys",
        "Go kill yourself, nobody wants you here.",
        "I'm going to find out where the reporter lives and hurt her.",
        "Someone needs to shoot this journalist.",
        "You will get what's coming to you, I'll make sure of it. Watch your kids.",
        "If the editor publishes this again I will burn the office down.",
        "I hope the columnist gets stabbed on the way home.",
        "We should hang every one of these councillors.",
        "Do us all a favour and go jump off a cliff.",
        "I'll break your jaw next time I see you.",
        "End your miserable life already.",
        "I know your address and I'm coming for you.",
        "The author deserves a bullet.",
        "Nobody would care if you killed yourself.",
        "I'm going to beat the crap out of that referee.",
        "Keep talking and you'll be found in a ditch.",
        "Go drink bleach.",
        "Somebody should run the mayor over.",
        "I will murder you and your whole family.",
        "Just go hang yourself, loser.",
        "People like you should be shot on sight.",
        "I'll slit your throat.",
        "You deserve to die slowly.",
        "Kill yourself you worthless troll.",
        "Let's torch the reporter's car tonight.",
    ),
)

IMPLICIT_DEROGATION = Category(
    "implicit_derogation",
    "a group derogated without insult words (not published)",
    NOT_PUBLISHED,
    (
        "Jews control the media",
        "Women are too emotional to vote",
        "Muslims are terrorists",
        "Immigrants only come here to live off benefits.",
        "Gay people are a danger to children.",
        "Black people just can't be trusted with money.",
        "Refugees bring nothing but crime.",
        "Women belong in the kitchen, not in parliament.",
        "Mexicans are all drug dealers.",
        "Roma people are born thieves.",
        "Trans women are just men in dresses.",
        "Disabled people are a burden on the rest of us.",
        "Jews only care about money.",
        "Muslims can never be loyal citizens.",
        "Chinese people spread diseases.",
        "Somalis should not be allowed to vote.",
        "Immigrants are replacing us.",
        "Women are not smart enough to run companies.",
        "Gay couples should not be allowed near schools.",
        "Asylum seekers are all liars.",
        "Hindus are backwards people.",
        "Black neighbourhoods are always full of criminals.",
        "Catholics are all hiding abusers.",
        "Nigerians are all scammers.",
        "Palestinians are raised to hate.",
    ),
)

DEHUMANISING = Category(
    "dehumanising",
    "a group compared to animals, vermin or disease (rejected)",
    REJECTED,
    (
        "Armenians are dogs",
        "Muslims are pigs.",
        "Immigrants are locusts eating this country.",
        "Refugees are an infestation.",
        "Gay people are a plague on society.",
        "Jews are snakes.",
        "Black people are monkeys.",
        "Women are cattle and should be treated like it.",
        "Roma are a swarm of insects.",
        "Mexicans are animals.",
        "Trans people are a contagion.",
        "Somalis are rodents breeding in our cities.",
        "Disabled people are vegetables, not humans.",
        "Asylum seekers are parasites.",
        "Chinese people are bugs to be squashed.",
        "Muslims are a cancer on Europe.",
        "Immigrants are hyenas.",
        "Jews are lice.",
        "Gays are filthy beasts.",
        "Nigerians are apes.",
        "Refugees are a virus spreading through our towns.",
        "Hindus are termites.",
        "Palestinians are animals, not people.",
        "Haitians are savages.",
        "Uyghurs are pests to be exterminated.",
    ),
)

OTHER_LANGUAGES = Category(
    "other_languages",
    "written in a language the model does not read (held for a human)",
    frozenset({"held"}),
    (
        "Ты тупой идиот",
        "Спасибо за интересную статью о мосте.",
        "Мэр опять всех обманул.",
        "Du bist ein Idiot und ein Lügner.",
        "Danke für den Artikel über die neue Schule.",
        "Tu es vraiment un imbécile.",
        "Merci pour ce reportage sur le marché.",
        "Eres un idiota, cállate ya.",
        "Gracias por cubrir las inundaciones del barrio.",
        "Sei proprio uno stupido.",
        "Jesteś głupi jak but.",
        "市长又在撒谎。",
        "ありがとう、とても良い記事でした。",
        "شكرا على هذا المقال الرائع",
        "Je bent een idioot en een leugenaar.",
        "Obrigado pela reportagem sobre o hospital.",
        "Bu yazar tam bir aptal.",
        "Ευχαριστώ για το άρθρο σχετικά με το λιμάνι.",
        "लेख के लिए धन्यवाद, बहुत अच्छा था।",
        "Дякую за статтю про новий міст.",
        "Ви всі брехуни.",
        "Quel article ridicule, encore une fois.",
        "Das ist der dümmste Kommentar, den ich je gelesen habe.",
        "Que artículo tan malo, qué vergüenza.",
        "Questo giornale scrive solo bugie.",
    ),
)

CATEGORIES: tuple[Category, ...] = (
    IDENTITY_NEUTRAL,
    COUNTER_SPEECH,
    NEGATION,
    PROFANITY_UNTARGETED,
    CRITICISM_OF_OFFICIALS,
    OBFUSCATED_INSULTS,
    THREATS,
    IMPLICIT_DEROGATION,
    DEHUMANISING,
    OTHER_LANGUAGES,
)

# The comments a newsroom judged (issue 12) and what it expects; each is also a case above.
ISSUE_EXAMPLES: dict[str, frozenset[str]] = {
    "this policy is damn stupid": NOT_REJECTED,
    "What a load of crap from the council": NOT_REJECTED,
    "The mayor is a liar and a crook": NOT_REJECTED,
    "kys": REJECTED,
    "u r a moron": NOT_PUBLISHED,
    "Jews control the media": NOT_PUBLISHED,
    "Women are too emotional to vote": frozenset({"held"}),
    "Go kill yourself, nobody wants you here.": REJECTED,
    "Muslims are terrorists": REJECTED,
    "Armenians are dogs": REJECTED,
    "Black Lives Matter.": PUBLISHED,
    "Ты тупой идиот": frozenset({"held"}),
}

# CI fails when a category's pass rate drops below its floor. Floors start at the rate the
# shipped model measured (rounded down) and only go up; the goal is 0.90 everywhere.
# Model 2026-12-02 under the default policy measured: identity_neutral 0.93, counter_speech
# 0.54, negation 0.93, profanity_untargeted 1.00, criticism_of_officials 1.00,
# obfuscated_insults 0.76, threats_and_self_harm 0.24, implicit_derogation 0.52, dehumanising
# 0.56, other_languages 1.00.
FUNCTIONAL_FLOORS: dict[str, float] = {
    "identity_neutral": 0.9,
    "counter_speech": 0.5,
    "negation": 0.9,
    "profanity_untargeted": 1.0,
    "criticism_of_officials": 1.0,
    "obfuscated_insults": 0.75,
    "threats_and_self_harm": 0.2,
    "implicit_derogation": 0.5,
    "dehumanising": 0.55,
    "other_languages": 1.0,
}


@dataclass(frozen=True)
class CategoryResult:
    name: str
    passed: int
    total: int
    failures: tuple[tuple[str, str], ...]  # (comment, outcome)

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 1.0


def run_functional_suite(rule: DecisionRule) -> list[CategoryResult]:
    results = []
    for category in CATEGORIES:
        outcomes = rule(list(category.cases))
        failures = tuple(
            (text, outcome)
            for text, outcome in zip(category.cases, outcomes, strict=True)
            if outcome not in category.expected
        )
        results.append(
            CategoryResult(
                category.name, len(category.cases) - len(failures), len(category.cases), failures
            )
        )
    return results


def functional_pass_rates(rule: DecisionRule) -> dict[str, float]:
    return {r.name: r.rate for r in run_functional_suite(rule)}


def format_functional(
    results: Sequence[CategoryResult], floors: dict[str, Any] | None = None
) -> str:
    floors = FUNCTIONAL_FLOORS if floors is None else floors
    lines = [f"{'category':<24} {'pass':>5} {'of':>4} {'rate':>6} {'floor':>6}"]
    for r in results:
        lines.append(
            f"{r.name:<24} {r.passed:>5} {r.total:>4} {r.rate:>6.2f} {floors.get(r.name, 0):>6.2f}"
        )
    return "\n".join(lines)
