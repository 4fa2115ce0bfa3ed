"""Login throttling against real Redis: guessing slows down, nobody is locked out of their correct password,
and the address counted is the peer's own unless a configured proxy names the client."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from redis import Redis

from dispatch import embedded
from dispatch.auth.throttle import LoginThrottle, ThrottlePolicy, counted_address
from dispatch.cli import proxy_options

CENTRE = "198.51.100.10"  # the call centre's one NAT address
ELSEWHERE = "203.0.113.66"


def _from(client: TestClient, address: str) -> TestClient:
    """The same app, as seen from another address (no lifespan: the fixture's client owns the wiring)."""
    return TestClient(client.app, client=(address, 50000))


def _login(http, username: str, password: str, **headers: str):
    return http.post("/api/v1/auth/login", json={"username": username, "password": password}, headers=headers)


def _password(demo_logins, username: str) -> str:
    return next(d.password for d in demo_logins if d.username == username)


def test_five_failures_by_strangers_do_not_refuse_a_colleagues_correct_password(client, demo_logins):
    centre, elsewhere = _from(client, CENTRE), _from(client, ELSEWHERE)
    for name in ("nobody", "coordinator", "admin", "operatr", "consult"):  # a colleague mistyping, a sprayer
        assert _login(centre, name, "guess").status_code == 401
    for _ in range(5):  # someone elsewhere guessing the operator's password
        assert _login(elsewhere, "operator", "guess").status_code == 401
    assert _login(centre, "operator", _password(demo_logins, "operator")).status_code == 200
    assert _login(centre, "coordinator", _password(demo_logins, "coordinator")).status_code == 200


def test_an_account_hammered_from_elsewhere_still_opens_where_its_owner_logged_in_before(
    client, demo_logins, services
):
    password = _password(demo_logins, "operator")
    centre = _from(client, CENTRE)
    assert _login(centre, "operator", password).status_code == 200  # the centre is known for this account
    attempts = services.throttle.policy.account_free_failures + 10
    # A botnet: a few guesses from each of many addresses, past the account's threshold.
    for i in range(attempts):
        answer = _login(_from(client, f"192.0.2.{i // 3 + 1}"), "operator", "guess")
        assert answer.status_code in (401, 429)
    from_new_place = _login(_from(client, "192.0.2.200"), "operator", password)
    assert from_new_place.status_code == 429 and int(from_new_place.headers["Retry-After"]) >= 1
    assert _login(centre, "operator", password).status_code == 200


def test_the_delay_grows_with_each_failure_up_to_its_cap_and_a_success_clears_it(client, demo_logins, services):
    services.throttle = LoginThrottle(services.redis, ThrottlePolicy(free_failures=5, max_delay_s=2))
    password = _password(demo_logins, "operator")
    for _ in range(5):
        assert _login(client, "operator", "guess").status_code == 401
    held = _login(client, "operator", password)  # the right password waits out the delay too
    assert held.status_code == 429 and held.headers["Retry-After"] == "1"
    assert held.json()["detail"] == "too many failed logins; try again in 1 seconds"
    time.sleep(1.05)
    assert _login(client, "operator", "guess").status_code == 401  # the sixth failure: 2 s
    assert _login(client, "operator", "guess").headers["Retry-After"] == "2"
    time.sleep(2.05)
    assert _login(client, "operator", "guess").status_code == 401  # the seventh: 4 s, capped at 2 s
    assert _login(client, "operator", "guess").headers["Retry-After"] == "2"
    time.sleep(2.05)
    assert _login(client, "operator", password).status_code == 200
    for _ in range(4):  # the count starts again from nothing
        assert _login(client, "operator", "guess").status_code == 401


def test_one_address_spraying_every_account_is_stopped_above_what_a_call_centre_mistypes(
    client, demo_logins, services
):
    cap = services.throttle.policy.address_max_failures
    assert cap >= 100
    centre = _from(client, CENTRE)
    assert _login(centre, "coordinator", _password(demo_logins, "coordinator")).status_code == 200
    for i in range(cap - 1):  # a night of typos by a whole centre: under the cap
        assert _login(centre, f"staff{i}", "guess").status_code == 401
    assert _login(centre, "operator", _password(demo_logins, "operator")).status_code == 200
    assert _login(centre, "sprayed", "guess").status_code == 401  # the cap is reached
    refused = _login(centre, "someone-else", "guess")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 60
    # Accounts that logged in from here before keep working; elsewhere is untouched.
    assert _login(centre, "coordinator", _password(demo_logins, "coordinator")).status_code == 200
    assert _login(_from(client, ELSEWHERE), "clinic", _password(demo_logins, "clinic")).status_code == 200


def test_parallel_guesses_get_no_free_tries(services):
    throttle = LoginThrottle(services.redis, ThrottlePolicy(free_failures=5))
    with ThreadPoolExecutor(max_workers=20) as pool:
        waits = list(pool.map(lambda _: throttle.admit("operator", CENTRE), range(40)))
    assert waits.count(0) == 5  # five let through, every other attempt told to wait


def test_an_ipv6_client_is_counted_by_its_64_block():
    assert (
        counted_address("2001:db8:1:2:aaaa::1")
        == counted_address("2001:db8:1:2:bbbb::9")
        == "2001:db8:1:2::/64"
    )
    assert counted_address("::ffff:198.51.100.10") == CENTRE
    assert counted_address("testclient") == "testclient"


@pytest.mark.parametrize("trouble", ["down", "hanging"])
def test_logins_go_on_within_seconds_when_redis_is_away(client, demo_logins, services, caplog, trouble):
    with socket.socket() as hanging:  # accepts connections (the kernel does) and never answers
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(16)
        port = hanging.getsockname()[1] if trouble == "hanging" else embedded.free_port()
        # The app's shared client as built by Services: retries with backoff, 5 s timeouts.
        away = Redis(port=port, socket_timeout=5, socket_connect_timeout=2)
        services.throttle = LoginThrottle(away, ThrottlePolicy())
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="dispatch.auth.throttle"):
            assert _login(client, "operator", _password(demo_logins, "operator")).status_code == 200
        assert time.monotonic() - started < 3
    assert "login throttle unavailable" in caplog.text


def test_no_proxy_is_trusted_unless_configured(settings):
    assert proxy_options(settings) == {"proxy_headers": False}
    behind = settings.model_copy(update={"forwarded_allow_ips": "10.0.0.5,10.1.0.0/16"})
    assert proxy_options(behind) == {"proxy_headers": True, "forwarded_allow_ips": "10.0.0.5,10.1.0.0/16"}


def test_forwarded_allow_ips_names_addresses_or_blocks(settings):
    with pytest.raises(ValueError, match=r"'proxy\.local' is not an IP address or block"):
        type(settings)(_env_file=None, forwarded_allow_ips="10.0.0.5, proxy.local")
    assert type(settings)(_env_file=None, forwarded_allow_ips=" 10.0.0.5 , fd00::/8").forwarded_allow_ips == (
        "10.0.0.5,fd00::/8"
    )


def test_failures_are_remembered_at_least_as_long_as_the_longest_delay(settings):
    with pytest.raises(ValueError, match="LOGIN_FAILURE_MEMORY_S must be at least LOGIN_MAX_DELAY_S"):
        type(settings)(_env_file=None, login_max_delay_s=7200, login_failure_memory_s=3600)


PROXY = "127.0.0.2"  # a second loopback address: the reverse proxy's, as this host sees it


def _serve(settings, scratch_dir, dotenv: str):
    """`dispatch serve` in a child process on the test database and Redis, with a .env file."""
    (scratch_dir / ".env").write_text(dotenv)
    child_env = {
        **{name: value for name, value in os.environ.items() if name != "FORWARDED_ALLOW_IPS"},
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "ENVIRONMENT": "test",
        "ARGON2_MEMORY_KIB": str(settings.argon2_memory_kib),
        "ARGON2_TIME_COST": str(settings.argon2_time_cost),
    }
    port = embedded.free_port()
    argv = [sys.executable, "-m", "dispatch", "serve", "--port", str(port)]
    process = embedded.spawn(argv, env=child_env, cwd=scratch_dir, stdout=subprocess.DEVNULL)
    return process, f"http://127.0.0.1:{port}"


def _wait_until_up(process, url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/livez", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("dispatch serve did not start")
        time.sleep(0.1)


def test_x_forwarded_for_moves_the_counted_address_only_from_a_configured_proxy(
    settings, services, demo_logins, scratch_dir
):
    password = _password(demo_logins, "operator")
    # Set in .env, which uvicorn alone never reads (it would trust 127.0.0.1 and no one else).
    process, url = _serve(settings, scratch_dir, f"FORWARDED_ALLOW_IPS={PROXY}\n")
    peer = httpx.Client(base_url=url, timeout=10)  # from 127.0.0.1: not the configured proxy
    proxy = httpx.Client(base_url=url, timeout=10, transport=httpx.HTTPTransport(local_address=PROXY))
    try:
        _wait_until_up(process, url)
        for i in range(5):  # a local process forging the header changes nothing
            assert _login(peer, "operator", "guess", **{"X-Forwarded-For": f"192.0.2.{i}"}).status_code == 401
        assert _login(peer, "operator", password, **{"X-Forwarded-For": "192.0.2.99"}).status_code == 429
        for _ in range(5):  # the proxy in front names each client
            assert _login(proxy, "operator", "guess", **{"X-Forwarded-For": ELSEWHERE}).status_code == 401
        assert _login(proxy, "operator", password, **{"X-Forwarded-For": ELSEWHERE}).status_code == 429
        assert _login(proxy, "operator", password, **{"X-Forwarded-For": CENTRE}).status_code == 200
    finally:
        peer.close()
        proxy.close()
        embedded.stop(process)
