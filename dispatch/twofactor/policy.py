"""The process's two-factor policy (on `Services`): who must give a second factor, the keys, the login
challenge, and what a login needs once its password was right."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from dispatch.auth.models import Role, User
from dispatch.auth.schemas import SecondFactorRequired
from dispatch.clock import Clock
from dispatch.twofactor.keys import Keys
from dispatch.twofactor.models import RememberedDevice, TotpFactor

# Substitute physicians work by SMS and the signed details link; a second factor is theirs to choose.
EXEMPT_ROLES = frozenset({Role.substitute_physician})
CHALLENGE_TTL_S = 300


class ChallengeInvalid(ValueError):
    """A login challenge that is forged, damaged or expired."""


@dataclass(frozen=True)
class LoginStep:
    """What a login whose password was right needs next: a code (a challenge to answer), or nothing; and
    whether its session may only enrol a second factor."""

    challenge: SecondFactorRequired | None = None
    enrolment_only: bool = False


def token_digest(token: str) -> str:
    """What is stored of a remembered browser's token."""
    return hashlib.sha256(token.encode()).hexdigest()


class TwoFactor:
    """Who must give a second factor, how long a browser is remembered, and the keys."""

    def __init__(self, keys: Keys, *, required: bool, remember_s: int) -> None:
        self.keys = keys
        self.required = required
        self.remember_s = remember_s
        self._challenges = URLSafeSerializer(keys.challenge_secret, salt="login-challenge")

    @classmethod
    def from_settings(cls, settings: Settings) -> TwoFactor:
        return cls(
            Keys(settings.secret_key.get_secret_value()),
            required=settings.two_factor_is_required,
            remember_s=settings.two_factor_remember_s,
        )

    def required_for(self, user: User) -> bool:
        """Whether `user` may not work without a second factor."""
        return self.required and user.role not in EXEMPT_ROLES

    def after_password(self, session: Session, clock: Clock, user: User, device_token: str | None) -> LoginStep:
        """The login's next step: a code if a factor is enrolled and this browser is not remembered; else a
        session, limited to enrolment when a factor is required and none is enrolled yet."""
        confirmed = session.scalar(select(TotpFactor.confirmed_at).where(TotpFactor.user_id == user.id))
        if confirmed is None:
            return LoginStep(enrolment_only=self.required_for(user))
        if device_token and self._remembered(session, clock, user, device_token):
            return LoginStep()
        return LoginStep(challenge=self.challenge(clock, user))

    def challenge(self, clock: Clock, user: User) -> SecondFactorRequired:
        """A signed, short-lived proof that `user` gave the right password, to be answered with a code."""
        expires_at = clock.now() + timedelta(seconds=CHALLENGE_TTL_S)
        token = self._challenges.dumps({"u": user.id, "e": int(expires_at.timestamp())})
        return SecondFactorRequired(challenge=token, expires_at=expires_at)

    def challenged_user(self, clock: Clock, challenge: str) -> int:
        """The id of the user a challenge was given to; ChallengeInvalid if forged or expired."""
        try:
            data = self._challenges.loads(challenge)
        except BadSignature:
            raise ChallengeInvalid("challenge: not valid; log in again with your password") from None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("u"), int)
            or not isinstance(data.get("e"), int)
        ):
            raise ChallengeInvalid("challenge: not valid; log in again with your password")
        if clock.now().timestamp() >= data["e"]:
            raise ChallengeInvalid("challenge: expired; log in again with your password")
        return data["u"]

    def _remembered(self, session: Session, clock: Clock, user: User, device_token: str) -> bool:
        found = session.scalar(
            select(RememberedDevice.id).where(
                RememberedDevice.token_sha256 == token_digest(device_token),
                RememberedDevice.user_id == user.id,
                RememberedDevice.revoked_at.is_(None),
                RememberedDevice.expires_at > clock.now(),
            )
        )
        return found is not None
