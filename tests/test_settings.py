"""Settings: typed, from the environment, and a production start refuses placeholder secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from config.settings import Environment, InsecureConfiguration, Settings, load_settings
from dispatch.cli import app as cli


def _production(**overrides) -> Settings:
    values = dict(
        _env_file=None,
        environment=Environment.production,
        secret_key="x" * 40,
        sms_provider="twilio",
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="a-real-looking-token-0123456789",
        database_url="postgresql+psycopg://dispatch@db/dispatch",
        public_base_url="https://dispatch.example.jp",
    )
    values.update(overrides)
    return Settings(**values)


def test_a_sound_production_configuration_may_start():
    _production().check_can_start()


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"secret_key": "change-me"}, "SECRET_KEY"),
        ({"secret_key": "short"}, "SECRET_KEY"),
        ({"twilio_auth_token": ""}, "TWILIO_AUTH_TOKEN"),
        ({"sms_provider": "console"}, "SMS_PROVIDER"),
        ({"simulation_mode": True}, "SIMULATION_MODE"),
        ({"database_url": "sqlite:///var/x.sqlite3"}, "DATABASE_URL"),
        ({"public_base_url": "http://dispatch.example.jp"}, "PUBLIC_BASE_URL"),
    ],
)
def test_production_refuses_to_start_and_says_why(override, named):
    with pytest.raises(InsecureConfiguration, match=named):
        _production(**override).check_can_start()


def test_development_defaults_start_without_secrets():
    Settings(_env_file=None).check_can_start()


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/d")
    monkeypatch.setenv("OFFER_TIMEOUT_RED_ORANGE_S", "120")
    settings = load_settings(_env_file=None)
    assert settings.database_url == "postgresql+psycopg://u@h/d"
    assert settings.offer_timeout_red_orange_s == 120
    assert settings.timezone == "Asia/Tokyo"


def test_an_unknown_time_zone_is_refused_by_name():
    with pytest.raises(ValidationError, match="unknown time zone 'Asia/Tokio'"):
        Settings(_env_file=None, timezone="Asia/Tokio")


def test_the_cli_refuses_a_production_start_with_a_placeholder_secret(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "change-me")
    result = CliRunner().invoke(cli, ["migrate"])
    assert result.exit_code == 2
    assert "refusing to start in production" in result.output
    assert "SECRET_KEY" in result.output


def test_secrets_do_not_show_in_the_settings_repr():
    text = repr(_production())
    assert "a-real-looking-token" not in text
    assert "x" * 40 not in text
