"""One typed settings object for the API, the workers and the CLI, read from the environment."""

from functools import cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str) -> AliasChoices:
    # Accept the bare conventional name (DATABASE_URL) and the prefixed one.
    return AliasChoices(name, f"MODERATION_{name}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MODERATION_", extra="ignore")

    # Where embedded defaults keep their files (SQLite store, SQLite broker, logs).
    data_dir: Path = Field(default=Path("var"), validation_alias=_env("DATA_DIR"))
    database_url_override: str | None = Field(default=None, validation_alias=_env("DATABASE_URL"))
    broker_url_override: str | None = Field(default=None, validation_alias=_env("BROKER_URL"))
    redis_url: str | None = Field(default=None, validation_alias=_env("REDIS_URL"))

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"

    # Limits a site's comment must respect; documented in the README.
    max_body_chars: int = 5000
    max_author_chars: int = 100
    max_article_id_chars: int = 200
    max_idempotency_key_chars: int = 200
    max_author_id_chars: int = 200
    max_request_bytes: int = 64 * 1024
    max_header_bytes: int = 16 * 1024

    # The HTTP server (service/http_server.py). A client has header_timeout to send its whole
    # request head and body_timeout more for the body, or gets 408; an idle keep-alive
    # connection closes after keep_alive; past max_concurrency connections (or requests in
    # progress) new requests get 503 at once. Behind a reverse proxy, set the proxy's own
    # read timeouts no longer than these.
    http_header_timeout_seconds: float = Field(default=10.0, gt=0)
    http_body_timeout_seconds: float = Field(default=20.0, gt=0)
    http_keep_alive_seconds: int = Field(default=5, ge=1)
    http_max_concurrency: int = Field(default=1000, ge=1)

    # Default policy for new sites: approve when every score is below approve_below,
    # reject when toxicity reaches reject_at, hold in between.
    default_approve_below: float = 0.5
    default_reject_at: float = 0.9

    # The broker queue the nudges travel on; separate names keep several stacks (or test
    # runs) on one Redis apart.
    scoring_queue: str = "scoring"
    # Webhook deliveries travel on their own queue to their own worker, so a site's slow or
    # hanging endpoint never holds up scoring. Unset: "<scoring_queue>-webhooks".
    webhook_queue_override: str | None = Field(default=None, validation_alias=_env("WEBHOOK_QUEUE"))

    # Scoring: how many comments one claim takes, and how long a claim lasts before
    # another worker may take it over (a killed worker's comments come back after this).
    batch_size: int = 256
    claim_lease_seconds: int = 60
    # Rounds one worker process runs at once while a backlog lasts (PostgreSQL only; SQLite
    # has one writer). A round mostly waits on the store, so two overlap those waits with
    # scoring; more mostly queue up inside PostgreSQL on a small machine (docs/performance.md).
    scoring_rounds_in_flight: int = Field(default=2, ge=1, le=8)
    # A worker starts a round at most this often when nudged (a backlog still runs round
    # after round). Under a steady stream every nudge would otherwise start a round for the
    # few comments of one ingest batch; waiting for company scores more per round for at most
    # this much decision latency, well inside the 250 ms the decision target allows.
    # Capped well below the nudge flag's 1 s expiry (service/queue.py), past which a waiting
    # round would let duplicate nudges through.
    scoring_round_interval_ms: int = Field(default=25, ge=0, le=250)
    # The beat sweep re-sends comments still pending after this long.
    sweep_interval_seconds: float = 10.0
    sweep_min_age_seconds: float = 5.0

    # Submission rate limits ("N/second|minute|hour"). A site's server sends all its readers'
    # comments from few addresses, so the per-client limit is the looser one for servers and
    # the one that stops a single browser or script flooding a site's form.
    rate_limit_per_site: str = "200/second"
    rate_limit_per_client: str = "50/second"
    # The reader form (embed.js) has buckets of its own, apart from the keyed API's: readers
    # posting from a few addresses cannot use up the site's server's quota. A person writes a
    # comment in minutes, so the per-address form limit is far below the API's.
    form_rate_limit_per_site: str = "30/second"
    form_rate_limit_per_client: str = "5/minute"
    # Moderator sign-in: each try is an argon2 hash (64 MiB), reachable without credentials.
    # Failed tries per username (a success clears them), and every try per client address,
    # counted before the hash is computed. "N per M minutes" or "N/second|minute|hour".
    login_failures_per_username: str = "10 per 15 minutes"
    login_attempts_per_client: str = "30 per 15 minutes"
    # Perspective-compatible analyze/suggestscore calls and Coral moderation calls per site,
    # unless the site's policy sets its own (Perspective's own default was 1 per second).
    analyze_rate_limit: str = "200/second"
    # Client addresses are taken from X-Forwarded-For only when the direct peer is one of these.
    trusted_proxies: list[str] = ["127.0.0.1", "::1"]

    # The classifier file the workers load; unset means the model shipped in classifiers/.
    model_path: Path | None = None
    # How often a worker asks the store which model version is live (one indexed query on a
    # tiny table): a promote or rollback reaches every worker within this, without a restart.
    model_check_seconds: float = 2.0

    # A worker serves its Prometheus metrics on this port when set (compose sets 9100).
    worker_metrics_port: int | None = None

    # Workers and beat record a heartbeat this often (service/heartbeat.py); /readyz and
    # `moderation status` count a process alive if its last one is at most
    # `alive_within_seconds` old: several missed beats, not one slow store write.
    heartbeat_interval_seconds: float = 5.0
    alive_within_seconds: float = 30.0

    page_size_default: int = 20
    page_size_max: int = 100

    @property
    def database_url(self) -> str:
        if self.database_url_override:
            return self.database_url_override
        return f"sqlite:///{(self.data_dir / 'moderation.db').resolve()}"

    @property
    def broker_url(self) -> str:
        if self.broker_url_override:
            return self.broker_url_override
        if self.redis_url:
            return self.redis_url
        from service.embedded_broker import broker_url

        return broker_url(str((self.data_dir / "broker.sqlite").resolve()))

    @property
    def webhook_queue(self) -> str:
        return self.webhook_queue_override or f"{self.scoring_queue}-webhooks"

    @property
    def uses_embedded_broker(self) -> bool:
        from service.embedded_broker import SCHEME

        return self.broker_url.startswith(f"{SCHEME}+")


@cache
def get_settings() -> Settings:
    return Settings()
