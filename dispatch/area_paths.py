"""Which area each object named in a route's path belongs to, so that the route guard can hold an area
coordinator to their own area on every route at once (`dispatch.auth.guard.RoleGuard`).

The rule, everywhere: an object of another area answers 404, worded as for an object that does not exist
("case_id: no case 7 that you may see"), so an area coordinator learns nothing of other areas' cases. A new
route is covered by naming its object as the others do (`{case_id}`); the app refuses to start when a route
open to coordinators names an object in its path that this table does not place (`enforce_area_scopes`).
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from dispatch.areas.scope import area_programmes
from dispatch.auth.guard import iter_api_routes, route_guard
from dispatch.auth.models import Role
from dispatch.auth.scope import AreaCheck
from dispatch.cases.models import Case
from dispatch.clinics.models import Clinic
from dispatch.clinics.scope import clinics_in_area
from dispatch.handoffs.models import Handoff
from dispatch.hospitals.models import Hospital
from dispatch.patients.models import Enrolment, Patient
from dispatch.patients.scope import patients_in_area
from dispatch.roster.models import Physician, ShiftSwap, rotation_coverage, shift_coverage
from dispatch.roster.scope import physicians_in_area, rotations_in_area, shifts_in_area

# Path parameters that name no object of an area: a month of the roster or of the submissions (the route
# reads the user's own area's), a user (admin only).
NOT_AREA_BOUND = frozenset({"month", "user_id"})
PATH_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")


def _found(session: Session, query: Select) -> bool:
    return session.scalar(query.limit(1)) is not None


def _case(session: Session, area_id: int, case_id: int) -> bool:
    return _found(
        session, select(Case.id).where(Case.id == case_id, Case.programme_id.in_(area_programmes(area_id)))
    )


def _hospital(session: Session, area_id: int, hospital_id: int) -> bool:
    query = select(Hospital.id).where(
        Hospital.id == hospital_id, Hospital.programme_id.in_(area_programmes(area_id))
    )
    return _found(session, query)


def _handoff(session: Session, area_id: int, handoff_id: int) -> bool:
    query = select(Handoff.id).where(Handoff.id == handoff_id, Handoff.clinic_id.in_(clinics_in_area(area_id)))
    return _found(session, query)


def _clinic(session: Session, area_id: int, clinic_id: int) -> bool:
    return _found(session, clinics_in_area(area_id).where(Clinic.id == clinic_id))


def _shift(session: Session, area_id: int, shift_id: int) -> bool:
    return _found(session, shifts_in_area(area_id).where(shift_coverage.c.shift_id == shift_id))


def _swap(session: Session, area_id: int, swap_id: int) -> bool:
    query = select(ShiftSwap.id).where(ShiftSwap.id == swap_id, ShiftSwap.shift_id.in_(shifts_in_area(area_id)))
    return _found(session, query)


def _rotation(session: Session, area_id: int, rotation_id: int) -> bool:
    return _found(session, rotations_in_area(area_id).where(rotation_coverage.c.rotation_id == rotation_id))


def _physician(session: Session, area_id: int, physician_id: int) -> bool:
    return _found(session, physicians_in_area(area_id).where(Physician.id == physician_id))


def _patient(session: Session, area_id: int, patient_id: int) -> bool:
    return _found(session, patients_in_area(area_id).where(Patient.id == patient_id))


def _enrolment(session: Session, area_id: int, enrolment_id: int) -> bool:
    query = select(Enrolment.id).where(
        Enrolment.id == enrolment_id, Enrolment.clinic_id.in_(clinics_in_area(area_id))
    )
    return _found(session, query)


PATH_SCOPES: dict[str, AreaCheck] = {
    "case_id": _case,
    "hospital_id": _hospital,
    "handoff_id": _handoff,
    "clinic_id": _clinic,
    "shift_id": _shift,
    "swap_id": _swap,
    "rotation_id": _rotation,
    "physician_id": _physician,
    "patient_id": _patient,
    "enrolment_id": _enrolment,
}


def enforce_area_scopes(app: FastAPI) -> None:
    """Hand the guard the table above; fail start-up if a route open to coordinators names an object in its
    path that the table does not place in an area (nor declares area-free)."""
    app.state.path_scopes = PATH_SCOPES
    unplaced = []
    for path, route in iter_api_routes(app.routes):
        guard = route_guard(route)
        if guard is None or guard.public or Role.coordinator not in guard.roles:
            continue
        for param in PATH_PARAM.findall(path):
            if param not in PATH_SCOPES and param not in NOT_AREA_BOUND:
                unplaced.append(f"{path} ({param})")
    if unplaced:
        raise RuntimeError("path parameters with no area scope: " + "; ".join(unplaced))
