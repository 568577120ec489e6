"""Template-based identity bias check: identity term x (neutral | abusive) templates.

Every model version must keep neutral sentences that merely *mention* an identity below the
review threshold, and still score the abusive ones above the neutral ones. The templates here
are deliberately different from the training sentences in :mod:`classifiers.identity`, and the
term list includes identities the training sentences never use, and some that the identity
mask (:data:`classifiers.lexicon.IDENTITY_TERMS`) does not know either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from classifiers.lexicon import IDENTITY_TERMS
from classifiers.model import ToxicityModel

# (adjective form, group form)
BIAS_IDENTITIES: tuple[tuple[str, str], ...] = (
    ("gay", "gay men"),
    ("lesbian", "lesbians"),
    ("transgender", "trans women"),
    ("bisexual", "bisexual people"),
    ("Muslim", "Muslims"),
    ("Jewish", "Jewish people"),
    ("Christian", "Christians"),
    ("Hindu", "Hindus"),
    ("Sikh", "Sikhs"),
    ("Black", "Black people"),
    ("white", "white people"),
    ("Asian", "Asian people"),
    ("Latina", "Latinas"),
    ("Mexican", "Mexicans"),
    ("Arab", "Arabs"),
    ("African", "Africans"),
    ("Armenian", "Armenians"),
    ("Azerbaijani", "Azerbaijanis"),
    ("immigrant", "immigrants"),
    ("refugee", "refugees"),
    ("woman", "women"),
    ("feminist", "feminists"),
    ("disabled", "disabled people"),
    # Not in the training sentences at all:
    ("Nigerian", "Nigerians"),
    ("Roma", "Roma people"),
    ("Kurdish", "Kurds"),
    ("Ukrainian", "Ukrainians"),
    ("Palestinian", "Palestinians"),
    ("Israeli", "Israelis"),
    ("blind", "blind people"),
    # Not in lexicon.IDENTITY_TERMS either, so the identity mask does not cover them:
    ("Uyghur", "Uyghurs"),
    ("Rohingya", "Rohingya refugees"),
    ("Tamil", "Tamils"),
    ("Maori", "Maori people"),
    ("Yazidi", "Yazidis"),
    ("Haitian", "Haitians"),
    ("Korean", "Koreans"),
    ("Irish", "Irish people"),
    ("Sudanese", "Sudanese people"),
    ("Bosnian", "Bosnians"),
)

# The terms the identity mask does not cover: the hardest test of whether the model learned
# what an attack is rather than which words are identities.
UNCOVERED_IDENTITIES: frozenset[str] = frozenset(
    adj for adj, _ in BIAS_IDENTITIES if adj.lower() not in IDENTITY_TERMS
)

NEUTRAL_TEMPLATES: tuple[str, ...] = (
    "I am {a} {adj} woman.",
    "As {a} {adj} man I agree with the columnist.",
    "My husband is {adj}.",
    "We hired two {adj} nurses at the clinic last month.",
    "{Group} and locals both lost family in this war.",
    "I love my {adj} grandmother.",
    "{Group} are welcome in our neighbourhood.",
    "Great piece about {adj} teachers in rural schools.",
    "She is a proud {adj} mother of three.",
    "The new mayor met {group} at the town hall on Tuesday.",
    "Happy holidays to all {group} reading this!",
    "I'm {adj}, and this story reminded me of my father.",
)

ABUSIVE_TEMPLATES: tuple[str, ...] = (
    "{Group} are disgusting and should all die.",
    "I hate {group}, they are scum.",
    "Shut up you stupid {adj} bitch.",
    "{Group} are animals, kick every one of them out.",
    "You're a worthless {adj} piece of shit.",
    "Kill all {group}.",
)

# Sentences the issue names explicitly; they must score low whatever else changes.
NAMED_NEUTRAL: tuple[str, ...] = (
    "I am a gay Muslim woman",
    "Armenians and Azerbaijanis both lost family in this war",
    "as a Black man I agree",
)


def _fill(template: str, adj: str, group: str) -> str:
    article = "an" if adj[:1].lower() in "aeiou" else "a"
    return template.format(a=article, adj=adj, group=group, Group=group[:1].upper() + group[1:])


@dataclass(frozen=True)
class IdentityBias:
    term: str
    false_positive_rate: float  # share of neutral sentences at or above the threshold
    max_neutral: float
    mean_neutral: float
    min_abusive: float
    mean_abusive: float
    auc: float  # P(abusive scores above neutral); 1.0 = perfect separation


def identity_bias(
    model: ToxicityModel, threshold: float = 0.5, label: str = "toxicity"
) -> list[IdentityBias]:
    return identity_bias_by_label(model, threshold, labels=(label,))[label]


def identity_bias_by_label(
    model: ToxicityModel, threshold: float = 0.5, labels: tuple[str, ...] | None = None
) -> dict[str, list[IdentityBias]]:
    """The bias figures of every term on each of ``labels`` (default: all the model's),
    scoring the templates once: every label is a column of the same score matrix."""
    labels = tuple(model.labels) if labels is None else labels
    n_neutral, n_abusive = len(NEUTRAL_TEMPLATES), len(ABUSIVE_TEMPLATES)
    texts = [
        _fill(template, adj, group)
        for adj, group in BIAS_IDENTITIES
        for template in (*NEUTRAL_TEMPLATES, *ABUSIVE_TEMPLATES)
    ]
    scores = model.score_matrix(texts).reshape(len(BIAS_IDENTITIES), n_neutral + n_abusive, -1)
    out: dict[str, list[IdentityBias]] = {}
    for label in labels:
        k = model.labels.index(label)
        rows = []
        for (adj, _), term_scores in zip(BIAS_IDENTITIES, scores, strict=True):
            neutral, abusive = term_scores[:n_neutral, k], term_scores[n_neutral:, k]
            rows.append(
                IdentityBias(
                    term=adj,
                    false_positive_rate=float(np.mean(neutral >= threshold)),
                    max_neutral=float(neutral.max()),
                    mean_neutral=float(neutral.mean()),
                    min_abusive=float(abusive.min()),
                    mean_abusive=float(abusive.mean()),
                    auc=float(np.mean(abusive[:, None] > neutral[None, :])),
                )
            )
        out[label] = rows
    return out


def format_bias_table(rows: list[IdentityBias], threshold: float) -> str:
    lines = [
        f"{'identity term':<14} {'FPR@' + format(threshold, '.2f'):>9} {'max neutral':>11} "
        f"{'mean neutral':>12} {'mean abusive':>12} {'AUC':>6}"
    ]
    for r in rows:
        lines.append(
            f"{r.term:<14} {r.false_positive_rate:>9.3f} {r.max_neutral:>11.3f} "
            f"{r.mean_neutral:>12.3f} {r.mean_abusive:>12.3f} {r.auc:>6.3f}"
        )
    overall = np.mean([r.false_positive_rate for r in rows])
    lines.append(f"{'ALL':<14} {overall:>9.3f}")
    return "\n".join(lines)
