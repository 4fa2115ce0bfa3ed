"""Job entry points: thin, each takes only ids, and each is safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from dispatch.db import unit_of_work
from dispatch.flow import calls, coverage_gaps, reconciler, runner
from dispatch.flow import shift_reminders as reminders
from dispatch.handoffs import service as handoff_service
from dispatch.heartbeats import beat
from dispatch.programme.models import Programme
from dispatch.reports import warm
from dispatch.sqlite_lock import retry_locked
from dispatch.triage.service import release_idle_claims as release_idle_triage_claims
from workers.context import services
from workers.context import warm as warm_up  # noqa: F401 - `dispatch worker` calls it by this module's name


def heartbeat() -> None:
    """Record that a worker is taking jobs; the health endpoint reports its age."""
    beat(services().redis, "worker")


@retry_locked
def release_idle_claims() -> list[int]:
    """Return triage claims left idle past the limit to the queue."""
    svc = services()
    with unit_of_work(svc.session_factory) as session:
        return release_idle_triage_claims(session, svc.clock, svc.settings.triage_claim_idle_s)


@retry_locked
def drive_case(case_id: int) -> list[int]:
    """A case needs a physician: run a matching round (for every waiting case) and send the offers."""
    return runner.drive(services())


@retry_locked
def send_sms(message_id: int) -> bool:
    """Send a queued SMS unless someone already has."""
    return runner.send(services(), message_id)


@retry_locked
def offer_deadline(offer_id: int) -> bool:
    """An offer's deadline: the trigger only; the deadline itself is on the offer row."""
    return runner.on_deadline(services(), offer_id)


@retry_locked
def offer_call(offer_id: int) -> bool:
    """An offer's call time: ring the physician if it is still unanswered (once per offer)."""
    return calls.call_if_due(services(), offer_id)


@retry_locked
def place_call(call_id: int) -> bool:
    """Place a written call (the coordinator's alert) unless someone already has."""
    return calls.place_call(services(), call_id)


@retry_locked
def reconcile() -> dict:
    """The sweep: re-drive whatever the database says needs work that no job holds."""
    sweep = reconciler.reconcile(services())
    return {
        "timed_out": sweep.timed_out,
        "resent": sweep.resent,
        "rematched": sweep.rematched,
        "reported": sweep.reported,
        "recovered": sweep.recovered,
    }


@retry_locked
def handoffs() -> dict:
    """The morning handoff reports, and the noon flag for any left unacknowledged: every area's programme."""
    svc = services()
    made, flagged = [], []
    with unit_of_work(svc.session_factory) as session:
        for snapshot in svc.reference.all(session):
            programme = session.get_one(Programme, snapshot.id)
            made += handoff_service.make_handoffs(
                session, svc.clock, programme, svc.settings.handoff_time, svc.settings.public_base_url
            )
            flagged += handoff_service.flag_unacknowledged(
                session, svc.clock, programme, svc.settings.handoff_ack_deadline
            )
        return {"made": [h.id for h in made], "flagged": [h.id for h in flagged]}


@retry_locked
def coverage_gaps_tonight() -> dict:
    """From the afternoon on: tonight's coverage gaps alerted to each area's coordinator (SMS and board), once
    per area and night: every area's programme."""
    svc = services()
    alerted: set[str] = set()
    with unit_of_work(svc.session_factory) as session:
        for snapshot in svc.reference.all(session):
            programme = session.get_one(Programme, snapshot.id)
            found = coverage_gaps.alert_tonight(session, svc.clock, programme, svc.settings.gap_alert_time)
            alerted |= {g.municipality_code for g in found}
        return {"alerted": sorted(alerted)}


def shift_reminders() -> list[int]:
    """The reminder SMS before each turn on call, once per turn; the ids of the SMS queued."""
    svc = services()
    lead = timedelta(seconds=svc.settings.shift_reminder_lead_s)
    with unit_of_work(svc.session_factory) as session:
        return reminders.send_due(session, svc.clock, lead, svc.settings.timezone)


def warm_reports() -> dict | None:
    """The reports' missing ended months counted again, for every area and the prefecture; None when another
    run is at it (an advisory lock), or on SQLite (no cache)."""
    svc = services()
    return warm.warm(svc.session_factory, svc.clock.now())
