"""Logging in and enrolling with a real authenticator's codes (pyotp), for the two-factor tests."""

from __future__ import annotations

from typing import Any

import httpx
import pyotp
from fastapi.testclient import TestClient

from dispatch.clock import ManualClock


def password_step(client: TestClient, username: str, password: str) -> httpx.Response:
    """The login's first step: 200 with a token, or 202 with a challenge when a code is due."""
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def second_step(client: TestClient, challenge: str, **proof: Any) -> httpx.Response:
    """The login's second step: `code=` or `recovery_code=`, and perhaps `remember_device=True`."""
    return client.post("/api/v1/auth/login/verify", json={"challenge": challenge, **proof})


def logged_in(client: TestClient, username: str, password: str) -> dict[str, str]:
    """A login by password alone (no factor enrolled yet), proved by its bearer header; the session cookie is
    dropped, a remembered browser's cookie kept."""
    response = password_step(client, username, password)
    assert response.status_code == 200, response.text
    client.cookies.delete("dispatch_session")
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def enrol(
    client: TestClient, clock: ManualClock, headers: dict[str, str], username: str
) -> tuple[pyotp.TOTP, list[str]]:
    """Enrol an authenticator app as a person does: read the QR code's URI, confirm the app's code. Returns
    the app and the recovery codes."""
    started = client.post("/api/v1/auth/totp/enrol", headers=headers)
    assert started.status_code == 200, started.text
    app = pyotp.parse_uri(started.json()["otpauth_uri"])
    assert isinstance(app, pyotp.TOTP) and app.name == username
    confirmed = client.post("/api/v1/auth/totp/confirm", json={"code": app.at(clock.now())}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    return app, confirmed.json()["recovery_codes"]
