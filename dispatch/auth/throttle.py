"""Login throttling in Redis: slow guessing down without locking anyone out of their correct password.

Every attempt is counted as a failure the moment it is let through (so a burst of parallel guesses gets no
free tries) and refunded when the password proves right. Three counters:

- per (account, address): the first few failures are free, then each one makes that address wait 1 s, 2 s,
  4 s … (capped) before its next try at that account; a success clears it.
- per account, from every address: past a higher threshold, the same growing delay for the account, but
  only at addresses that have not logged in to it lately. Strangers hammering an account from elsewhere
  slow each other down; its owner, at an address they logged in from before, is not held up.
- per address, over all accounts: a cap high enough for a call centre behind one NAT, which stops one
  address from spraying passwords across many accounts; again only for accounts not lately used there.

Redis being away must not keep an operator out at 3 a.m.: the throttle then lets the attempt through and
says so in the log.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import HTTPException, Request, status
from redis import ConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from config.settings import Settings

log = logging.getLogger(__name__)

PREFIX = "dispatch:login"
FAIL_FAST_S = 1.0

# KEYS: pair count, pair wait, account count, account wait, address count, known (account, address).
# ARGV: free failures per pair, per account, longest delay (ms), memory (s), address cap, address window (s).
# Returns 0 (let through, counted as a failure until refunded) or the milliseconds left to wait.
_ADMIT = """
local function delay(n, free)
  if n < free then return 0 end
  return math.floor(math.min(1000 * 2 ^ (n - free), tonumber(ARGV[3])))
end
local known = redis.call('EXISTS', KEYS[6]) == 1
local wait = redis.call('PTTL', KEYS[2])
if not known then
  wait = math.max(wait, redis.call('PTTL', KEYS[4]))
  if tonumber(redis.call('GET', KEYS[5]) or '0') >= tonumber(ARGV[5]) then
    wait = math.max(wait, redis.call('PTTL', KEYS[5]))
  end
end
if wait > 0 then return wait end
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
local d = delay(n, tonumber(ARGV[1]))
if d > 0 then redis.call('SET', KEYS[2], 1, 'PX', d) end
local a = redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[4])
d = delay(a, tonumber(ARGV[2]))
if d > 0 and not known then redis.call('SET', KEYS[4], 1, 'PX', d) end
if redis.call('INCR', KEYS[5]) == 1 then redis.call('EXPIRE', KEYS[5], ARGV[6]) end
return 0
"""

# Same KEYS; ARGV: free failures per account, how long the address stays known (s).
_SUCCEEDED = """
redis.call('DEL', KEYS[1], KEYS[2])
if tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then
  if redis.call('DECR', KEYS[3]) < tonumber(ARGV[1]) then redis.call('DEL', KEYS[4]) end
end
if tonumber(redis.call('GET', KEYS[5]) or '0') > 0 then redis.call('DECR', KEYS[5]) end
redis.call('SET', KEYS[6], 1, 'EX', ARGV[2])
return 0
"""


# Same KEYS; ARGV: free failures per pair, per account. Undo one admitted attempt, keep the failures before it.
_REFUNDED = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then n = redis.call('DECR', KEYS[1]) end
if n < tonumber(ARGV[1]) then redis.call('DEL', KEYS[2]) end
local a = tonumber(redis.call('GET', KEYS[3]) or '0')
if a > 0 then a = redis.call('DECR', KEYS[3]) end
if a < tonumber(ARGV[2]) then redis.call('DEL', KEYS[4]) end
if tonumber(redis.call('GET', KEYS[5]) or '0') > 0 then redis.call('DECR', KEYS[5]) end
return 0
"""


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures are free, how long delays grow, and how long everything is remembered."""

    free_failures: int = 5
    account_free_failures: int = 20
    max_delay_s: int = 900
    memory_s: int = 3600
    address_max_failures: int = 100
    address_window_s: int = 900
    known_address_s: int = 30 * 86400

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottlePolicy:
        return cls(
            free_failures=settings.login_free_failures,
            account_free_failures=settings.login_account_free_failures,
            max_delay_s=settings.login_max_delay_s,
            memory_s=settings.login_failure_memory_s,
            address_max_failures=settings.login_address_max_failures,
            address_window_s=settings.login_address_window_s,
            known_address_s=settings.login_known_address_days * 86400,
        )


def counted_address(address: str) -> str:
    """The unit an address is counted as: an IPv4 address, or an IPv6 /64 (one subscriber's usual block,
    so hopping through it gains nothing)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]  # not an IP (the test client): as it is
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_address(request: Request) -> str:
    """The address a login is counted against: the peer, or the client a trusted proxy named (uvicorn
    applies FORWARDED_ALLOW_IPS before the app sees the request; by default no proxy is trusted)."""
    return request.client.host if request.client else "unknown"


def _fail_fast(redis: Redis) -> Redis:
    """A client of the same Redis that tries once and gives up within a second: with Redis away, a login
    must not wait out the shared client's retries and backoff (seconds per command) before going ahead."""
    pool = redis.connection_pool
    settings = {**pool.connection_kwargs, "retry": Retry(NoBackoff(), 0)}
    settings.update(socket_timeout=FAIL_FAST_S, socket_connect_timeout=FAIL_FAST_S)
    return Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, **settings))


def too_many_failures(wait_s: int) -> HTTPException:
    """429 with Retry-After: what an attempt the throttle holds back is told."""
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail=f"too many failed logins; try again in {wait_s} seconds",
        headers={"Retry-After": str(wait_s)},
    )


class LoginThrottle:
    """Failure counters per (account, address), per account and per address, with growing delays."""

    def __init__(self, redis: Redis, policy: ThrottlePolicy) -> None:
        self.redis = _fail_fast(redis)
        self.policy = policy
        self._admit = self.redis.register_script(_ADMIT)
        self._succeeded = self.redis.register_script(_SUCCEEDED)
        self._refunded = self.redis.register_script(_REFUNDED)

    def _keys(self, username: str, address: str) -> list[str]:
        user, addr = quote(username.lower(), safe=""), counted_address(address)
        return [
            f"{PREFIX}:pair:{user}:{addr}",
            f"{PREFIX}:pair-wait:{user}:{addr}",
            f"{PREFIX}:account:{user}",
            f"{PREFIX}:account-wait:{user}",
            f"{PREFIX}:address:{addr}",
            f"{PREFIX}:known:{user}:{addr}",
        ]

    def admit(self, username: str, address: str) -> int:
        """Seconds to wait before trying this account from this address; 0: go ahead. An attempt let
        through counts as a failure until `succeeded` refunds it."""
        p = self.policy
        try:
            wait_ms = int(
                self._admit(
                    keys=self._keys(username, address),
                    args=[
                        p.free_failures,
                        p.account_free_failures,
                        p.max_delay_s * 1000,
                        p.memory_s,
                        p.address_max_failures,
                        p.address_window_s,
                    ],
                )
            )
        except RedisError:
            # Operators must be able to log in at 3 a.m. even if Redis is down; fail open, loudly.
            log.warning("login throttle unavailable (Redis error); allowing the attempt")
            return 0
        return math.ceil(wait_ms / 1000) if wait_ms > 0 else 0

    def succeeded(self, username: str, address: str) -> None:
        """The password was right: clear this address's failures for the account, refund the attempt, and
        remember the address as one the account logs in from."""
        try:
            self._succeeded(
                keys=self._keys(username, address),
                args=[self.policy.account_free_failures, self.policy.known_address_s],
            )
        except RedisError:
            log.warning("login throttle unavailable (Redis error); counter not reset")

    def refund(self, username: str, address: str) -> None:
        """The password was right but a second factor is still owed: this attempt is not a failure, and
        the failures before it stand until the second factor passes (`succeeded`)."""
        try:
            self._refunded(
                keys=self._keys(username, address),
                args=[self.policy.free_failures, self.policy.account_free_failures],
            )
        except RedisError:
            log.warning("login throttle unavailable (Redis error); attempt not refunded")

    def close(self) -> None:
        """Release this throttle's connections."""
        self.redis.close()

    def forget_account(self, username: str) -> None:
        """Clear every failure counted against an account (an admin set a new password for it)."""
        user = quote(username.lower(), safe="")
        try:
            stale = [f"{PREFIX}:account:{user}", f"{PREFIX}:account-wait:{user}"]
            for kind in ("pair", "pair-wait"):
                stale += self.redis.scan_iter(match=f"{PREFIX}:{kind}:{user}:*", count=1000)
            self.redis.delete(*stale)
        except RedisError:
            log.warning("login throttle unavailable (Redis error); counters not cleared")
