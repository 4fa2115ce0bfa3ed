"""The wiring of one running process: settings, clock, database, Redis, password hashing, the second factor."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from dispatch import outbox
from dispatch.auth.passwords import Passwords
from dispatch.auth.throttle import LoginThrottle, ThrottlePolicy
from dispatch.clock import Clock, SharedClock, SystemClock
from dispatch.db import make_engine, make_session_factory
from dispatch.programme.service import ReferenceCache
from dispatch.sms.caller import Caller
from dispatch.sms.factory import build_caller, build_gateway
from dispatch.sms.gateway import SmsGateway
from dispatch.twofactor.policy import TwoFactor


@dataclass
class Services:
    """Everything a request handler, a job or a simulation needs, built once at start-up."""

    settings: Settings
    clock: Clock
    engine: Engine
    session_factory: sessionmaker[Session]
    redis: Redis
    passwords: Passwords
    throttle: LoginThrottle = field(init=False)
    two_factor: TwoFactor = field(init=False)
    reference: ReferenceCache = field(init=False)
    _gateway: SmsGateway | None = field(default=None, init=False, repr=False)
    _caller: Caller | None = field(default=None, init=False, repr=False)
    started_monotonic: float = field(default_factory=time.monotonic, init=False)

    def __post_init__(self) -> None:
        self.throttle = LoginThrottle(self.redis, ThrottlePolicy.from_settings(self.settings))
        self.two_factor = TwoFactor.from_settings(self.settings)
        self.reference = ReferenceCache(self.settings.programme_code)
        outbox.install(self.session_factory, self.redis)

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None, redis: Redis | None = None) -> Services:
        """Connect to the configured database and Redis (connections open lazily)."""
        engine = make_engine(
            settings.database_url,
            connect_timeout_s=settings.db_connect_timeout_s,
            pool_timeout_s=settings.db_pool_timeout_s,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        redis = redis or Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
        if clock is None:
            clock = SharedClock(redis) if settings.simulation_mode else SystemClock()
        return cls(
            settings=settings,
            clock=clock,
            engine=engine,
            session_factory=make_session_factory(engine),
            redis=redis,
            passwords=Passwords.from_settings(settings),
        )

    @property
    def gateway(self) -> SmsGateway:
        """The SMS gateway the settings name, built on first use."""
        if self._gateway is None:
            self._gateway = build_gateway(self.settings)
        return self._gateway

    @gateway.setter
    def gateway(self, value: SmsGateway) -> None:
        self._gateway = value

    @property
    def caller(self) -> Caller:
        """The voice caller the settings name, built on first use."""
        if self._caller is None:
            self._caller = build_caller(self.settings)
        return self._caller

    @caller.setter
    def caller(self, value: Caller) -> None:
        self._caller = value

    def voice_status_url(self) -> str:
        return self.settings.public_base_url.rstrip("/") + "/voice/status"

    def status_callback_url(self) -> str:
        return self.settings.public_base_url.rstrip("/") + "/webhooks/twilio/status"

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()
        self.throttle.close()
        self.redis.close()
