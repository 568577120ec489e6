"""The README's paths into the repository name files that exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository's own folders: a path under one of them, in backticks, is one a reader follows.
FOLDERS = (
    "bench",
    "classifiers",
    "deploy",
    "docs",
    "integrations",
    "scripts",
    "service",
    "tests",
    "workers",
)
_PATH = re.compile("`((?:" + "|".join(FOLDERS) + r")/[^`\s]*)`")


def test_every_path_the_readme_names_exists() -> None:
    named = sorted(set(_PATH.findall((ROOT / "README.md").read_text(encoding="utf-8"))))
    assert len(named) > 10  # the pattern still finds them
    assert [path for path in named if not (ROOT / path).exists()] == []
