"""A production installation without `seed demo`: the first admin from `dispatch user create` (the password
from standard input or the environment, never the command line), then physicians registered through the
API by the coordinator (`POST /api/v1/roster/physicians`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from config.settings import Settings
from dispatch.auth.models import Role, User
from dispatch.cli import app
from dispatch.roster.models import Physician
from dispatch.services import Services

PASSWORD = "a-long-enough-secret-42"


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "ENVIRONMENT": "test",
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_TIME_COST": "1",
        **extra,
    }


def _user(services: Services, username: str) -> User | None:
    with services.session_factory() as session:
        return session.scalar(select(User).where(User.username == username))


def test_the_first_admin_comes_from_the_cli_with_the_password_on_standard_input(services: Services, settings):
    runner = CliRunner()
    argv = ["user", "create", "--username", "chief", "--role", "admin", "--display-name", "センター長"]
    result = runner.invoke(app, argv, input=PASSWORD + "\n", env=_env(settings))
    assert result.exit_code == 0, result.output
    assert "user chief (admin) created" in result.output and PASSWORD not in result.output
    user = _user(services, "chief")
    assert user is not None and user.role is Role.admin and user.display_name == "センター長"
    assert services.passwords.verify(user.password_hash, PASSWORD)

    again = runner.invoke(app, argv, input=PASSWORD + "\n", env=_env(settings))
    assert again.exit_code == 1 and "already taken" in again.output


def test_the_password_may_come_from_the_environment_and_is_checked_like_the_api_checks_it(
    services: Services, settings
):
    runner = CliRunner()
    argv = ["user", "create", "--username", "night-lead", "--role", "coordinator"]
    short = runner.invoke(app, argv, env=_env(settings, DISPATCH_USER_PASSWORD="short"))
    assert short.exit_code == 2 and "password" in short.output and _user(services, "night-lead") is None
    ok = runner.invoke(app, argv, env=_env(settings, DISPATCH_USER_PASSWORD=PASSWORD))
    assert ok.exit_code == 0, ok.output
    user = _user(services, "night-lead")
    assert user is not None and services.passwords.verify(user.password_hash, PASSWORD)
    clinic_admin = ["user", "create", "--username", "clinic-x", "--role", "clinic_admin"]
    lonely = runner.invoke(app, clinic_admin, env=_env(settings, DISPATCH_USER_PASSWORD=PASSWORD))
    assert lonely.exit_code == 2 and "clinic" in lonely.output


def test_the_coordinator_registers_a_substitute_physician_who_can_then_be_rostered(client, login, services):
    coordinator = login("coordinator")
    towns = client.get("/api/v1/programme", headers=coordinator).json()["municipalities"]
    body = {
        "name": "新任 代診",
        "role": "substitute",
        "phone": "090-2468-1357",
        "base_municipality_id": towns[0]["id"],
    }
    response = client.post("/api/v1/roster/physicians", json=body, headers=coordinator)
    assert response.status_code == 201, response.text
    created = response.json()
    assert "phone" not in str(created) and "2468" not in str(created)
    with services.session_factory() as session:
        physician = session.get(Physician, created["id"])
        assert physician is not None and physician.phone_e164 == "+819024681357"
        assert physician.base_latitude == towns[0]["latitude"]
    listed = client.get("/api/v1/roster/physicians", headers=coordinator).json()
    assert created["id"] in [p["id"] for p in listed]
    start = services.clock.now()
    shift = {
        "physician_id": created["id"],
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=12)).isoformat(),
        "coverage": [towns[0]["id"]],
    }
    assert client.post("/api/v1/roster/shifts", json=shift, headers=coordinator).status_code == 201


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"name": "番号なし", "role": "substitute"}, "phone"),
        ({"name": "重複", "role": "substitute", "phone": "090-2468-1357"}, "already has this number"),
        ({"name": "不明", "role": "consulting", "base_municipality_id": 999999}, "base_municipality_id"),
        ({"name": "不明", "role": "attending", "clinic_id": 999999}, "clinic_id"),
        ({"name": "誤り", "role": "substitute", "phone": "090-12"}, "phone"),
    ],
)
def test_a_physician_that_cannot_be_is_refused_in_words(client, login, body, problem):
    admin = login("admin")
    first = {"name": "先住", "role": "substitute", "phone": "090-2468-1357"}
    assert client.post("/api/v1/roster/physicians", json=first, headers=admin).status_code == 201
    response = client.post("/api/v1/roster/physicians", json=body, headers=admin)
    assert response.status_code == 422 and problem in response.text, response.text


def test_only_the_coordinator_and_admin_register_physicians(client, login):
    response = client.post(
        "/api/v1/roster/physicians", json={"name": "x", "role": "consulting"}, headers=login("operator")
    )
    assert response.status_code == 403
