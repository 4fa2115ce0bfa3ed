"""Logging in: argon2 hashes, bearer tokens and cookies, logout (throttling: tests/test_login_throttle.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dispatch.auth.models import User


def _login(client, username, password):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_login_returns_a_token_that_identifies_the_user(client, demo_logins):
    response = _login(client, "operator", "operator-demo")
    assert response.status_code == 200
    token = response.json()["access_token"]
    client.cookies.clear()
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "operator"
    assert me.json()["role"] == "operator"


def test_the_session_cookie_alone_is_enough(client, demo_logins):
    assert _login(client, "coordinator", "coordinator-demo").status_code == 200
    assert client.get("/api/v1/auth/me").json()["role"] == "coordinator"


def test_passwords_are_stored_as_argon2id_hashes(services, demo_logins):
    with services.session_factory() as session:
        hashes = list(session.scalars(select(User.password_hash)))
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any("demo" in h for h in hashes)


def test_wrong_password_and_unknown_user_get_the_same_answer(client, demo_logins):
    wrong = _login(client, "operator", "nope")
    unknown = _login(client, "nobody", "nope")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "wrong username or password"}


def test_logout_revokes_the_token(client, login):
    headers = login("operator")
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_tokens_expire(client, login, clock, services):
    headers = login("operator")
    clock.advance(timedelta(seconds=services.settings.session_ttl_s + 1))
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_a_deactivated_user_is_locked_out_at_once(client, login, services):
    headers = login("operator")
    with services.session_factory() as session:
        session.scalar(select(User).where(User.username == "operator")).active = False
        session.commit()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert _login(client, "operator", "operator-demo").status_code == 401


def test_admin_creates_a_user_who_can_log_in(client, login):
    admin = login("admin")
    created = client.post(
        "/api/v1/users",
        headers=admin,
        json={
            "username": "op2",
            "display_name": "夜勤 二号",
            "password": "a-long-password-1",
            "role": "operator",
        },
    )
    assert created.status_code == 201, created.text
    assert _login(client, "op2", "a-long-password-1").status_code == 200
    again = client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "op2", "display_name": "x", "password": "a-long-password-1", "role": "operator"},
    )
    assert again.status_code == 409


def test_a_short_password_is_refused_with_the_field_named(client, login):
    response = client.post(
        "/api/v1/users",
        headers=login("admin"),
        json={"username": "op3", "display_name": "x", "password": "short", "role": "operator"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "password"
    assert "at least 12 characters" in response.json()["errors"][0]["problem"]
