"""A month typed into a URL or a query, far outside the years the service keeps, is refused naming the field
(422), never a server error, on every route that takes one."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

FAR = ("9999-12", "0001-01", "1899-12", "2102-01")


@pytest.mark.parametrize("month", FAR)
def test_a_month_out_of_range_is_422_naming_the_field(client, login, month):
    http = TestClient(client.app, raise_server_exceptions=False)  # a 500 shows as one, not as a traceback
    coordinator = login("coordinator")
    asked = [
        ("GET", f"/api/v1/roster/months/{month}", None, "month:"),
        ("POST", f"/api/v1/roster/months/{month}/generate", None, "month:"),
        ("POST", f"/api/v1/roster/months/{month}/publish", None, "month:"),
        ("GET", "/api/v1/reports/monthly", {"from": month, "to": month}, "from"),
        ("GET", "/api/v1/reports/monthly", {"from": "2024-04", "to": month}, "to"),
        ("GET", f"/api/v1/submissions/{month}", None, "month:"),
    ]
    for method, path, params, field in asked:
        response = http.request(method, path, params=params, headers=coordinator)
        assert response.status_code == 422, (method, path, params, response.status_code, response.text)
        assert response.json()["detail"].startswith(field), (method, path, response.text)
    for edge in ("2000-01", "2101-12"):  # the first and last months a request may name
        assert http.get(f"/api/v1/roster/months/{edge}", headers=coordinator).status_code == 200
