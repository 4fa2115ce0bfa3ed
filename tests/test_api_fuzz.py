"""Schemathesis walks /openapi.json with generated requests, logged in with a role each route allows:
no request may get a 5xx answer."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from dispatch.auth.guard import iter_api_routes, route_guard
from tests.test_route_roles import DEMO_USER_BY_ROLE, SESSION_ENDING

# The endless event stream is exercised by tests/test_live_events.py.
STREAMS = {"/api/v1/events"}
# Walked last: they end the demo users' sessions (or change who may log in) for every route after them.
LAST = SESSION_ENDING | {
    ("POST", "/api/v1/auth/password"),
    ("POST", "/api/v1/users/{user_id}/deactivate"),
    ("POST", "/api/v1/users/{user_id}/password"),
}
EXAMPLES_PER_OPERATION = 25


def test_no_generated_request_gets_a_server_error(client, login):
    headers = {}
    for path, route in iter_api_routes(client.app.routes):
        guard = route_guard(route)
        for method in route.methods:
            headers[(method, path)] = {} if guard.public else login(DEMO_USER_BY_ROLE[sorted(guard.roles)[0]])
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures: list[str] = []
    operations = 0
    walk = [result.ok() for result in schema.get_all_operations()]
    walk.sort(key=lambda operation: (operation.method.upper(), operation.path) in LAST)
    for operation in walk:
        if operation.path in STREAMS:
            continue
        operations += 1
        exercise_operation(operation, headers[(operation.method.upper(), operation.path)], failures)
    assert operations >= 15
    assert failures == []


def exercise_operation(operation, auth: dict[str, str], failures: list[str]) -> None:
    """Up to EXAMPLES_PER_OPERATION generated requests against one operation."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case):
        response = case.call(headers=auth)
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}"
            )

    exercise()
