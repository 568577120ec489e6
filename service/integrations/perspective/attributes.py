"""Perspective's attribute names and the model's labels: the one table between them.

The endpoint answers whatever attributes the loaded model has: a name maps to the first of
its labels that `model.labels` holds. IDENTITY_ATTACK is read from `hate` while a model still
calls it that (the models before issue 12); SEVERE_TOXICITY and THREAT appear as soon as a
model with those labels is loaded.
"""

from collections.abc import Sequence

ATTRIBUTE_LABELS: dict[str, tuple[str, ...]] = {
    "TOXICITY": ("toxicity",),
    "SEVERE_TOXICITY": ("severe_toxicity",),
    "IDENTITY_ATTACK": ("identity_attack", "hate"),
    "INSULT": ("insult",),
    "PROFANITY": ("profanity",),
    "THREAT": ("threat",),
}
# Perspective served the same models under these names while they were new.
EXPERIMENTAL = "_EXPERIMENTAL"


def known_attribute(name: str) -> str | None:
    """Perspective's canonical name for a requested one (`TOXICITY_EXPERIMENTAL` is
    TOXICITY), or None when Perspective's production set has no such attribute."""
    canonical = name.strip().upper()
    if canonical.endswith(EXPERIMENTAL):
        canonical = canonical[: -len(EXPERIMENTAL)]
    return canonical if canonical in ATTRIBUTE_LABELS else None


def label_for(attribute: str, labels: Sequence[str]) -> str | None:
    """The model label that answers a canonical attribute, or None if this model has none."""
    return next((label for label in ATTRIBUTE_LABELS[attribute] if label in labels), None)


def feedback_label(attribute: str) -> str:
    """The label a suggested score is stored under: the newest name, whatever model is
    loaded, so that feedback stays one vocabulary for the learning loop."""
    return ATTRIBUTE_LABELS[attribute][0]
