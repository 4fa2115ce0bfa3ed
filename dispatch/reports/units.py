"""Report units (広域連携): an area, a 保健所, a district medical association or the prefecture; who may read
which; and the index a reader picks one from."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from dispatch.areas.models import HealthCentre, MedicalAssociation
from dispatch.auth.models import Role, User
from dispatch.cases.models import Case
from dispatch.clinics.models import Clinic
from dispatch.programme.models import MedicalArea, Municipality, Programme
from dispatch.programme.service import YearNotReportable, check_reportable, get_programme
from dispatch.reports.schemas import AreaUnit, AssociationUnit, HealthCentreUnit, UnitRef, UnitsIndex


@dataclass(frozen=True)
class Unit:
    """What a report counts: an area's programme, the calls from some towns, or every programme."""

    ref: UnitRef
    programmes: tuple[Programme, ...]  # whose clinics and counting rules apply, in the prefecture's area order
    area_id: int | None  # the area itself (area units) or the area it lies in (None: the prefecture)
    towns: tuple[int, ...] | None = None  # 保健所 and association units: the calls from these towns

    def calls(self) -> list[ColumnElement[bool]]:
        """The conditions that pick the unit's calls."""
        if self.towns is not None:
            return [Case.municipality_id.in_(self.towns)]
        if self.ref.kind == "area":
            return [Case.programme_id == self.programmes[0].id]
        # The prefecture: every programme's (each lies in an area), read by the programme's index.
        return [Case.programme_id.in_([p.id for p in self.programmes])]

    @property
    def by_programme(self) -> bool:
        """An area or the prefecture: the calls of its programmes, wherever they came from."""
        return self.towns is None


class UnitNotFound(LookupError):
    """No such area, 保健所 or association (or an area with no programme here): 404."""


class UnitForbidden(PermissionError):
    """The reader may not read this unit's report: 403, naming the rule."""


def _programmes(session: Session) -> list[Programme]:
    return list(
        session.scalars(
            select(Programme).join(MedicalArea).order_by(MedicalArea.position, MedicalArea.id, Programme.id)
        )
    )


def _area_ref(area: MedicalArea) -> UnitRef:
    return UnitRef(
        kind="area", id=area.id, code=area.code, name=area.name, area_code=area.code, area_name=area.name
    )


def programme_unit(programme: Programme) -> Unit:
    """The unit of one programme: its area."""
    return Unit(_area_ref(programme.area), (programme,), programme.area_id)


def reporting(unit: Unit, year: int, now: datetime) -> Unit | None:
    """The unit with only the programmes that report fiscal year `year` at `now`; None when none does."""
    kept = []
    for programme in unit.programmes:
        try:
            check_reportable(programme, year, now)
            kept.append(programme)
        except YearNotReportable:
            continue
    return dataclasses.replace(unit, programmes=tuple(kept)) if kept else None


def _area_unit(session: Session, code: str) -> Unit:
    area = session.scalar(select(MedicalArea).where(MedicalArea.code == code))
    if area is None:
        raise UnitNotFound(f"area: no area has the code {code!r} (GET /api/v1/reports/units lists them)")
    programme = session.scalar(select(Programme).where(Programme.area_id == area.id).order_by(Programme.id))
    if programme is None:
        raise UnitNotFound(
            f"area: {code} ({area.name}) has no programme on this deployment; the calls from its towns are in "
            "its 保健所' and associations' reports"
        )
    return programme_unit(programme)


def _towns(session: Session, column, unit_id: int) -> tuple[int, ...]:
    return tuple(session.scalars(select(Municipality.id).where(column == unit_id).order_by(Municipality.id)))


def resolve(
    session: Session,
    *,
    default_code: str,
    area: str | None = None,
    health_centre: int | None = None,
    association: int | None = None,
    prefecture: bool = False,
) -> Unit:
    """The unit a report asks for (at most one given; none: the programme `default_code`)."""
    if prefecture:
        areas = session.scalars(select(MedicalArea.prefecture).order_by(MedicalArea.position)).first()
        ref = UnitRef(kind="prefecture", id=None, code=None, name=areas or "県", area_code=None, area_name=None)
        return Unit(ref, tuple(_programmes(session)), None)
    if area is not None:
        return _area_unit(session, area)
    if health_centre is not None:
        centre = session.get(HealthCentre, health_centre)
        if centre is None:
            raise UnitNotFound(f"health_centre: no 保健所 has the id {health_centre}")
        place = session.get_one(MedicalArea, centre.area_id)
        ref = UnitRef(
            kind="health_centre",
            id=centre.id,
            code=None,
            name=centre.name,
            area_code=place.code,
            area_name=place.name,
        )
        towns = _towns(session, Municipality.health_centre_id, centre.id)
        return Unit(ref, tuple(_programmes(session)), place.id, towns)
    if association is not None:
        found = session.get(MedicalAssociation, association)
        if found is None:
            raise UnitNotFound(f"association: no district medical association has the id {association}")
        place = session.get_one(MedicalArea, session.get_one(HealthCentre, found.health_centre_id).area_id)
        ref = UnitRef(
            kind="medical_association",
            id=found.id,
            code=None,
            name=found.name,
            area_code=place.code,
            area_name=place.name,
        )
        towns = _towns(session, Municipality.medical_association_id, found.id)
        return Unit(ref, tuple(_programmes(session)), place.id, towns)
    return programme_unit(get_programme(session, default_code))


def default_unit(session: Session, user: User, default_code: str) -> Unit:
    """What a report without a unit shows: an area coordinator's own area, a clinic admin's clinic's area,
    else the deployment's default programme (as before areas existed)."""
    if user.role is Role.coordinator and user.area_id is not None:
        return _area_unit(session, session.get_one(MedicalArea, user.area_id).code)
    if user.role is Role.clinic_admin and user.clinic_id is not None:
        clinic = session.get_one(Clinic, user.clinic_id)
        return programme_unit(session.get_one(Programme, clinic.programme_id))
    return resolve(session, default_code=default_code)


def check_access(session: Session, user: User, unit: Unit) -> None:
    """Raise UnitForbidden unless `user` may read `unit`'s report."""
    if user.role is Role.coordinator and user.area_id is not None:
        if unit.area_id != user.area_id:
            own = session.get_one(MedicalArea, user.area_id)
            raise UnitForbidden(
                f"an area coordinator reads the reports of their own area only ({own.code} {own.name}: the "
                "area, its 保健所 and its district medical associations)"
            )
    elif user.role is Role.clinic_admin:
        own_area = session.scalar(
            select(Programme.area_id)
            .join(Clinic, Clinic.programme_id == Programme.id)
            .where(Clinic.id == user.clinic_id)
        )
        if unit.ref.kind != "area" or unit.area_id != own_area:
            raise UnitForbidden(
                "a clinic admin reads their own clinic's figures only, in their programme's area report"
            )


def index(session: Session, user: User, default_code: str) -> UnitsIndex:
    """Every unit `user` may read: areas → 保健所 → associations, and the prefecture when allowed."""
    try:
        default = default_unit(session, user, default_code).ref
    except UnitNotFound:  # an area coordinator's area with no programme here: its 保健所 still have reports
        default = _area_ref(session.get_one(MedicalArea, user.area_id))
    programmes = {p.area_id: p.code for p in reversed(_programmes(session))}
    areas = list(session.scalars(select(MedicalArea).order_by(MedicalArea.position, MedicalArea.id)))
    centres = list(session.scalars(select(HealthCentre).order_by(HealthCentre.position, HealthCentre.id)))
    associations = list(
        session.scalars(select(MedicalAssociation).order_by(MedicalAssociation.position, MedicalAssociation.id))
    )
    whole = user.role in (Role.prefecture_analyst, Role.admin) or (
        user.role is Role.coordinator and user.area_id is None
    )
    clinic_admin = user.role is Role.clinic_admin
    shown = [a for a in areas if whole or a.id == default.id]
    return UnitsIndex(
        default=default,
        prefecture=(areas[0].prefecture if areas else None) if whole else None,
        areas=[
            AreaUnit(
                id=area.id,
                code=area.code,
                name=area.name,
                programme=programmes.get(area.id),
                health_centres=[]
                if clinic_admin
                else [
                    HealthCentreUnit(
                        id=centre.id,
                        name=centre.name,
                        associations=[
                            AssociationUnit(id=a.id, name=a.name)
                            for a in associations
                            if a.health_centre_id == centre.id
                        ],
                    )
                    for centre in centres
                    if centre.area_id == area.id
                ],
            )
            for area in shown
        ],
    )
