"""A logged-in HTTP client for the simulations, as the demo's users (their passwords are the demo's)."""

from __future__ import annotations

import httpx

PASSWORD = "{}-demo"


class Api:
    """A logged-in HTTP client per demo user; logs in again when a simulated day outlives the session."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        self.tokens: dict[str, str] = {}

    def __call__(self, user: str, method: str, path: str, expect: tuple[int, ...] = (200, 201), **kwargs):
        for _ in range(2):
            if user not in self.tokens:
                login = self.http.post(
                    "/api/v1/auth/login", json={"username": user, "password": PASSWORD.format(user)}
                )
                login.raise_for_status()
                self.tokens[user] = login.json()["access_token"]
                self.http.cookies.clear()
            response = self.http.request(
                method, path, headers={"Authorization": f"Bearer {self.tokens[user]}"}, **kwargs
            )
            if response.status_code == 401:
                del self.tokens[user]
                continue
            if response.status_code not in expect:
                raise RuntimeError(f"{method} {path} as {user}: {response.status_code} {response.text[:300]}")
            return response
        raise RuntimeError(f"{method} {path}: could not log in as {user}")
