"""The whole stack for a night, GoAlert-style: the API under uvicorn, the real twilio client against the
fake Twilio (which signs its callbacks), an in-process RQ worker, and one clock the test fast-forwards."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta

import httpx
from pydantic import SecretStr
from rq import SimpleWorker
from sqlalchemy import select

from config.settings import Settings, SmsProvider
from dispatch.app import create_app
from dispatch.cases.models import Case
from dispatch.clock import Clock, ManualClock
from dispatch.db import unit_of_work
from dispatch.embedded import free_port
from dispatch.flow import reconciler
from dispatch.queue import QUEUE_NAME
from dispatch.roster.models import Physician
from dispatch.seed.demo import seed_demo, seed_demo_areas
from dispatch.seed.reference import load_programme_data
from dispatch.services import Services
from simulations.fake_twilio import FakeMessage, FakeTwilio
from tests.factories import decision_body, intake_body

TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "fake-twilio-auth-token-0123456789"
PASSWORDS = {
    "operator": "operator-demo",
    "consult": "consult-demo",
    "coordinator": "coordinator-demo",
    "admin": "admin-demo",
}


def twilio_settings(settings: Settings, public_url: str, fake: FakeTwilio) -> Settings:
    return settings.model_copy(
        update={
            "sms_provider": SmsProvider.twilio,
            "twilio_account_sid": TWILIO_SID,
            "twilio_auth_token": SecretStr(TWILIO_TOKEN),
            "twilio_from_number": fake.number,
            "twilio_api_base_url": fake.url,
            "public_base_url": public_url,
        }
    )


@dataclass
class Night:
    services: Services
    fake: FakeTwilio
    url: str
    clock: Clock  # a ManualClock the test moves, or the wall clock for a night with worker processes

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url, timeout=10)
        self._headers: dict[str, dict[str, str]] = {}

    def headers(self, username: str) -> dict[str, str]:
        if username not in self._headers:
            response = self.http.post(
                "/api/v1/auth/login", json={"username": username, "password": PASSWORDS[username]}
            )
            self.http.cookies.clear()
            self._headers[username] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return self._headers[username]

    def call(self, **overrides) -> int:
        """An operator logs a call."""
        response = self.http.post(
            "/api/v1/cases", json=intake_body(**overrides), headers=self.headers("operator")
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def decide_visit(self, case_id: int, run_jobs: bool = True, **overrides) -> None:
        """The consulting physician claims the case and sends a physician; matching runs on the worker in
        this process (`run_jobs=False`: the job stays queued, for a worker process or none)."""
        doctor = self.headers("consult")
        assert self.http.post(f"/api/v1/cases/{case_id}/claim", headers=doctor).status_code == 200
        response = self.http.post(
            f"/api/v1/cases/{case_id}/decision", headers=doctor, json=decision_body(**overrides)
        )
        assert response.status_code == 200, response.text
        if run_jobs:
            self.run_jobs()

    def run_jobs(self) -> None:
        """Let an RQ worker (in this process, on this clock) take everything queued."""
        SimpleWorker([QUEUE_NAME], connection=self.services.redis).work(burst=True)

    def advance(self, **delta) -> None:
        """Fast-forward the night, then let the reconciler sweep as its cron would."""
        assert isinstance(self.clock, ManualClock), "only a night on a manual clock can be fast-forwarded"
        self.clock.advance(timedelta(**delta))
        reconciler.reconcile(self.services)
        self.run_jobs()

    def case(self, case_id: int) -> dict:
        return self.http.get(f"/api/v1/cases/{case_id}", headers=self.headers("coordinator")).json()

    def state(self, case_id: int) -> str:
        with self.services.session_factory() as session:
            return session.get(Case, case_id).state.value

    def phone(self, name: str) -> str:
        with self.services.session_factory() as session:
            return session.scalar(select(Physician.phone_e164).where(Physician.name == name))

    def offers(self, phone: str | None = None) -> list[FakeMessage]:
        return [
            m
            for m in self.fake.messages
            if m.via == "api" and m.body.startswith("【往診依頼】") and (phone is None or m.to == phone)
        ]

    def offer_for(self, case_id: int) -> FakeMessage:
        """The latest offer SMS for a case."""
        return [m for m in self.offers() if f"#K{case_id} " in m.body][-1]

    def process_env(self, **extra: str) -> dict[str, str]:
        """The environment of a `python -m dispatch worker|cron` process joining this night (or of one wired
        as a worker is), with `extra` settings."""
        settings = self.services.settings
        return {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "ENVIRONMENT": "test",
            "SMS_PROVIDER": "twilio",
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_FROM_NUMBER": self.fake.number,
            "TWILIO_API_BASE_URL": self.fake.url,
            "PUBLIC_BASE_URL": self.url,
            **extra,
        }

    def reply(self, phone: str, body: str) -> str:
        """A physician answers by SMS; returns the text of our TwiML answer ('' for none)."""
        response = self.fake.send_inbound(phone, body)
        assert response.status_code == 200, response.text
        return response.text


def visit_link(text: str) -> str:
    """The details link's path in an SMS or a TwiML answer."""
    match = re.search(r"(/visit/[\w.\-]+)", text)
    assert match is not None, f"no details link in {text!r}"
    return match.group(1)


def start_night(settings: Settings, clock: Clock, areas: bool = False):
    """A context manager yielding a Night; everything stops on exit. `areas`: with the demo's second area
    (香取海匝) beside 印旛, as `demo_areas` seeds it."""
    from contextlib import contextmanager

    import workers.context
    from tests.conftest import LiveServer, _truncate_all

    @contextmanager
    def _night():
        port = free_port()
        public = f"http://127.0.0.1:{port}"
        with FakeTwilio(
            TWILIO_SID, TWILIO_TOKEN, webhook_url=public + "/webhooks/twilio/sms", clock=clock.now
        ) as fake:
            services = Services.build(twilio_settings(settings, public, fake), clock=clock)
            _truncate_all(services)
            services.redis.flushdb()
            seed = seed_demo_areas if areas else seed_demo
            with unit_of_work(services.session_factory) as session:
                seed(session, load_programme_data("inba"), clock, services.passwords)
            workers.context.install(services)
            try:
                with LiveServer(create_app(services=services), port=port):
                    night = Night(services, fake, public, clock)
                    yield night
                    night.http.close()
            finally:
                workers.context.reset()
                services.redis.flushdb()

    return _night()
