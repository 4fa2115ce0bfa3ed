"""What the benchmark and the instruction counts stand on: the bench clinic and its night, physicians on
call, cases logged and claimed, the visit decision, percentiles, and the count of cases left stalled."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from dispatch.cases.states import TERMINAL_STATES, CaseState
from dispatch.models import Municipality, Physician, PhysicianRole  # every mapper, so relationships resolve
from simulations.plan import ClinicPlan
from simulations.replay import Replay
from simulations.stack import Stack

BENCH_CLINIC = "ベンチ診療所"
BENCH_PLAN = ClinicPlan(BENCH_CLINIC, "clinic", date(2024, 4, 1), 100)
INTAKE_BODY = {
    "caller_relation": "family",
    "callback_phone": "090-1234-5678",
    "chief_complaint": "bench",
    "attending_unavailable": "no_answer",
    "provisional_urgency": "white",
}
VISIT_DECISION = {"disposition": "visit_urgent", "urgency": "orange", "jtas_level": 2}


def percentiles_ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered) * 1000, 1), "p99": round(p99 * 1000, 1)}


def add_physicians(stack: Stack, api, count: int, around: datetime) -> None:
    """`count` more substitute physicians (straight into the database: the API enrols none), on call
    everywhere from an hour before `around` to six hours after."""
    engine = create_engine(stack.database_url)
    with Session(engine) as session:
        towns = list(session.scalars(select(Municipality).order_by(Municipality.id)))
        physicians = [
            Physician(
                name=f"ベンチ医師{n}",
                role=PhysicianRole.substitute,
                phone_e164=f"+81804567{n:04d}",
                base_municipality_id=towns[n % len(towns)].id,
                base_latitude=towns[n % len(towns)].latitude,
                base_longitude=towns[n % len(towns)].longitude,
                active=True,
            )
            for n in range(count)
        ]
        session.add_all(physicians)
        session.commit()
        ids, coverage = [p.id for p in physicians], [t.id for t in towns]
    engine.dispose()
    for physician_id in ids:
        api(
            "admin",
            "POST",
            "/api/v1/roster/shifts",
            json={
                "physician_id": physician_id,
                "starts_at": (around - timedelta(hours=1)).isoformat(),
                "ends_at": (around + timedelta(hours=6)).isoformat(),
                "coverage": coverage,
            },
        )


def bench_night(stack: Stack) -> tuple[Replay, datetime]:
    """The benchmark's clinic (100 patients, contracted from April 2024) set up through the API, and the
    shared clock at a November night in its service hours."""
    run = Replay(stack, random.Random(1), 0.0, 0.0)
    run.set_up([BENCH_PLAN], 2024)
    night = datetime(2024, 11, 20, 21, 0, tzinfo=UTC)
    run.set_clock(night)
    return run, night


def open_case(run: Replay, patient_id: int) -> int:
    """Log a call and claim it as the consulting physician: a case ready for its decision."""
    case_id = run.api(
        "operator", "POST", "/api/v1/cases", json={"patient": {"patient_id": patient_id}, **INTAKE_BODY}
    ).json()["id"]
    run.api("consult", "POST", f"/api/v1/cases/{case_id}/claim")
    return case_id


def open_cases(run: Replay, count: int) -> list[int]:
    """`count` cases about the bench clinic's patients in turn, each logged and claimed (`open_case`)."""
    patients = run.patients[BENCH_PLAN.key]
    return [open_case(run, patients[n % len(patients)]) for n in range(count)]


def lost_cases(run: Replay) -> int:
    """Open cases that are neither waiting for triage (intake's) nor visited (the chain's): stalled ones."""
    waiting = {CaseState.triage_pending, CaseState.visit_completed}
    stalled = [s.value for s in CaseState if s not in TERMINAL_STATES and s not in waiting]
    return len(run.api("admin", "GET", "/api/v1/cases", params={"state": stalled, "limit": 1000}).json())
