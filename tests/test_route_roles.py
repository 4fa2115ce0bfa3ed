"""Every route, called by every role and by nobody: 401, 403 or success exactly as the route declares."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from dispatch.app import create_app
from dispatch.auth.guard import enforce_declared_roles, iter_api_routes, route_guard
from dispatch.auth.models import Role, User
from dispatch.patients.models import Patient
from dispatch.web.guard import PageGuard
from tests.factories import add_user

DEMO_USER_BY_ROLE = {
    Role.operator: "operator",
    Role.consulting_physician: "consult",
    Role.substitute_physician: "substitute",
    Role.coordinator: "coordinator",
    Role.clinic_admin: "clinic",
    Role.prefecture_analyst: "prefecture",
    Role.admin: "admin",
}
# Routes that end the caller's own sessions: each role calls them with a fresh login, then logs in again.
SESSION_ENDING = {("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/auth/logout-everywhere")}
STREAMS = {"/api/v1/events"}


def _fill(path: str, ids: dict[str, int]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), path)


def _call(client: TestClient, method: str, path: str, headers: dict[str, str], live=None):
    if live is not None and path in STREAMS:
        # An endless event stream: the status line is the answer; then hang up.
        with httpx.stream(method, live.url + path, headers=headers, timeout=10) as response:
            return response
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    return client.request(method, path, headers=headers, json=body, follow_redirects=False)


def test_every_route_declares_roles_and_answers_each_role_as_declared(client, login, services, live_server):
    with services.session_factory() as session:
        patient_id = session.query(Patient.id).order_by(Patient.id).first()[0]
    # An admin deactivating or resetting a user acts on a bystander, not on a role being walked.
    add_user(services, "bystander", Role.operator)
    with services.session_factory() as session:
        bystander_id = session.scalar(select(User.id).where(User.username == "bystander"))
    ids = {"patient_id": patient_id, "user_id": bystander_id}
    routes = [(m, p, route_guard(r)) for p, r in iter_api_routes(client.app.routes) for m in r.methods]
    assert len(routes) >= 10
    headers = {role: login(name) for role, name in DEMO_USER_BY_ROLE.items()}
    checked = 0
    for method, template, guard in routes:
        path = _fill(template, ids)
        anonymous = _call(client, method, path, {}, live_server)
        if guard.public:
            # Public routes prove callers otherwise (a Twilio signature, a signed link): never a 401.
            assert anonymous.status_code != 401 and anonymous.status_code < 500, f"{method} {path}"
            continue
        if isinstance(guard, PageGuard):
            # A console page sends a browser to log in first, and back afterwards.
            assert anonymous.status_code == 303, f"{method} {path} without login gave {anonymous.status_code}"
            assert anonymous.headers["location"].startswith("/login?next="), f"{method} {path}"
        else:
            assert anonymous.status_code == 401, f"{method} {path} without login gave {anonymous.status_code}"
        for role, name in DEMO_USER_BY_ROLE.items():
            ends_sessions = (method, template) in SESSION_ENDING
            response = _call(client, method, path, login(name) if ends_sessions else headers[role], live_server)
            if ends_sessions:
                headers[role] = login(name)
            if role in guard.roles:
                assert response.status_code not in (401, 403), (
                    f"{method} {path} as {role.value}: {response.status_code} {response.text}"
                )
                assert response.status_code < 500, f"{method} {path} as {role.value}: {response.text}"
            else:
                assert response.status_code == 403, f"{method} {path} as {role.value}: {response.status_code}"
            checked += 1
    assert checked >= 7 * 9


def test_a_route_without_declared_roles_stops_the_app_from_starting(services):
    app = create_app(services=services)

    @app.get("/api/v1/forgotten")
    def forgotten() -> dict:
        return {}

    with pytest.raises(RuntimeError, match="forgotten"):
        enforce_declared_roles(app)


def test_openapi_publishes_the_roles_of_each_route(client):
    spec = client.get("/openapi.json").json()
    assert spec["paths"]["/api/v1/users"]["get"]["x-roles"] == ["admin"]
    assert spec["paths"]["/healthz"]["get"]["x-roles"] == ["public"]


def test_iter_api_routes_sees_routes_on_the_app_itself():
    app = FastAPI()

    @app.get("/direct")
    def direct() -> dict:
        return {}

    assert [p for p, r in iter_api_routes(app.routes) if isinstance(r, APIRoute)] == ["/direct"]
