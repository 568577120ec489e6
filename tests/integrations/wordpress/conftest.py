"""A real WordPress for the plugin's tests: Debian's `wordpress` package copied into a
temporary folder, its own database on the machine's MariaDB, served by PHP's built-in web
server, installed once per test session with WordPress's own installer, the plugin active.

`make test` installs the packages and starts MariaDB (scripts/ensure-services.sh); these
fixtures fail, never skip, when any of it is missing.
"""

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from service import db, queue
from service.db import session_scope
from service.moderation.settings import get_moderation_settings
from service.moderation.site_admin import set_webhook
from tests.conftest import (
    ROOT,
    Process,
    free_port,
    make_moderator,
    make_site,
    reset_caches,
    service_env,
    start_api,
    start_process,
    start_webhook_worker,
    start_worker,
    wait_until,
)

DEBIAN_WORDPRESS = Path("/usr/share/wordpress")
PLUGIN = ROOT / "integrations" / "wordpress" / "comment-moderation"
HELPER = Path(__file__).with_name("wp_helper.php")
MARIADB = {"host": "127.0.0.1", "port": "3306", "user": "root"}
MARIADB_CLIENT = ["mariadb", "-h", MARIADB["host"], "-P", MARIADB["port"], "-u", MARIADB["user"]]
ADMIN_USER = "editor-in-chief"
ADMIN_PASSWORD = "harbour ferry 4 crossings"
# The plugin may wait this long for a decision in the tests (1.5 s by default): on a busy
# two-core machine a first scoring round can take longer than a real site would wait.
TEST_TIMEOUT_SECONDS = 10.0

# A test-only must-use plugin: WordPress's flood check refuses a second comment from one
# address within 15 s (every test reader is 127.0.0.1), and this machine sends no mail.
TEST_SITE_PLUGIN = """<?php
add_filter( 'comment_flood_filter', '__return_false' );
add_filter( 'pre_wp_mail', '__return_true' );
"""

WP_CONFIG = """<?php
define( 'DB_NAME', '{db}' );
define( 'DB_USER', '{user}' );
define( 'DB_PASSWORD', '' );
define( 'DB_HOST', '{host}:{port}' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
define( 'WP_HOME', '{url}' );
define( 'WP_SITEURL', '{url}' );
define( 'WP_CONTENT_DIR', __DIR__ . '/wp-content' );
define( 'AUTH_KEY', '{salt}a' );
define( 'SECURE_AUTH_KEY', '{salt}b' );
define( 'LOGGED_IN_KEY', '{salt}c' );
define( 'NONCE_KEY', '{salt}d' );
define( 'AUTH_SALT', '{salt}e' );
define( 'SECURE_AUTH_SALT', '{salt}f' );
define( 'LOGGED_IN_SALT', '{salt}g' );
define( 'NONCE_SALT', '{salt}h' );
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_LOG', __DIR__ . '/debug.log' );
define( 'WP_DEBUG_DISPLAY', false );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_AUTO_UPDATE_CORE', false );
// No network here but this machine: WordPress's calls home fail at once instead of hanging.
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
$table_prefix = 'wp_';
if ( ! defined( 'ABSPATH' ) ) {{
    define( 'ABSPATH', __DIR__ . '/' );
}}
require_once ABSPATH . 'wp-settings.php';
"""


def mariadb(sql: str) -> str:
    try:
        done = subprocess.run(
            [*MARIADB_CLIENT, "-N", "-e", sql],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except FileNotFoundError:
        pytest.fail("the mariadb client is needed (Debian: apt-get install mariadb-client)")
    if done.returncode != 0:
        pytest.fail(f"MariaDB at 127.0.0.1:3306 (root, no password) is needed: {done.stderr}")
    return done.stdout


@dataclass
class WordPress:
    root: Path
    url: str
    post_id: int
    post_url: str
    webhook_url: str
    server: Process

    def php(self, command: str, args: dict[str, Any] | None = None) -> Any:
        """Run a wp_helper.php command inside this WordPress; its JSON answer."""
        done = subprocess.run(
            ["php", str(HELPER), str(self.root), self.url, command, json.dumps(args or {})],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise AssertionError(f"wp_helper {command} failed: {done.stdout}\n{done.stderr}")
        return json.loads(done.stdout)

    def comment(self, comment_id: int) -> dict[str, Any]:
        view = self.php("comment", {"id": comment_id})
        assert view is not None, f"no comment {comment_id} in WordPress"
        return dict(view)

    def find(self, text: str) -> list[dict[str, Any]]:
        return list(self.php("find", {"text": text}))

    def debug_log(self) -> str:
        path = self.root / "debug.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture(scope="session")
def wordpress(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WordPress]:
    for needed in ("php", "mariadb"):
        if shutil.which(needed) is None:
            pytest.fail(f"{needed} is needed for the WordPress tests (make test installs it)")
    if not (DEBIAN_WORDPRESS / "wp-settings.php").exists():
        pytest.fail("Debian's wordpress package is needed (apt-get install wordpress)")
    if not (DEBIAN_WORDPRESS / "wp-content/themes/twentytwentyone").exists():
        pytest.fail("the twentytwentyone theme is needed (wordpress-theme-twentytwentyone)")

    database = f"wp_test_{uuid.uuid4().hex[:8]}"
    mariadb(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
    base = tmp_path_factory.mktemp("wordpress")
    root = base / "site"
    # A copy, not the package's folder: Debian's wp-config.php picks a config from /etc by
    # host name, and every test run needs its own.
    shutil.copytree(DEBIAN_WORDPRESS, root, symlinks=True)
    shutil.copytree(PLUGIN, root / "wp-content/plugins/comment-moderation")
    (root / "wp-content/mu-plugins").mkdir(parents=True, exist_ok=True)
    (root / "wp-content/mu-plugins/test-site.php").write_text(TEST_SITE_PLUGIN)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    (root / "wp-config.php").write_text(
        WP_CONFIG.format(db=database, url=url, salt=uuid.uuid4().hex, **MARIADB)
    )
    server = start_process(
        ["php", "-S", f"127.0.0.1:{port}", "-t", str(root)],
        # Several workers: a comment's request waits on the service while the service's
        # webhook and the browser's other requests arrive.
        {"PHP_CLI_SERVER_WORKERS": "4"},
        base / "php-server.log",
    )
    try:
        site = WordPress(root, url, 0, "", "", server)
        installed = site.php(
            "install",
            {"user": ADMIN_USER, "password": ADMIN_PASSWORD, "email": "desk@gazette.test"},
        )
        site.post_id = int(installed["post_id"])
        site.post_url = installed["post_url"]
        site.webhook_url = installed["webhook"]

        def answers() -> bool:
            try:
                return httpx.get(site.post_url, timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(answers, timeout=60, what="WordPress to serve the post", process=server)
        yield site
    finally:
        server.stop()
        mariadb(f"DROP DATABASE IF EXISTS `{database}`")


@dataclass
class ServiceStack:
    """The service for a module of WordPress tests: one API and its workers, started once
    (each start costs tens of seconds on a busy machine). Tests make a site each, so they
    need no empty tables."""

    env: dict[str, str]
    port: int
    folder: Path
    api: Process | None = None
    worker: Process | None = None
    webhook_worker: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_api(self, log_name: str = "api.log") -> None:
        if self.api is None or self.api.popen.poll() is not None:
            self.api = start_api(self.env, self.folder / log_name, self.port)

    def stop_api(self) -> None:
        if self.api is not None:
            self.api.stop()


@pytest.fixture(scope="module")
def service(
    pg_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceStack]:
    folder = tmp_path_factory.mktemp("service")
    env = service_env(pg_url, redis_url, folder)
    # Its webhooks go to a WordPress on 127.0.0.1, which the webhook guard refuses unless
    # told that loopback is this deployment's own.
    env["MODERATION_WEBHOOK_ALLOWED_PRIVATE_NETWORKS"] = '["127.0.0.0/8"]'
    stack = ServiceStack(env=env, port=free_port(), folder=folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("BROKER_URL", raising=False)
        for key, value in env.items():
            patch.setenv(key, value)  # this process reads the same store
        reset_caches()
        get_moderation_settings.cache_clear()
        queue.clear_nudge_flag()  # one left by an earlier test would swallow the first nudge
        try:
            stack.worker = start_worker(env, folder / "worker.log")
            stack.webhook_worker = start_webhook_worker(env, folder / "webhooks.log")
            stack.start_api()
            yield stack
        finally:
            stack.stop_api()
            for process in (stack.worker, stack.webhook_worker):
                if process is not None:
                    process.stop()
            db.get_engine().dispose()
            reset_caches()
            get_moderation_settings.cache_clear()


@pytest.fixture
def api(service: ServiceStack) -> str:
    """The service's URL, its API answering (a test that stopped it may have failed)."""
    service.start_api()
    return service.url


@dataclass
class WiredSite:
    """A site on the service, and the WordPress plugin set up for it."""

    site_id: str
    name: str
    key: str
    moderator: str
    token: str
    webhook_secret: str


def wire(
    wordpress: WordPress, api: str, *, hold_words: list[str] | None = None, **plugin: Any
) -> WiredSite:
    with session_scope() as session:
        site, key = make_site(session)
        site.hold_words = hold_words or []
        secret = set_webhook(
            session=session, site=site, actor="admin:test", url=wordpress.webhook_url
        )
        session.commit()
        moderator, token = make_moderator(session, sites=[site])
        wired = WiredSite(site.id, site.name, key, moderator, token, secret or "")
    settings = {
        "service_url": api,
        "site_key": key,
        "moderator_token": token,
        "webhook_secret": wired.webhook_secret,
        "timeout": TEST_TIMEOUT_SECONDS,
        **plugin,
    }
    wordpress.php("configure", settings)
    return wired
