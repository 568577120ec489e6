"""Comment toxicity classifier: a small scikit-learn library with no web, database or queue code.

Importing this package loads no model; call :func:`load_default_model` (cached) when needed.
"""

from classifiers.model import LABELS, Contribution, ToxicityModel
from classifiers.persist import UntrustedModelError, load_default_model, load_model, save_model

__all__ = [
    "LABELS",
    "Contribution",
    "ToxicityModel",
    "UntrustedModelError",
    "load_default_model",
    "load_model",
    "save_model",
]
