"""Failure drills for the matching round over every area (issue 18), on real worker processes, PostgreSQL, Redis
and the fake Twilio: a worker stopped mid-round, holding every area's lock, then killed (SIGKILL) leaves nothing
half-written and the next round offers every case; two rounds at once in two processes offer no physician and
no case twice; a cross-area offer timing out while Twilio fails escalates, to the case's own area first."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from rq import Queue, Worker
from sqlalchemy import select, text

from dispatch.cases.models import Case, CaseEvent
from dispatch.clock import SystemClock
from dispatch.offers.locks import lock_matching
from dispatch.offers.models import Offer, OfferState
from dispatch.programme.models import MedicalArea, Municipality
from dispatch.queue import QUEUE_NAME
from dispatch.roster.models import Physician, PhysicianRole, Shift
from dispatch.sms.models import SmsMessage
from tests.night import Night, start_night
from tests.production import wait_for
from tests.test_deadline_drills import Processes

TAKO_PATIENT = {"clinic_patient_number": "K-0001"}  # 多古町, 香取海匝
KATORI, NARITA, YACHIMATA = "代診 香取", "代診 成田", "代診 八街"
# After the dead round's backend is gone, the next round has offered (and sent) every case within this.
NEXT_ROUND_BOUND_S = 5.0
_LOCK_WAITERS = (
    "SELECT application_name, pid, query FROM pg_stat_activity "
    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


@pytest.fixture
def stack(settings, tmp_path) -> Iterator[tuple[Night, Processes]]:
    """Both demo areas on the wall clock, every substitute on call for every town; start the workers."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the drills run several processes on one database: PostgreSQL")
    with start_night(settings, SystemClock(), areas=True) as night:
        now = night.clock.now()
        with night.services.session_factory() as session:
            towns = list(session.scalars(select(Municipality)))
            substitutes = session.scalars(select(Physician).where(Physician.role == PhysicianRole.substitute))
            for physician in substitutes:
                shift = Shift(
                    physician_id=physician.id,
                    starts_at=now - timedelta(hours=1),
                    ends_at=now + timedelta(hours=2),
                )
                shift.coverage = list(towns)
                session.add(shift)
            session.commit()
        processes = Processes(night, tmp_path)
        try:
            yield night, processes
        finally:
            processes.close()


def _start_workers(night: Night, processes: Processes, *names: str) -> None:
    """`dispatch worker` processes, each connecting to PostgreSQL under its own name (libpq's PGAPPNAME)."""
    env = processes.env
    for name in names:
        processes.env = {**env, "PGAPPNAME": name}
        processes.start(name, "worker", "--no-scheduler")
    processes.env = env
    wait_for("the workers", lambda: len(Worker.all(connection=night.services.redis)) == len(names), 30)


def _lock_waiters(night: Night) -> dict[str, tuple[int, str]]:
    """{worker: (backend pid, its statement)} of every connection to the database waiting for a lock."""
    with night.services.engine.connect() as conn:
        return {name: (pid, query) for name, pid, query in conn.execute(text(_LOCK_WAITERS))}


def _backend_state(night: Night, pid: int) -> str | None:
    with night.services.engine.connect() as conn:
        return conn.scalar(text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})


def _group_signal(processes: Processes, name: str, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(processes.running[name].pid, sig)


def _offer_sms_sent(night: Night, *case_ids: int) -> bool:
    return all(any(f"#K{case_id} " in m.body for m in night.offers()) for case_id in case_ids)


def assert_nothing_half_written(night: Night) -> None:
    """Every offer has its `offered` event and its SMS; every case `offered` points at a pending offer of its
    own; no physician and no case holds two pending offers; each offer SMS reached Twilio once."""
    with night.services.session_factory() as session:
        offers = list(session.scalars(select(Offer)))
        events = {
            e.data.get("offer_id")
            for e in session.scalars(select(CaseEvent).where(CaseEvent.to_state == "offered"))
        }
        sms = [m.offer_id for m in session.scalars(select(SmsMessage).where(SmsMessage.purpose == "offer"))]
        by_id = {o.id: o for o in offers}
        for case in session.scalars(select(Case).where(Case.state == "offered")):
            offer = by_id.get(case.current_offer_id or 0)
            assert offer is not None and offer.case_id == case.id and offer.state is OfferState.pending, case.id
    for offer in offers:
        assert offer.id in events, f"offer {offer.id} without its event"
        assert sms.count(offer.id) == 1, f"offer {offer.id}: {sms.count(offer.id)} SMS"
    pending = [o for o in offers if o.state is OfferState.pending]
    assert len({o.case_id for o in pending}) == len({o.physician_id for o in pending}) == len(pending)
    phones = [m.to for m in night.offers()]
    assert len(phones) == len({(m.to, m.body) for m in night.offers()})  # none sent twice


def test_a_worker_stopped_mid_round_then_killed_leaves_nothing_half_and_the_next_round_offers(stack):
    night, processes = stack
    inba_case, katori_case = night.call(), night.call(patient=TAKO_PATIENT)
    for case_id in (inba_case, katori_case):
        night.decide_visit(case_id, run_jobs=False)  # two matching jobs queued, no worker yet
    with night.services.session_factory() as blocker:
        # The 香取海匝 case's row held (FOR NO KEY UPDATE: offers may still point at it): the round that takes
        # it up writes its offers, then waits to move the case, holding every area's lock; the other
        # worker's round waits for that lock.
        blocker.execute(select(Case.id).where(Case.id == katori_case).with_for_update(key_share=True))
        _start_workers(night, processes, "worker-1", "worker-2")
        waiting = processes.wait_for("two rounds waiting", lambda: len(_lock_waiters(night)) == 2, 15)
        assert waiting
        rounds = _lock_waiters(night)
        holder = next(
            name for name, (_, query) in rounds.items() if query.lstrip().upper().startswith("UPDATE")
        )
        [queued] = set(rounds) - {holder}
        assert "programme" in rounds[queued][1] and "FOR NO KEY UPDATE" in rounds[queued][1], rounds
        _group_signal(processes, holder, signal.SIGSTOP)  # the host freezes mid-round
        blocker.rollback()
    # The round's statement goes through on the server; its client never sends another: open, half-way.
    dead = rounds[holder][0]
    wait_for(
        "the frozen round idle in its transaction",
        lambda: _backend_state(night, dead) == "idle in transaction",
        5,
    )
    assert night.state(inba_case) == night.state(katori_case) == "dispatching"  # nothing of it visible
    time.sleep(0.3)
    assert list(_lock_waiters(night)) == [queued] and night.offers() == []  # the other round still waits

    processes.kill(holder)  # the frozen host dies: the server ends its transaction and frees its locks
    killed = time.monotonic()
    processes.wait_for(
        "both cases offered by the next round", lambda: _offer_sms_sent(night, inba_case, katori_case), 10
    )
    took = time.monotonic() - killed
    print(
        f"\nafter the frozen round's worker was killed, the waiting round had both offers sent in {took:.2f} s"
    )
    assert took < NEXT_ROUND_BOUND_S
    assert _backend_state(night, dead) is None  # its connection is gone, and with it the round's locks
    assert night.state(inba_case) == night.state(katori_case) == "offered"
    assert_nothing_half_written(night)
    log = processes.log(queued)
    assert "Traceback" not in log, log[-2000:]


def test_two_rounds_at_once_in_two_processes_offer_no_physician_or_case_twice(stack):
    night, processes = stack
    patients = [{}, TAKO_PATIENT] * 4  # eight cases, both areas: more than the physicians on call
    cases = [night.call(patient=p) if p else night.call() for p in patients]
    for case_id in cases:
        night.decide_visit(case_id, run_jobs=False)
    with night.services.session_factory() as gate:
        lock_matching(gate)  # both workers' rounds start, and queue behind this, then run at once
        _start_workers(night, processes, "worker-1", "worker-2")
        processes.wait_for("two rounds waiting at once", lambda: len(_lock_waiters(night)) == 2, 10)
        gate.commit()
    with night.services.session_factory() as session:
        physicians = session.scalar(
            select(text("count(*)")).select_from(Physician).where(Physician.role == PhysicianRole.substitute)
        )
    offered = min(len(cases), physicians)
    processes.wait_for("every physician offered a case", lambda: len(night.offers()) >= offered, 15)
    wait_for("the queue drained", lambda: Queue(QUEUE_NAME, connection=night.services.redis).count == 0, 10)
    time.sleep(0.3)  # any round still running ends: nothing more may be offered
    assert len(night.offers()) == offered
    assert len({m.to for m in night.offers()}) == offered  # one offer SMS per physician
    states = [night.state(case_id) for case_id in cases]
    assert states.count("offered") == offered and states.count("unfilled") == len(cases) - offered
    assert_nothing_half_written(night)
    for name in ("worker-1", "worker-2"):
        assert "Traceback" not in processes.log(name), processes.log(name)[-2000:]


@pytest.fixture
def areas_night(settings, clock) -> Iterator[Night]:
    with start_night(settings, clock, areas=True) as n:
        yield n


def _offers(night: Night, case_id: int) -> list[Offer]:
    with night.services.session_factory() as session:
        return list(session.scalars(select(Offer).where(Offer.case_id == case_id).order_by(Offer.id)))


def _physician(night: Night, offer: Offer) -> str:
    with night.services.session_factory() as session:
        return session.get_one(Physician, offer.physician_id).name


def test_a_cross_area_offer_timing_out_while_twilio_fails_goes_to_the_own_area_first_then_counts_there(
    areas_night,
):
    night = areas_night
    with night.services.session_factory() as session:
        inba = session.scalar(select(MedicalArea.id).where(MedicalArea.code == "inba"))
    # 香取海匝's only substitute is out on a visit: a second 香取海匝 call goes to 印旛's nearest (広域連携).
    busy = night.call(patient=TAKO_PATIENT)
    night.decide_visit(busy)
    night.reply(night.phone(KATORI), f"{busy} Y")
    case_id = night.call(patient=TAKO_PATIENT)
    night.decide_visit(case_id)
    [first] = _offers(night, case_id)
    assert (_physician(night, first), first.from_area_id) == (NARITA, inba)
    # 香取 finishes his visit (free again); 成田 lets the offer run out while Twilio is down.
    night.reply(night.phone(KATORI), f"{busy} 到着")
    night.reply(night.phone(KATORI), f"{busy} 完了")
    night.fake.outage(503)
    night.advance(minutes=3, seconds=5)
    timed_out, second = _offers(night, case_id)
    assert timed_out.state is OfferState.timed_out
    assert (_physician(night, second), second.from_area_id, second.state) == (KATORI, None, OfferState.pending)
    assert night.state(case_id) == "offered"
    assert not any(f"#K{case_id} " in m.body for m in night.offers(night.phone(KATORI)))  # not sent yet
    night.fake.recover()
    night.advance(seconds=11)  # the sweep sends the SMS Twilio refused
    assert f"#K{case_id} " in night.offer_for(case_id).body and night.offer_for(case_id).to == night.phone(
        KATORI
    )

    # He cannot go after all: the next nearest of 印旛 (成田 timed out) is offered and accepts.
    night.reply(night.phone(KATORI), f"{case_id} N")
    night.run_jobs()
    third = _offers(night, case_id)[-1]
    assert (_physician(night, third), third.from_area_id) == (YACHIMATA, inba)
    assert "受諾を受け付けました" in night.reply(night.phone(YACHIMATA), f"{case_id} Y")
    assert night.case(case_id)["visiting_area_id"] == inba
    night.reply(night.phone(YACHIMATA), f"{case_id} 到着")
    outcome = night.http.post(
        f"/api/v1/cases/{case_id}/outcome",
        headers=night.headers("operator"),
        json={"outcome": "treated_at_home", "treatment": "酸素流量調整"},
    )
    assert outcome.status_code == 200, outcome.text
    assert_nothing_half_written(night)

    # Counted in the patient's area (received from 印旛), given by 印旛, once in the prefecture.
    login = night.http.post(
        "/api/v1/auth/login", json={"username": "prefecture", "password": "prefecture-demo"}
    )
    night.http.cookies.clear()
    analyst = {"Authorization": f"Bearer {login.json()['access_token']}"}

    def report(**unit: str) -> dict:
        response = night.http.get(
            "/api/v1/reports/clinics", params={"fiscal_year": 2024, **unit}, headers=analyst
        )
        assert response.status_code == 200, response.text
        return response.json()

    katori, inba_report = report(area="katori-kaiso"), report(area="inba")
    assert katori["cross_area"]["received"] == 1 and katori["cross_area"]["given"] == 0
    assert inba_report["cross_area"]["given"] == 1 and inba_report["cross_area"]["received"] == 0
    assert katori["total"]["house_calls"] == 1  # this one: the busy case has no outcome yet
    assert inba_report["total"]["house_calls"] == 0
