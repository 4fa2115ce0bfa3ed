"""Ending sessions: logging out everywhere, a password change, an admin deactivating a user or setting a new
password for them; each written to the audit log."""

from __future__ import annotations

from sqlalchemy import select

from dispatch.audit.models import AuditEntry
from dispatch.audit.service import verify_chain
from dispatch.auth.models import User, UserSession

NEW = "a-new-long-password-7"


def _token(client, username: str, password: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _password(demo_logins, username: str) -> str:
    return next(d.password for d in demo_logins if d.username == username)


def _works(client, headers) -> bool:
    return client.get("/api/v1/auth/me", headers=headers).status_code == 200


def _audited(services, action: str) -> list[dict]:
    with services.session_factory() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
        return [{"by": row.user_id, "role": row.role, **row.detail} for row in rows]


def _user_id(services, username: str) -> int:
    with services.session_factory() as session:
        return session.scalar(select(User.id).where(User.username == username))


def test_logging_out_everywhere_ends_every_session_of_the_caller_and_no_one_elses(
    client, demo_logins, services
):
    password = _password(demo_logins, "operator")
    desk, phone, spare = (_token(client, "operator", password) for _ in range(3))
    colleague = _token(client, "coordinator", _password(demo_logins, "coordinator"))
    answer = client.post("/api/v1/auth/logout-everywhere", headers=phone)
    assert answer.status_code == 200 and answer.json() == {"sessions_ended": 3}
    assert not any(_works(client, headers) for headers in (desk, phone, spare))
    assert _works(client, colleague)
    operator = _user_id(services, "operator")
    assert _audited(services, "user.logout_everywhere") == [
        {"by": operator, "role": "operator", "user_id": operator, "username": "operator", "sessions_ended": 3}
    ]


def test_the_console_cookie_is_cleared_by_logging_out_everywhere(client, demo_logins):
    client.post(
        "/api/v1/auth/login", json={"username": "consult", "password": _password(demo_logins, "consult")}
    )
    answer = client.post("/api/v1/auth/logout-everywhere")
    assert answer.status_code == 200
    assert 'dispatch_session=""' in answer.headers["set-cookie"]
    assert client.get("/api/v1/auth/me").status_code == 401


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(client, demo_logins, services):
    old = _password(demo_logins, "operator")
    here, elsewhere = _token(client, "operator", old), _token(client, "operator", old)
    answer = client.post(
        "/api/v1/auth/password", headers=here, json={"current_password": old, "new_password": NEW}
    )
    assert answer.status_code == 200 and answer.json() == {"sessions_ended": 1}
    assert _works(client, here) and not _works(client, elsewhere)
    assert client.post("/api/v1/auth/login", json={"username": "operator", "password": old}).status_code == 401
    assert _works(client, _token(client, "operator", NEW))
    [entry] = _audited(services, "user.password.change")
    assert entry["username"] == "operator" and entry["sessions_ended"] == 1
    assert old not in str(entry) and NEW not in str(entry)


def test_a_password_change_names_the_field_that_is_wrong(client, demo_logins):
    old = _password(demo_logins, "operator")
    headers = _token(client, "operator", old)

    def change(current: str, new: str):
        answer = client.post(
            "/api/v1/auth/password", headers=headers, json={"current_password": current, "new_password": new}
        )
        assert answer.status_code == 422, answer.text
        return [(e["field"], e["problem"]) for e in answer.json()["errors"]]

    assert change("not-my-password", NEW) == [("current_password", "is not your current password")]
    assert change(old, "short") == [("new_password", "String should have at least 12 characters")]
    assert change(old, old) == [("new_password", "must differ from the current password")]
    assert _works(client, _token(client, "operator", old))  # nothing changed


def test_guessing_the_current_password_is_throttled_like_a_login(client, demo_logins, services):
    headers = _token(client, "operator", _password(demo_logins, "operator"))
    body = {"current_password": "guess-guess", "new_password": NEW}
    for _ in range(services.throttle.policy.free_failures):
        assert client.post("/api/v1/auth/password", headers=headers, json=body).status_code == 422
    held = client.post("/api/v1/auth/password", headers=headers, json=body)
    assert held.status_code == 429 and int(held.headers["Retry-After"]) >= 1


def test_a_deactivated_users_token_is_refused_at_once_and_their_sessions_end(
    client, login, demo_logins, services
):
    admin = login("admin")
    operator = _token(client, "operator", _password(demo_logins, "operator"))
    operator_id = _user_id(services, "operator")
    answer = client.post(f"/api/v1/users/{operator_id}/deactivate", headers=admin)
    assert answer.status_code == 200 and answer.json()["active"] is False
    assert client.get("/api/v1/auth/me", headers=operator).status_code == 401
    with services.session_factory() as session:
        revoked = session.scalars(
            select(UserSession.revoked_at).where(UserSession.user_id == operator_id)
        ).all()
    assert revoked and all(at is not None for at in revoked)
    login_again = {"username": "operator", "password": _password(demo_logins, "operator")}
    assert client.post("/api/v1/auth/login", json=login_again).status_code == 401
    assert client.post(f"/api/v1/users/{operator_id}/activate", headers=admin).json()["active"] is True
    assert client.get("/api/v1/auth/me", headers=operator).status_code == 401  # ended stays ended
    assert _works(client, _token(client, "operator", login_again["password"]))
    [deactivated] = _audited(services, "user.deactivate")
    assert deactivated["username"] == "operator" and deactivated["role"] == "admin"
    assert _audited(services, "user.activate")[0]["by"] == _user_id(services, "admin")
    with services.session_factory() as session:
        report = verify_chain(session)
        assert report.intact and report.entries >= 2


def test_an_admin_cannot_deactivate_themselves_nor_an_unknown_user(client, login, services):
    admin = login("admin")
    own = client.post(f"/api/v1/users/{_user_id(services, 'admin')}/deactivate", headers=admin)
    assert own.status_code == 409
    assert own.json()["detail"] == "an admin cannot deactivate their own account; ask another admin"
    assert _works(client, admin)
    assert client.post("/api/v1/users/999999/deactivate", headers=admin).status_code == 404
    other = client.post(f"/api/v1/users/{_user_id(services, 'admin')}/deactivate", headers=login("coordinator"))
    assert other.status_code == 403


def test_an_admin_sets_a_new_password_for_a_user_who_forgot_theirs(client, login, demo_logins, services):
    admin = login("admin")
    operator = _token(client, "operator", _password(demo_logins, "operator"))
    for _ in range(services.throttle.policy.free_failures + 1):  # forgot it, kept trying, now held back
        client.post("/api/v1/auth/login", json={"username": "operator", "password": "was-it-this"})
    operator_id = _user_id(services, "operator")
    answer = client.post(f"/api/v1/users/{operator_id}/password", headers=admin, json={"new_password": NEW})
    assert answer.status_code == 200 and answer.json() == {"sessions_ended": 1}
    assert not _works(client, operator)
    assert _works(client, _token(client, "operator", NEW))  # at once: the failures were forgotten
    short = client.post(f"/api/v1/users/{operator_id}/password", headers=admin, json={"new_password": "x"})
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "new_password"
    own = client.post(
        f"/api/v1/users/{_user_id(services, 'admin')}/password", headers=admin, json={"new_password": NEW}
    )
    assert own.status_code == 409 and "/api/v1/auth/password" in own.json()["detail"]
    [entry] = _audited(services, "user.password.reset")
    assert entry["username"] == "operator" and entry["role"] == "admin" and NEW not in str(entry)
