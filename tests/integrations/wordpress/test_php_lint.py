"""`php -l` over every PHP file of the plugin (and the tests' helper): a syntax error in any
of them would take the whole WordPress site down, not just the plugin."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integrations.wordpress.conftest import HELPER, PLUGIN

PHP_FILES = [*sorted(PLUGIN.rglob("*.php")), HELPER]


def test_the_plugin_has_php_files() -> None:
    names = {path.relative_to(PLUGIN).as_posix() for path in PLUGIN.rglob("*.php")}
    assert {"comment-moderation.php", "uninstall.php"} <= names


@pytest.mark.parametrize("path", PHP_FILES, ids=lambda path: path.name)
def test_php_lint(path: Path) -> None:
    if shutil.which("php") is None:
        pytest.fail("php is needed (Debian: apt-get install php-cli; make test installs it)")
    done = subprocess.run(["php", "-l", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
