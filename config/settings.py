"""One typed settings object, read from the environment or `.env` when the process starts."""

from __future__ import annotations

from datetime import time
from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
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
    # An offer still unanswered this long after its SMS left: the physician is called (unless they asked for
    # SMS only, or the deadline comes first). 0: never call. Frozen on each case with the rest of the policy.
    offer_call_after_s: int = Field(90, ge=0, le=3600)
    # A sent SMS with no delivery report this long: Twilio is asked for its status (a status callback that
    # never came: the API was restarting, the network dropped it; Twilio does not post it again).
    sms_status_check_after_s: int = Field(120, ge=1, le=1800)  # asked within the hour after it left
    # The coordinator's alerts also ring their phone (a short message, no keys to press).
    coordinator_alert_call: bool = False
    # Cross-area backup (広域連携): a case nobody of its own area can take within its area's travel cap is
    # offered to the physicians on call in neighbouring areas within the cap. False: each area on its own.
    cross_area_backup: bool = True
    triage_claim_idle_s: int = Field(600, ge=30, le=86400)
    # At most this many SMS to one number in any hour (a bug must not flood a phone); more wait their turn.
    # A physician answers an offer or lets it lapse (3-5 min) before the next: even a surge night's
    # offers, notices and links stay well below 30. The coordinator's alerts are never capped.
    sms_per_number_per_hour: int = Field(30, ge=1, le=1000)
    # The family told (`dispatch.family`): the delay SMS once the arrival time told is this late without
    # 到着; the operator's task to call the family back once a decided visit waits this long for a physician.
    family_delay_after_min: int = Field(15, ge=1, le=240)
    family_callback_after_min: int = Field(20, ge=1, le=720)
    # 申し送り: reports are made at this local time; unacknowledged ones are flagged at the deadline.
    handoff_time: time = time(8, 0)
    handoff_ack_deadline: time = time(12, 0)
    # Tonight's coverage gaps are alerted to the coordinator from this local time on (once per night).
    gap_alert_time: time = time(15, 0)
    # A reminder SMS goes to each physician this long before each of their shifts (「本日18:00から当番です」).
    shift_reminder_lead_s: int = Field(3 * 3600, ge=900, le=86400)

    session_ttl_s: int = Field(12 * 3600, ge=60)
    # Login throttling (dispatch/auth/throttle.py): failures per (account, address) free before delays of
    # 1 s, 2 s, 4 s … up to the longest; per account, from addresses it has not logged in from lately; and a
    # cap per address over all accounts, high enough for a call centre behind one NAT.
    login_free_failures: int = Field(5, ge=1, le=100)
    login_account_free_failures: int = Field(20, ge=1, le=1000)
    login_max_delay_s: int = Field(900, ge=1, le=86400)
    login_failure_memory_s: int = Field(3600, ge=60, le=7 * 86400)
    login_address_max_failures: int = Field(100, ge=1)
    login_address_window_s: int = Field(900, ge=1, le=86400)
    login_known_address_days: int = Field(30, ge=1, le=365)
    # Proxies whose X-Forwarded-For names the client ("10.0.0.5,10.0.0.6", CIDR blocks, or "*"); empty: none
    # is trusted and every address is the peer's own.
    forwarded_allow_ips: str = ""
    # argon2id cost; tests lower it, production keeps the library's memory-hard defaults.
    argon2_memory_kib: int = Field(65536, ge=8)
    argon2_time_cost: int = Field(3, ge=1)
    # A second factor (TOTP) at login for every role but the substitute physicians (who work by SMS and the
    # signed link); unset: required in production, optional otherwise. A browser that gave the code may skip
    # it for one shift (0: never remembered).
    two_factor_required: bool | None = None
    two_factor_remember_s: int = Field(16 * 3600, ge=0, le=7 * 86400)

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

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses_or_blocks(cls, value: str) -> str:
        import ipaddress

        items = [item.strip() for item in value.split(",") if item.strip()]
        for item in items:
            if item == "*":
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or block (a comma-separated list, or *)"
                ) from None
        return ",".join(items)

    @model_validator(mode="after")
    def _failures_outlast_delays(self) -> Settings:
        if self.login_failure_memory_s < self.login_max_delay_s:
            raise ValueError(
                "LOGIN_FAILURE_MEMORY_S must be at least LOGIN_MAX_DELAY_S, or waiting out a delay "
                "would also wipe the failures that earned it"
            )
        return self

    @property
    def webhook_auth_token(self) -> str:
        """The secret inbound webhooks are signed with: Twilio's auth token, or the secret key in the demo."""
        token = self.twilio_auth_token.get_secret_value()
        return token or self.secret_key.get_secret_value()

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.production

    @property
    def two_factor_is_required(self) -> bool:
        """TWO_FACTOR_REQUIRED when set, else required in production only."""
        return self.is_production if self.two_factor_required is None else self.two_factor_required

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
