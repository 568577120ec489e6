"""docker-compose.yml is valid, shaped as ops expect, and its commands really run here.

No Docker engine runs on this machine, so the file is checked with Debian's docker-compose
(`config` needs no engine) and each service's command is run against the local PostgreSQL
and Redis instead of the containers."""

import subprocess
from pathlib import Path

import httpx
import yaml

from tests.conftest import ROOT, free_port, start_process, wait_until

COMPOSE = ROOT / "docker-compose.yml"


def compose_config() -> dict:
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


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
    finally:
        for process in (api, worker, beat):
            process.stop()
