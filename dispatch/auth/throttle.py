"""Login throttling in Redis: too many failures for a username or an address locks it out for a while."""

from __future__ import annotations

import logging

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class LoginThrottle:
    """Fixed-window failure counters per username and per client address."""

    def __init__(self, redis: Redis, max_failures: int, window_s: int) -> None:
        self.redis = redis
        self.max_failures = max_failures
        self.window_s = window_s

    def _keys(self, username: str, address: str) -> list[str]:
        return [f"dispatch:login-fail:user:{username.lower()}", f"dispatch:login-fail:addr:{address}"]

    def retry_after(self, username: str, address: str) -> int:
        """Seconds until another attempt is allowed; 0 when allowed now."""
        try:
            waits = []
            for key in self._keys(username, address):
                count = int(self.redis.get(key) or 0)
                if count >= self.max_failures:
                    waits.append(max(int(self.redis.ttl(key)), 1))
            return max(waits, default=0)
        except RedisError:
            # Operators must be able to log in at 3 a.m. even if Redis is down; fail open, loudly.
            log.warning("login throttle unavailable (Redis error); allowing the attempt")
            return 0

    def record_failure(self, username: str, address: str) -> None:
        """Count one failed attempt against the username and the address."""
        try:
            pipe = self.redis.pipeline()
            for key in self._keys(username, address):
                pipe.incr(key)
                pipe.expire(key, self.window_s, nx=True)
            pipe.execute()
        except RedisError:
            log.warning("login throttle unavailable (Redis error); failure not counted")

    def reset(self, username: str) -> None:
        """Forget the username's failures after a successful login."""
        try:
            self.redis.delete(self._keys(username, "-")[0])
        except RedisError:
            log.warning("login throttle unavailable (Redis error); counter not reset")
