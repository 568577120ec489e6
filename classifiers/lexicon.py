"""Word lists used by normalisation and by the weak ``profanity`` label.

These are not block lists: the model's scores come from learned weights. The lists only let the
normaliser repair masked or stretched spellings (``f**k``, ``shiiiit``) to a known word, and
define which words count as obscene for the profanity label, since none of the human-labelled
data sets has a profanity column.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Obscene words: the profanity label is "contains one of these after normalisation".
PROFANE_WORDS: frozenset[str] = _words(
    """
    fuck fucks fucked fucker fuckers fucking fuckin fuckn motherfucker motherfuckers
    motherfucking mf fck fk fuk fuking stfu wtf gtfo
    shit shits shitty shitting bullshit shithead shitheads
    bitch bitches bitchy bitchass
    cunt cunts twat twats
    dick dicks dickhead dickheads cock cocks cocksucker
    pussy pussies
    ass asses asshole assholes arse arsehole jackass dumbass
    bastard bastards
    whore whores hoe hoes slut sluts thot thots
    wanker wankers bollocks tits titties
    piss pissed damn goddamn crap
    """
)

# Insults and slurs the normaliser should recognise through masks and stretched letters.
# (They are features like any other word; listing them here only helps spelling repair.)
INSULT_WORDS: frozenset[str] = _words(
    """
    idiot idiots idiotic stupid moron morons moronic dumb dumber imbecile cretin loser losers
    retard retards retarded scum trash pathetic clown clowns ugly fat freak freaks
    nigga niggas nigger niggers fag fags faggot faggots dyke tranny kike spic chink wetback
    """
)

REPAIR_WORDS: frozenset[str] = PROFANE_WORDS | INSULT_WORDS

# Identity terms (normalised forms). With ``mask_identities`` the vectoriser maps all of them
# to one placeholder token, so no single identity can acquire its own toxic weight from the
# data sets where it mostly appears in hateful rows; what is said about the group must carry
# the score. Slurs are deliberately *not* here.
IDENTITY_TERMS: frozenset[str] = _words(
    """
    gay gays lesbian lesbians bisexual bi transgender trans transgendered queer queers
    homosexual homosexuals heterosexual straight lgbt lgbtq lgbtqia nonbinary
    muslim muslims islam islamic christian christians christianity jew jews jewish judaism
    hindu hindus sikh sikhs buddhist buddhists catholic catholics protestant protestants
    mormon mormons atheist atheists
    black blacks white whites asian asians latino latinos latina latinas latinx hispanic
    hispanics african africans american americans mexican mexicans arab arabs chinese indian
    indians pakistani pakistanis nigerian nigerians somali somalis syrian syrians
    armenian armenians azerbaijani azerbaijanis kurd kurds kurdish roma romani ukrainian
    ukrainians palestinian palestinians israeli israelis iranian iranians iraqi iraqis
    afghan afghans turkish turks russian russians polish european europeans
    immigrant immigrants migrant migrants refugee refugees
    woman women female females girl girls lady ladies man men male males feminist feminists
    disabled deaf blind elderly
    """
)
IDENTITY_PLACEHOLDER = "xxidentity"

# Concepts a comment's words stand for, whatever the word: each word of a concept adds the
# concept as one more token ("Armenians are dogs" also reads "xxidentity are xxdehumanising"),
# so that what the training sentences say with one word of it carries over to the others.
# These are the anchors; classifiers.word_vectors adds the words whose distilled vectors lie
# close to them (so "hyenas" or "murdering" need not be listed). Like the lists above, not a
# block list: the concept token's weight comes from training like any other feature's.
CONCEPT_ANCHORS: dict[str, frozenset[str]] = {
    # Animals, vermin and pests, the nouns of dehumanising comparisons.
    "dehumanising": _words(
        """
        vermin rats rat cockroaches cockroach roaches parasites parasite animals animal beasts
        beast apes ape savages savage insects insect pigs pig swine dogs dog lice maggots
        leeches rodents rodent monkeys monkey snakes snake worms subhuman subhumans locusts
        cattle hyenas pests pest termites
        """
    ),
    # Killing and wounding, the verbs of threats and of incitement to self-harm.
    "violence": _words(
        """
        kill killed killing kills murder murdered murdering shoot shot shooting stab stabbed
        stabbing slit strangle strangled hang hanged burn torch beat bury choke behead
        beheaded lynch lynched slaughter slaughtered execute executed butcher butchered gut
        gutted die
        """
    ),
}
