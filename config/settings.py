"""One typed settings object, read from the environment or `.env` when the process starts."""

from __future__ import annotations

from datetime import time
from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that ship in examples and demos; a production start refuses every one of them.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "dev-secret-change-me", "secret", "test"})

DEFAULT_SQLITE_PATH = Path("var") / "dispatch.sqlite3"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class SmsProvider(StrEnum):
    console = "console"
    twilio = "twilio"


class LogFormat(StrEnum):
    json = "json"
    text = "text"


class InsecureConfiguration(RuntimeError):
    """Raised when a production start would run with a placeholder secret."""


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Environment = Environment.development
    database_url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # PostgreSQL only (SQLite ignores them; migrations are exempt): a stalled database answers 503 in
    # seconds. Opening a connection, waiting for a free pooled one, and one statement (0: no limit).
    db_connect_timeout_s: int = Field(3, ge=2, le=60)
    db_pool_timeout_s: float = Field(3.0, gt=0, le=60)
    db_statement_timeout_ms: int = Field(10_000, ge=0)
    secret_key: SecretStr = SecretStr("dev-secret-change-me")

    sms_provider: SmsProvider = SmsProvider.console
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_from_number: str = ""
    # Only tests and simulations point this elsewhere (the local fake Twilio).
    twilio_api_base_url: str = "https://api.twilio.com"
    # The URL Twilio calls us on; webhook signatures are computed over it.
    public_base_url: str = "http://127.0.0.1:8000"

    timezone: str = "Asia/Tokyo"
    programme_code: str = "inba"
    offer_timeout_red_orange_s: int = Field(180, ge=10, le=3600)
    offer_timeout_other_s: int = Field(300, ge=10, le=3600)
    offers_before_coordinator_alert: int = Field(3, ge=1, le=50)
    triage_claim_idle_s: int = Field(600, ge=30, le=86400)
    # At most this many SMS to one number in any hour (a bug must not flood a phone); more wait their turn.
    # A physician answers an offer or lets it lapse (3-5 min) before the next: even a surge night's
    # offers, notices and links stay well below 30. The coordinator's alerts are never capped.
    sms_per_number_per_hour: int = Field(30, ge=1, le=1000)
    # 申し送り: reports are made at this local time; unacknowledged ones are flagged at the deadline.
    handoff_time: time = time(8, 0)
    handoff_ack_deadline: time = time(12, 0)

    session_ttl_s: int = Field(12 * 3600, ge=60)
    login_max_failures: int = Field(5, ge=1)
    login_failure_window_s: int = Field(900, ge=1)
    # argon2id cost; tests lower it, production keeps the library's memory-hard defaults.
    argon2_memory_kib: int = Field(65536, ge=8)
    argon2_time_cost: int = Field(3, ge=1)

    # Lets simulations move the server's clock. A production configuration refuses it.
    simulation_mode: bool = False

    # One JSON object per log line, or readable text; unset: json in production, text otherwise.
    log_format: LogFormat | None = None
    # Where every process writes its Prometheus figures for the API's /metrics to add up (multi-process
    # mode); share it between the api, worker and cron containers. Unset: `dispatch serve` uses a private one.
    metrics_dir: Path | None = None

    # The largest request body of each kind, in bytes, refused with 413 before it is read: JSON for the API
    # (10 000 characters of a visit outcome, even sent \u-escaped, fit), the console's form posts, and Twilio's
    # webhooks (an SMS is at most 1 600 characters).
    max_json_body_bytes: int = Field(128 * 1024, ge=1024, le=16 * 1024 * 1024)
    max_form_body_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)
    max_webhook_body_bytes: int = Field(16 * 1024, ge=1024, le=1024 * 1024)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def webhook_auth_token(self) -> str:
        """The secret inbound webhooks are signed with: Twilio's auth token, or the secret key in the demo."""
        token = self.twilio_auth_token.get_secret_value()
        return token or self.secret_key.get_secret_value()

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.production

    @property
    def resolved_log_format(self) -> LogFormat:
        """LOG_FORMAT when set, else json in production and text otherwise."""
        if self.log_format is not None:
            return self.log_format
        return LogFormat.json if self.is_production else LogFormat.text

    @property
    def phone_simulator_enabled(self) -> bool:
        """The demo's phone simulator exists only with the console SMS adapter, never in production."""
        return self.sms_provider is SmsProvider.console and not self.is_production

    def problems_for_production(self) -> list[str]:
        """Say, in words, every reason this configuration must not serve real patients."""
        problems: list[str] = []
        if not self.is_production:
            return problems
        secret = self.secret_key.get_secret_value()
        if secret in PLACEHOLDER_SECRETS or len(secret) < 32:
            problems.append("SECRET_KEY is a placeholder or shorter than 32 characters")
        if self.sms_provider is SmsProvider.twilio:
            if self.twilio_auth_token.get_secret_value() in PLACEHOLDER_SECRETS:
                problems.append("TWILIO_AUTH_TOKEN is empty or a placeholder")
            if not self.twilio_account_sid:
                problems.append("TWILIO_ACCOUNT_SID is empty")
        else:
            problems.append("SMS_PROVIDER must be twilio in production (console sends nothing)")
        if self.simulation_mode:
            problems.append("SIMULATION_MODE lets a client move the clock and is refused in production")
        if self.database_url.startswith("sqlite"):
            problems.append("DATABASE_URL points at SQLite; production needs PostgreSQL")
        if not self.public_base_url.startswith("https://"):
            problems.append("PUBLIC_BASE_URL must be https in production (webhook signatures use it)")
        return problems

    def check_can_start(self) -> None:
        """Refuse to start a production process with an unsafe configuration."""
        problems = self.problems_for_production()
        if problems:
            raise InsecureConfiguration("refusing to start in production: " + "; ".join(problems))


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment; called at start-up, never at import."""
    return Settings(**overrides)  # type: ignore[arg-type]
