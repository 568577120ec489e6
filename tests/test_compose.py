"""docker-compose.yml is valid, shaped as ops expect, and its commands really run here.

No Docker engine runs on this machine, so the file is checked with Debian's docker-compose
(`config` needs no engine) and each service's command is run against the local PostgreSQL
and Redis instead of the containers."""

import fnmatch
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import ROOT, free_port, start_process, wait_until

COMPOSE = ROOT / "docker-compose.yml"


# The two values the file demands (no defaults), as an operator's .env would give them.
REQUIRED_ENV = {"POSTGRES_PASSWORD": "pw-from-env", "MODERATION_SESSION_SECRET": "s" * 48}


def _config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ["PATH"], **env},
    )


def compose_config() -> dict:
    result = _config(REQUIRED_ENV)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.mark.parametrize("missing", sorted(REQUIRED_ENV))
def test_compose_refuses_to_start_without_a_password_or_session_secret(missing: str) -> None:
    """Before: PostgreSQL's password defaulted to "moderation" and each API replica made its
    own session secret, so a moderator signed in on one was signed out on the next."""
    result = _config({k: v for k, v in REQUIRED_ENV.items() if k != missing})
    assert result.returncode != 0
    assert f"set {missing}" in result.stderr


def test_only_the_proxy_is_published_and_the_app_is_set_for_it() -> None:
    services = compose_config()["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    assert services["proxy"]["ports"][0]["target"] == 8080
    assert services["proxy"]["volumes"][0].startswith(f"{ROOT / 'deploy' / 'proxy.conf'}:")
    proxy_ip = services["proxy"]["networks"]["default"]["ipv4_address"]
    for name in ("api", "worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert json.loads(env["MODERATION_TRUSTED_PROXIES"]) == [proxy_ip]
        assert env["MODERATION_SECURE_COOKIES"] == "true"
        assert env["MODERATION_SESSION_SECRET"] == REQUIRED_ENV["MODERATION_SESSION_SECRET"]
        assert ":pw-from-env@" in env["DATABASE_URL"]
    worker = services["worker"]
    assert worker["environment"]["MODERATION_WORKER_METRICS_PORT"] == "9100"
    assert "9100" in [str(port) for port in worker["expose"]]
    for name in ("postgres", "redis", "api", "worker", "beat", "proxy"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"


def test_the_build_context_holds_only_what_the_image_copies() -> None:
    """Before there was no .dockerignore: the context carried .venv (~670 MB), var/ and tests."""
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def sent(name: str) -> bool:
        keep = True
        for rule in rules:
            negated = rule.startswith("!")
            if fnmatch.fnmatch(name, rule.lstrip("!")):
                keep = negated
        return keep

    copied = set()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            copied.update(line.split()[1:-1])
    assert copied == {"pyproject.toml", "uv.lock", "README.md", "service", "workers", "classifiers"}
    assert all(sent(name) for name in copied)
    for name in (".venv", ".tools", "var", "tests", ".git", "bench", "test-artifacts"):
        assert not sent(name), name


def test_compose_file_is_valid_and_complete() -> None:
    config = compose_config()
    services = config["services"]
    assert {"api", "worker", "webhook-worker", "beat", "redis", "postgres", "migrate"} <= set(
        services
    )
    for name in ("postgres", "redis", "api", "worker"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    for name in ("api", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["build"]["context"] == str(ROOT)
    images = {services[name].get("image") for name in ("api", "worker", "beat", "migrate")}
    assert len(images) == 1, "one image for every app service"
    assert "pgdata" in config["volumes"]
    assert any(str(v).startswith("pgdata:") for v in services["postgres"]["volumes"])
    assert (ROOT / "Dockerfile").exists()


def _command(service: str) -> list[str]:
    command = compose_config()["services"][service]["command"]
    assert command[0] == "moderation"
    return [str(ROOT / ".venv" / "bin" / "moderation"), *command[1:]]


def test_compose_commands_run_against_real_services(pg_env: dict[str, str], tmp_path: Path) -> None:
    migrate = subprocess.run(
        _command("migrate"),
        env={**pg_env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert migrate.returncode == 0, migrate.stderr

    port = free_port()
    api_command = [part if part != "8000" else str(port) for part in _command("api")]
    api = start_process(api_command, pg_env, tmp_path / "api.log")
    worker = start_process(_command("worker"), pg_env, tmp_path / "worker.log")
    beat = start_process(_command("beat"), pg_env, tmp_path / "beat.log")
    try:

        def api_ready() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(api_ready, timeout=60, what="compose api command", process=api)
        wait_until(
            lambda: " ready." in worker.output(),
            timeout=90,
            what="compose worker command",
            process=worker,
        )
        wait_until(
            lambda: (
                "Sending due task sweep-pending" in beat.output()
                or "beat: Starting" in beat.output()
            ),
            timeout=60,
            what="compose beat command",
            process=beat,
        )
        # The beat's health check is a command of ours; it passes once beat has beaten.
        check = compose_config()["services"]["beat"]["healthcheck"]["test"]
        assert check[:2] == ["CMD", "moderation"]

        def beat_healthy() -> bool:
            result = subprocess.run(
                [str(ROOT / ".venv" / "bin" / "moderation"), *check[2:]],
                env={**pg_env, "PATH": "/usr/bin:/bin"},
                capture_output=True,
                timeout=60,
                cwd=ROOT,
            )
            return result.returncode == 0

        wait_until(beat_healthy, timeout=60, what="the beat health check", process=beat)
    finally:
        for process in (api, worker, beat):
            process.stop()
