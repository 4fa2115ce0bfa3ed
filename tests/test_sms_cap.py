"""The hourly SMS cap per number (issue 14): a runaway loop cannot flood a physician's phone, what waits goes
out in order when the hour moves on, the coordinator is told once, and no offer is lost to it."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import case, func, select

from dispatch.cases.models import CaseEvent
from dispatch.clock import ManualClock
from dispatch.db import unit_of_work
from dispatch.flow import reconciler, runner
from dispatch.flow.sms_cap import OFFER_HELD
from dispatch.offers.models import Offer, OfferState
from dispatch.programme.models import Programme
from dispatch.roster.models import Physician, PhysicianRole
from dispatch.sms.models import SmsCapAlert, SmsMessage
from dispatch.sms.service import queue_sms
from tests.night import PASSWORDS, start_night


def _capped(settings, per_hour: int):
    return settings.model_copy(update={"sms_per_number_per_hour": per_hour})


@pytest.fixture
def night(settings, clock):
    with start_night(settings, clock) as n:
        yield n


def _body(i: int, case_id: int | None = None) -> str:
    return f"#K{case_id} 通知 {i:03d}" if case_id else f"通知 {i:03d}"


def _queue(night, phone: str, count: int, purpose: str = "withdrawn", case_id: int | None = None) -> list[int]:
    """A runaway loop: `count` SMS to one number in one transaction; their send jobs run after the commit."""
    with unit_of_work(night.services.session_factory) as session:
        messages = [
            queue_sms(session, night.clock, phone, _body(i, case_id), purpose, case_id=case_id)
            for i in range(count)
        ]
    return [m.id for m in messages]


def _statuses(night, ids: list[int]) -> dict[str, int]:
    """How many of these messages left ("sent": Twilio took them) and how many are in each other status."""
    left = case((SmsMessage.provider_sid.is_not(None), "sent"), else_=SmsMessage.status)
    with night.services.session_factory() as session:
        rows = session.execute(select(left, func.count()).where(SmsMessage.id.in_(ids)).group_by(left))
        return {status: count for status, count in rows}


def _coordinator_phone(night) -> str:
    with night.services.session_factory() as session:
        return session.scalar(select(Programme.coordinator_phone))


def _cap_alerts(night) -> list[str]:
    """The cap's alerts that reached the coordinator's phone."""
    return [m.body for m in night.fake.sent_to(_coordinator_phone(night)) if "上限" in m.body]


def test_a_runaway_sends_the_cap_then_the_rest_in_order_hour_by_hour_and_alerts_once(night):
    phone = night.phone("代診 成田")
    case_id = night.call()
    ids = _queue(night, phone, 100, case_id=case_id)
    night.run_jobs()

    sent = [m.body for m in night.fake.sent_to(phone)]
    assert sent == [_body(i, case_id) for i in range(30)]  # the default cap, the first ones
    assert _statuses(night, ids) == {"sent": 30, "held": 70}
    alerts = _cap_alerts(night)
    assert len(alerts) == 1 and "代診 成田" in alerts[0] and "30通" in alerts[0]
    with night.services.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(SmsCapAlert)) == 1
        events = session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id)).all()
        assert events.count("alert.sms_cap") == 1

    # The board and the outbox show who waits, in Japanese.
    held = night.http.get("/api/v1/sms/held", headers=night.headers("coordinator")).json()
    assert [(h["physician_name"], h["held"]) for h in held] == [("代診 成田", 70)]
    assert datetime.fromisoformat(held[0]["next_at"]) == night.clock.now() + timedelta(hours=1)
    night.http.post(
        "/api/v1/auth/login", json={"username": "coordinator", "password": PASSWORDS["coordinator"]}
    )
    outbox = night.http.get("/outbox").text  # as a browser opens it, by its login cookie
    night.http.cookies.clear()
    assert "送信保留（上限）" in outbox and 'id="sms-held"' in outbox

    # Within the hour the sweep leaves them alone: nothing sent, nothing retried, no second alert.
    with night.services.session_factory() as session:
        touched = session.scalar(select(func.max(SmsMessage.updated_at)).where(SmsMessage.status == "held"))
    for _ in range(3):
        night.advance(minutes=10)
        assert reconciler.reconcile(night.services).resent == []
    with night.services.session_factory() as session:
        assert (
            session.scalar(select(func.max(SmsMessage.updated_at)).where(SmsMessage.status == "held"))
            == touched
        )
    assert len(night.fake.sent_to(phone)) == 30 and len(_cap_alerts(night)) == 1

    # Each hour after, the next 30 go, in order, until none is left: none lost, none twice.
    for hour, expected in ((1, 60), (2, 90), (3, 100)):
        night.clock.set(night.clock.now().replace(minute=0) + timedelta(hours=1, minutes=1))
        for _ in range(4):  # a pass sends up to 20
            night.advance(seconds=5)
        assert len(night.fake.sent_to(phone)) == expected, hour
    assert [m.body for m in night.fake.sent_to(phone)] == [_body(i, case_id) for i in range(100)]
    assert _statuses(night, ids) == {"sent": 100}
    assert night.http.get("/api/v1/sms/held", headers=night.headers("coordinator")).json() == []
    assert len(_cap_alerts(night)) <= 3  # at most once an hour while it lasted


def _fill_window(night, phones: list[str], count: int) -> None:
    """These numbers were each sent `count` SMS in the last ten minutes."""
    now = night.clock.now() - timedelta(minutes=10)
    with unit_of_work(night.services.session_factory) as session:
        for phone in phones:
            for i in range(count):
                session.add(
                    SmsMessage(
                        provider_sid=f"SMfill{phone[-4:]}{i:04d}",
                        direction="outbound",
                        phone_e164=phone,
                        body="通知",
                        purpose="withdrawn",
                        status="delivered",
                        created_at=now,
                        updated_at=now,
                        sent_at=now,
                    )
                )


def test_an_offer_to_a_capped_number_goes_at_once_to_the_next_physician_saying_why(night):
    keep = "代診 八街"  # of the three who cover the patient's town, the farthest
    with night.services.session_factory() as session:
        capped = session.scalars(
            select(Physician.phone_e164).where(
                Physician.role == PhysicianRole.substitute, Physician.name != keep
            )
        ).all()
    _fill_window(night, list(capped), 30)
    case_id = night.call()
    night.decide_visit(case_id)

    assert night.state(case_id) == "offered"
    assert night.offer_for(case_id).to == night.phone(keep)
    assert all(night.fake.sent_to(phone) == [] for phone in capped)  # not one SMS more to a capped number
    with night.services.session_factory() as session:
        offers = session.execute(
            select(Offer.id, Offer.state, Physician.phone_e164)
            .join(Physician, Physician.id == Offer.physician_id)
            .where(Offer.case_id == case_id)
            .order_by(Offer.id)
        ).all()
        failed = [o for o in offers if o.state is OfferState.failed]
        assert failed, "the round never offered a capped physician: this test proves nothing"
        assert offers[-1].state is OfferState.pending and offers[-1].phone_e164 == night.phone(keep)
        reasons = session.scalars(
            select(CaseEvent.reason).where(CaseEvent.case_id == case_id, CaseEvent.reason == OFFER_HELD)
        ).all()
        assert len(reasons) == len(failed)  # each offer that could not go, said why in the timeline
        unsent = session.scalars(
            select(SmsMessage.status).where(SmsMessage.offer_id.in_([o.id for o in failed]))
        ).all()
        assert unsent == ["withdrawn"] * len(failed)  # never sent later to a case that moved on
        told = session.scalars(select(SmsCapAlert.phone_e164)).all()
    assert sorted(told) == sorted({o.phone_e164 for o in failed})  # once per capped number offered
    # The coordinator's alerts themselves went out, uncapped.
    assert len(_cap_alerts(night)) == len(failed)


def test_the_coordinators_alerts_are_never_capped(settings, clock):
    with start_night(_capped(settings, 5), clock) as night:
        phone = _coordinator_phone(night)
        ids = _queue(night, phone, 12, purpose="coordinator_alert")
        night.run_jobs()
        assert len(night.fake.sent_to(phone)) == 12
        assert _statuses(night, ids) == {"sent": 12}


@pytest.mark.parametrize("trial", range(3))
def test_many_threads_sending_to_one_number_at_once_never_pass_the_cap(settings, clock, trial):
    with start_night(_capped(settings, 3), clock) as night:
        night.fake.delay(0.05)  # each send takes a while: the others are counting meanwhile
        phone = night.phone("代診 成田")
        ids = _queue(night, phone, 12)
        night.services.redis.flushdb()  # their jobs: these threads send them instead, all at once
        barrier = threading.Barrier(len(ids))

        def send(message_id: int) -> None:
            barrier.wait()
            runner.send(night.services, message_id)

        threads = [threading.Thread(target=send, args=(i,)) for i in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        night.run_jobs()  # the coordinator's alert
        assert len(night.fake.sent_to(phone)) == 3
        assert _statuses(night, ids) == {"sent": 3, "held": 9}
        assert len(_cap_alerts(night)) == 1


# A worker process: wired as `dispatch worker` wires one; says it is ready, waits for the word, sends its jobs.
WORKER = """
import sys
from redis import Redis
from config.settings import load_settings
from workers import context, jobs
context.warm(Redis.from_url(load_settings().redis_url))
print("ready", flush=True)
sys.stdin.readline()
for message_id in sys.argv[1:]:
    jobs.send_sms(int(message_id))
"""


def test_worker_processes_sending_to_one_number_at_once_never_pass_the_cap(settings):
    # Separate processes run on the wall clock, so this night does too.
    with start_night(_capped(settings, 3), ManualClock(datetime.now(UTC))) as night:
        night.fake.delay(0.05)
        phone = night.phone("代診 成田")
        ids = _queue(night, phone, 16)
        env = night.process_env(SMS_PER_NUMBER_PER_HOUR="3")
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, *map(str, ids[i::4])],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for i in range(4)
        ]
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline() == b"ready\n"
        for worker in workers:  # go, all at once
            assert worker.stdin is not None
            worker.stdin.write(b"go\n")
            worker.stdin.flush()
        for worker in workers:
            _out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err.decode()[-2000:]
        night.run_jobs()  # the coordinator's alert
        assert len(night.fake.sent_to(phone)) == 3
        assert _statuses(night, ids) == {"sent": 3, "held": 13}
        assert len(_cap_alerts(night)) == 1


def test_a_message_twilio_could_not_take_does_not_count_against_its_own_retry(settings, clock):
    with start_night(_capped(settings, 1), clock) as night:
        phone = night.phone("代診 成田")
        night.fake.fail_next(3)  # Twilio down for the first send, its retries included
        ids = _queue(night, phone, 1)
        night.run_jobs()
        assert _statuses(night, ids) == {"pending": 1} and night.fake.sent_to(phone) == []
        night.advance(seconds=11)  # the sweep sends it again: the place it took was given back
        assert _statuses(night, ids) == {"sent": 1} and len(night.fake.sent_to(phone)) == 1
        assert _cap_alerts(night) == []


def test_every_status_an_sms_can_have_reads_in_japanese_in_the_outbox():
    from dispatch.sms.models import STATUS_ORDER
    from dispatch.web import i18n

    labels = i18n.LABELS["sms_status"]
    assert set(STATUS_ORDER) | {"withdrawn", "replied"} <= set(labels)
    assert labels["held"][0] == "送信保留（上限）"


def test_the_cap_alert_goes_to_the_coordinator_of_the_case_or_the_physicians_area(settings, clock):
    katori_coordinator, inba_coordinator = "+819011110950", "+819011110900"
    with start_night(settings, clock, areas=True) as night:
        case_id = night.call(patient={"clinic_patient_number": "K-0001"})  # a call in 香取海匝
        substitute, attending = night.phone("代診 香取"), night.phone("主治 香取ひばり")
        _queue(night, substitute, 31, case_id=case_id)  # of 香取海匝's case
        _queue(night, attending, 31)  # of no case: the physician's clinic is 香取海匝's
        night.run_jobs()

        def alerts(phone: str) -> list[str]:
            return [m.body for m in night.fake.sent_to(phone) if "上限" in m.body]

        told = alerts(katori_coordinator)
        assert (
            len(told) == 2 and any("代診 香取" in a for a in told) and any("主治 香取ひばり" in a for a in told)
        )
        assert alerts(inba_coordinator) == []


def test_a_familys_number_held_by_the_cap_is_masked_on_the_board(settings, clock):
    """The family's callback number is the caller's (read on the case's page, audited): the board's held
    banner names it by its last four digits, as the outbox does, while a physician's is named in full."""
    family = "+819011112222"
    with start_night(_capped(settings, 3), clock) as night:
        case_id = night.call(callback_phone="090-1111-2222", family_updates_consent=True)
        _queue(night, family, 5, purpose="family_accepted", case_id=case_id)
        doctor = night.phone("代診 成田")
        _queue(night, doctor, 5)
        night.run_jobs()
        for role in ("coordinator", "operator", "consult"):
            response = night.http.get("/api/v1/sms/held", headers=night.headers(role))
            assert response.status_code == 200
            held = {h["physician_name"]: h["phone_e164"] for h in response.json()}
            assert held == {None: "…2222", "代診 成田": doctor}, role
            assert "11112222" not in response.text
