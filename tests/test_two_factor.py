"""Two-factor login with real TOTP codes (pyotp, as an authenticator app makes them) on the test clock:
enrolment, the login's second step, forged and reused codes, recovery codes, a remembered browser, the
requirement in production, an admin's reset, throttling and the audit trail."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pyotp
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from config.settings import Environment, Settings
from dispatch.audit.models import AuditEntry
from dispatch.auth.models import Role, User
from dispatch.cli import app
from dispatch.twofactor.keys import Keys, SealBroken
from dispatch.twofactor.models import TotpFactor
from dispatch.twofactor.policy import TwoFactor
from tests.two_factor import enrol, logged_in, password_step, second_step

STEP = timedelta(seconds=30)


@pytest.fixture
def required(services, settings) -> None:
    """Two-factor login required, as production has it by default."""
    services.two_factor = TwoFactor.from_settings(settings.model_copy(update={"two_factor_required": True}))


def _actions(services, action: str) -> list[AuditEntry]:
    with services.session_factory() as session:
        return list(
            session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
        )


def test_production_requires_a_second_factor_by_default_and_the_demo_does_not():
    def settings(**values) -> Settings:
        return Settings(_env_file=None, **values)

    assert settings(environment=Environment.production).two_factor_is_required
    assert not settings(environment=Environment.development).two_factor_is_required
    assert not settings(environment=Environment.test).two_factor_is_required
    assert settings(environment=Environment.development, two_factor_required=True).two_factor_is_required
    policy = TwoFactor.from_settings(settings(environment=Environment.production))
    required = {role for role in Role if policy.required_for(User(role=role))}
    assert required == set(Role) - {Role.substitute_physician}  # they work by SMS and the signed link


def test_enrolment_then_every_login_asks_for_the_apps_code(client, demo_logins, services, clock):
    headers = logged_in(client, "operator", "operator-demo")
    totp, codes = enrol(client, clock, headers, "operator")
    assert len(codes) == 10 and len(set(codes)) == 10
    status = client.get("/api/v1/auth/totp", headers=headers).json()
    assert status["enrolled"] and status["recovery_codes_left"] == 10 and "secret" not in status
    with services.session_factory() as session:  # the secret is sealed at rest, never stored as it is
        stored = session.scalar(select(TotpFactor.secret_sealed))
    assert stored and totp.secret not in stored

    challenge = password_step(client, "operator", "operator-demo")
    assert challenge.status_code == 202 and "access_token" not in challenge.json()
    clock.advance(STEP)
    done = second_step(client, challenge.json()["challenge"], code=totp.at(clock.now()))
    assert done.status_code == 200, done.text
    client.cookies.clear()
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {done.json()['access_token']}"})
    assert me.json()["username"] == "operator"


def test_the_enrolment_shows_a_qr_code_of_the_otpauth_uri_once(client, demo_logins, clock):
    headers = logged_in(client, "coordinator", "coordinator-demo")
    started = client.post("/api/v1/auth/totp/enrol", headers=headers)
    assert started.headers["cache-control"] == "no-store"
    body = started.json()
    assert (
        body["otpauth_uri"].startswith("otpauth://totp/") and f"secret={body['secret']}" in body["otpauth_uri"]
    )
    assert body["qr_svg"].startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    # Until a code confirms it, nothing is enrolled: the login goes on without a code.
    assert password_step(client, "coordinator", "coordinator-demo").status_code == 200
    wrong = client.post("/api/v1/auth/totp/confirm", json={"code": "000000"}, headers=headers)
    assert wrong.status_code == 422 and wrong.json()["detail"].startswith("code:")
    bad = client.post("/api/v1/auth/totp/confirm", json={"code": "12345a"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "code"


def test_a_forged_code_is_refused_and_audited(client, demo_logins, services, clock):
    headers = logged_in(client, "operator", "operator-demo")
    totp, _ = enrol(client, clock, headers, "operator")
    challenge = password_step(client, "operator", "operator-demo").json()["challenge"]
    forged = next(c for c in ("123456", "654321") if c != totp.at(clock.now()))
    refused = second_step(client, challenge, code=forged)
    assert refused.status_code == 401 and refused.json()["detail"] == "code: wrong or expired"
    assert "access_token" not in refused.json()
    # A code from long ago (or far ahead) is as good as forged.
    old = second_step(client, challenge, code=totp.at(clock.now() - 3 * STEP))
    assert old.status_code == 401
    failures = _actions(services, "two_factor.failed")
    assert [f.detail for f in failures] == [{"what": "code", "reason": "wrong"}] * 2


def test_the_same_code_is_refused_a_second_time_even_inside_its_30_seconds(client, demo_logins, clock):
    headers = logged_in(client, "operator", "operator-demo")
    totp, _ = enrol(client, clock, headers, "operator")
    clock.advance(STEP)
    code = totp.at(clock.now())
    first = password_step(client, "operator", "operator-demo").json()["challenge"]
    assert second_step(client, first, code=code).status_code == 200
    clock.advance(timedelta(seconds=10))  # still the same time step
    again = password_step(client, "operator", "operator-demo").json()["challenge"]
    replay = second_step(client, again, code=code)
    assert replay.status_code == 401 and "already used" in replay.json()["detail"]
    # Nor an older step's code, though a phone running late would still show it.
    assert second_step(client, again, code=totp.at(clock.now() - STEP)).status_code == 401
    clock.advance(STEP)
    assert second_step(client, again, code=totp.at(clock.now())).status_code == 200


def test_two_logins_racing_with_one_code_let_one_in(client, demo_logins, clock, live_server):
    headers = logged_in(client, "operator", "operator-demo")
    totp, _ = enrol(client, clock, headers, "operator")
    clock.advance(STEP)
    challenges = [password_step(client, "operator", "operator-demo").json()["challenge"] for _ in range(6)]
    code = totp.at(clock.now())

    def verify(challenge: str) -> int:
        body = {"challenge": challenge, "code": code}
        return httpx.post(f"{live_server.url}/api/v1/auth/login/verify", json=body, timeout=10).status_code

    with ThreadPoolExecutor(len(challenges)) as pool:
        answers = sorted(pool.map(verify, challenges))
    assert answers == [200] + [401] * (len(challenges) - 1)


def test_recovery_codes_work_once_each(client, demo_logins, services, clock):
    headers = logged_in(client, "consult", "consult-demo")
    _, codes = enrol(client, clock, headers, "consult")
    challenge = password_step(client, "consult", "consult-demo").json()["challenge"]
    # As people type them: upper case, without the hyphen, with spaces.
    typed = f"  {codes[0].replace('-', '').upper()} "
    assert second_step(client, challenge, recovery_code=typed).status_code == 200
    spent = second_step(client, challenge, recovery_code=codes[0])
    assert spent.status_code == 401 and spent.json()["detail"] == "recovery_code: wrong or already used"
    assert second_step(client, challenge, recovery_code=codes[1]).status_code == 200
    assert second_step(client, challenge, recovery_code="abcde-12345").status_code == 401
    used = _actions(services, "two_factor.recovery_code_used")
    assert [u.detail["left"] for u in used] == [9, 8]
    assert client.get("/api/v1/auth/totp", headers=headers).json()["recovery_codes_left"] == 8


def test_new_recovery_codes_need_a_current_code_and_end_the_old_ones(client, demo_logins, clock):
    headers = logged_in(client, "consult", "consult-demo")
    totp, old = enrol(client, clock, headers, "consult")
    refused = client.post("/api/v1/auth/totp/recovery-codes", json={"code": "000000"}, headers=headers)
    assert refused.status_code == 422
    clock.advance(STEP)
    renewed = client.post(
        "/api/v1/auth/totp/recovery-codes", json={"code": totp.at(clock.now())}, headers=headers
    )
    new = renewed.json()["recovery_codes"]
    assert renewed.status_code == 200 and not set(new) & set(old)
    challenge = password_step(client, "consult", "consult-demo").json()["challenge"]
    assert second_step(client, challenge, recovery_code=old[0]).status_code == 401
    assert second_step(client, challenge, recovery_code=new[0]).status_code == 200


def test_a_remembered_browser_skips_the_code_for_one_shift(client, demo_logins, services, clock):
    headers = logged_in(client, "operator", "operator-demo")
    totp, _ = enrol(client, clock, headers, "operator")
    challenge = password_step(client, "operator", "operator-demo").json()["challenge"]
    clock.advance(STEP)
    done = second_step(client, challenge, code=totp.at(clock.now()), remember_device=True)
    cookie = done.headers["set-cookie"]
    assert "dispatch_device=" in cookie and "HttpOnly" in cookie and "Path=/api/v1/auth/login" in cookie
    assert f"Max-Age={16 * 3600}" in cookie
    assert password_step(client, "operator", "operator-demo").status_code == 200  # no code asked
    # The password is still needed.
    assert password_step(client, "operator", "wrong").status_code == 401
    # Another user on the same browser is asked for their own code.
    coordinator = logged_in(client, "coordinator", "coordinator-demo")
    enrol(client, clock, coordinator, "coordinator")
    assert password_step(client, "coordinator", "coordinator-demo").status_code == 202
    # After the shift, the code again.
    clock.advance(timedelta(hours=16))
    assert password_step(client, "operator", "operator-demo").status_code == 202


def test_forgetting_the_remembered_browsers_asks_for_the_code_again(client, demo_logins, clock):
    headers = logged_in(client, "operator", "operator-demo")
    totp, _ = enrol(client, clock, headers, "operator")
    challenge = password_step(client, "operator", "operator-demo").json()["challenge"]
    clock.advance(STEP)
    second_step(client, challenge, code=totp.at(clock.now()), remember_device=True)
    assert client.get("/api/v1/auth/totp", headers=headers).json()["remembered_devices"] == 1
    forgotten = client.post("/api/v1/auth/totp/devices/forget", headers=headers)
    assert forgotten.json()["remembered_devices"] == 0
    assert password_step(client, "operator", "operator-demo").status_code == 202


def test_a_password_change_or_a_deactivation_forgets_the_remembered_browsers(client, demo_logins, clock):
    headers = logged_in(client, "operator", "operator-demo")
    totp, _ = enrol(client, clock, headers, "operator")
    challenge = password_step(client, "operator", "operator-demo").json()["challenge"]
    clock.advance(STEP)
    done = second_step(client, challenge, code=totp.at(clock.now()), remember_device=True)
    token = done.json()["access_token"]
    assert password_step(client, "operator", "operator-demo").status_code == 200  # remembered
    changed = client.post(
        "/api/v1/auth/password",
        json={"current_password": "operator-demo", "new_password": "a-new-night-password-1"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert changed.status_code == 200, changed.text
    # Whoever shared that browser needs the second factor again, not only the new password.
    assert password_step(client, "operator", "a-new-night-password-1").status_code == 202


def test_wrong_codes_are_throttled_like_wrong_passwords(client, demo_logins, services, clock):
    headers = logged_in(client, "operator", "operator-demo")
    totp, _ = enrol(client, clock, headers, "operator")
    challenge = password_step(client, "operator", "operator-demo").json()["challenge"]
    right = totp.at(clock.now() + STEP)
    guesses = [c for c in (f"{n:06d}" for n in range(100)) if c != right]
    for guess in guesses[: services.throttle.policy.free_failures]:
        assert second_step(client, challenge, code=guess).status_code == 401
    clock.advance(STEP)
    held = second_step(client, challenge, code=right)
    assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0
    # The password does not start the count again, nor get a challenge while it holds.
    assert password_step(client, "operator", "operator-demo").status_code == 429


def test_a_challenge_is_signed_and_short_lived(client, demo_logins, clock):
    headers = logged_in(client, "operator", "operator-demo")
    totp, _ = enrol(client, clock, headers, "operator")
    challenge = password_step(client, "operator", "operator-demo").json()["challenge"]
    tampered = second_step(
        client, challenge[:-2] + ("AA" if not challenge.endswith("AA") else "BB"), code="123456"
    )
    assert tampered.status_code == 401 and tampered.json()["detail"].startswith("challenge:")
    clock.advance(timedelta(minutes=5))
    late = second_step(client, challenge, code=totp.at(clock.now()))
    assert late.status_code == 401 and "expired" in late.json()["detail"]


def test_a_login_that_must_enrol_may_only_enrol_until_it_has(client, demo_logins, clock, required):
    login = password_step(client, "operator", "operator-demo")
    assert login.status_code == 200 and login.json()["enrolment_required"] is True
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    refused = client.get("/api/v1/cases", headers=headers)
    assert refused.status_code == 403 and refused.json()["detail"].startswith("two-factor enrolment required")
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert client.get("/api/v1/auth/totp", headers=headers).json()["required"] is True
    enrol(client, clock, headers, "operator")
    assert client.get("/api/v1/cases", headers=headers).status_code == 200  # the same login, now whole


def test_substitute_physicians_keep_working_without_a_second_factor(client, demo_logins, required):
    login = password_step(client, "substitute", "substitute-demo")
    assert login.status_code == 200 and login.json()["enrolment_required"] is False
    assert client.get("/api/v1/sms/simulator/phones").status_code == 200


def test_turning_it_off_needs_a_code_or_the_password(client, demo_logins, services, clock):
    headers = logged_in(client, "operator", "operator-demo")
    enrol(client, clock, headers, "operator")
    wrong = client.post("/api/v1/auth/totp/disable", json={"password": "guess-guess-guess"}, headers=headers)
    assert wrong.status_code == 422 and wrong.json()["detail"] == "password: wrong"
    assert _actions(services, "two_factor.failed")[-1].detail == {
        "what": "password",
        "reason": "wrong_password",
    }
    off = client.post("/api/v1/auth/totp/disable", json={"password": "operator-demo"}, headers=headers)
    assert off.status_code == 200 and off.json()["enrolled"] is False
    assert password_step(client, "operator", "operator-demo").status_code == 200


def test_where_it_is_required_turning_it_off_means_enrolling_anew(client, demo_logins, clock, required):
    login = password_step(client, "coordinator", "coordinator-demo").json()
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    totp, _ = enrol(client, clock, headers, "coordinator")
    clock.advance(STEP)
    off = client.post("/api/v1/auth/totp/disable", json={"code": totp.at(clock.now())}, headers=headers)
    assert off.status_code == 200
    assert client.get("/api/v1/cases", headers=headers).status_code == 403  # a new phone, enrolled now
    enrol(client, clock, headers, "coordinator")
    assert client.get("/api/v1/cases", headers=headers).status_code == 200


def test_an_admin_resets_a_lost_phone_and_the_user_enrols_again(client, demo_logins, services, clock, required):
    operator = password_step(client, "operator", "operator-demo").json()
    client.cookies.clear()
    enrol(client, clock, {"Authorization": f"Bearer {operator['access_token']}"}, "operator")
    admin = password_step(client, "admin", "admin-demo").json()
    client.cookies.clear()
    admin_headers = {"Authorization": f"Bearer {admin['access_token']}"}
    enrol(client, clock, admin_headers, "admin")
    user_id = operator["user"]["id"]
    coordinator = password_step(client, "coordinator", "coordinator-demo").json()
    client.cookies.clear()
    not_admin = {"Authorization": f"Bearer {coordinator['access_token']}"}
    assert client.post(f"/api/v1/users/{user_id}/totp/reset", headers=not_admin).status_code == 403
    assert client.post(f"/api/v1/users/{user_id}/totp/reset", headers=admin_headers).status_code == 204
    assert client.post("/api/v1/users/999999/totp/reset", headers=admin_headers).status_code == 404
    again = password_step(client, "operator", "operator-demo")
    assert again.status_code == 200 and again.json()["enrolment_required"] is True
    (reset,) = _actions(services, "two_factor.reset")
    assert reset.user_id == admin["user"]["id"] and reset.detail["user_id"] == user_id


def test_every_change_to_a_second_factor_is_audited(client, demo_logins, services, clock):
    headers = logged_in(client, "operator", "operator-demo")
    totp, codes = enrol(client, clock, headers, "operator")
    challenge = password_step(client, "operator", "operator-demo").json()["challenge"]
    second_step(client, challenge, code="000000" if totp.at(clock.now()) != "000000" else "111111")
    second_step(client, challenge, recovery_code=codes[0], remember_device=True)
    clock.advance(STEP)
    client.post("/api/v1/auth/totp/recovery-codes", json={"code": totp.at(clock.now())}, headers=headers)
    client.post("/api/v1/auth/totp/devices/forget", headers=headers)
    client.post("/api/v1/auth/totp/disable", json={"password": "operator-demo"}, headers=headers)
    with services.session_factory() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [e.action for e in entries if e.action.startswith("two_factor.")] == [
        "two_factor.enrolment_started",
        "two_factor.enrolled",
        "two_factor.failed",
        "two_factor.recovery_code_used",
        "two_factor.device_remembered",
        "two_factor.recovery_codes_renewed",
        "two_factor.devices_forgotten",
        "two_factor.disabled",
    ]
    assert {e.role for e in entries if e.action.startswith("two_factor.")} == {"operator"}
    # Nothing secret in the log: no code, no secret.
    text = " ".join(str(e.detail) for e in entries)
    assert totp.secret not in text and not any(code in text for code in codes)


def test_a_sealed_secret_opens_only_unaltered_and_under_its_own_key():
    keys = Keys("k" * 40)
    sealed = keys.seal("JBSWY3DPEHPK3PXP")
    assert keys.unseal(sealed) == "JBSWY3DPEHPK3PXP" and keys.seal("JBSWY3DPEHPK3PXP") != sealed
    with pytest.raises(SealBroken):
        Keys("x" * 40).unseal(sealed)
    flipped = sealed[:10] + ("A" if sealed[10] != "A" else "B") + sealed[11:]
    with pytest.raises(SealBroken):
        keys.unseal(flipped)


def test_a_real_authenticator_code_for_now_is_accepted_at_enrolment(client, demo_logins, clock):
    """pyotp's own verify agrees with the service on the test clock (the same RFC 6238 code)."""
    headers = logged_in(client, "operator", "operator-demo")
    secret = client.post("/api/v1/auth/totp/enrol", headers=headers).json()["secret"]
    code = pyotp.TOTP(secret).at(clock.now())
    assert pyotp.TOTP(secret).verify(code, for_time=clock.now())
    assert client.post("/api/v1/auth/totp/confirm", json={"code": code}, headers=headers).status_code == 200


def test_a_double_click_on_enrol_starts_one_enrolment(client, demo_logins, services, live_server):
    headers = logged_in(client, "operator", "operator-demo")

    def start(_: int) -> int:
        url = f"{live_server.url}/api/v1/auth/totp/enrol"
        return httpx.post(url, headers=headers, timeout=10).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(start, range(4))) == [200] * 4
    with services.session_factory() as session:
        assert len(session.scalars(select(TotpFactor)).all()) == 1


def test_the_last_admin_with_a_lost_phone_is_reset_from_the_command_line(
    client, demo_logins, services, settings, clock
):
    headers = logged_in(client, "admin", "admin-demo")
    enrol(client, clock, headers, "admin")
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "ENVIRONMENT": "test",
    }
    result = CliRunner().invoke(app, ["user", "reset-two-factor", "--username", "admin"], env=env)
    assert result.exit_code == 0, result.output
    assert "second factor of admin cleared" in result.output
    assert password_step(client, "admin", "admin-demo").status_code == 200
    (reset,) = _actions(services, "two_factor.reset")
    assert reset.role == "system" and reset.detail["username"] == "admin"
    unknown = CliRunner().invoke(app, ["user", "reset-two-factor", "--username", "nobody"], env=env)
    assert unknown.exit_code == 1 and "no user 'nobody'" in unknown.output
