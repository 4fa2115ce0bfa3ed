"""Direct, fast loading of a year's cases from a table in the reference format (for report tests and the
report benchmark; the replay drives the same table through the HTTP API instead)."""

from __future__ import annotations

import csv
import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from dispatch.cases.models import Case
from dispatch.cases.states import CaseState, Disposition, Urgency
from dispatch.clinics.models import Clinic
from dispatch.outcomes.models import CertificateBy, DeathRecord, OutcomeCode, VisitOutcome
from dispatch.patients.kana import name_key
from dispatch.patients.models import EndReason, Enrolment, Patient, Sex
from dispatch.programme.models import Municipality, Programme
from dispatch.programme.periods import fiscal_year_days, month_start
from dispatch.roster.models import Physician, PhysicianRole


def read_table(path: Path) -> list[dict[str, str]]:
    """Rows of a table in the reference columns (clinic_label, …, contract_start)."""
    with path.open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def night_time(day: date, rng: random.Random, tz: ZoneInfo) -> datetime:
    """A night-time instant on the local calendar day `day`: 00:00-06:00 or 20:00-24:00."""
    minutes = rng.randrange(10 * 60)
    start = time(20) if minutes < 4 * 60 else time(0)
    offset = minutes if minutes < 4 * 60 else minutes - 4 * 60
    return (datetime.combine(day, start, tz) + timedelta(minutes=offset)).astimezone(UTC)


def load_year(
    session: Session, programme: Programme, rows: list[dict[str, str]], year: int, seed: int = 1
) -> dict[str, int]:
    """Enrol each row's patients and insert exactly its consultations, house calls and end-of-life cases."""
    rng = random.Random(seed)
    tz = ZoneInfo(programme.timezone)
    first_day, last_day = fiscal_year_days(year)
    clinics = {c.label: c for c in session.scalars(select(Clinic).where(Clinic.programme_id == programme.id))}
    towns = list(session.scalars(select(Municipality)))
    substitute = session.scalar(select(Physician.id).where(Physician.role == PhysicianRole.substitute))
    if substitute is None:
        substitute = session.execute(
            insert(Physician).values(
                name="試験 代診医",
                role=PhysicianRole.substitute,
                active=True,
            )
        ).inserted_primary_key[0]
    made = {"patients": 0, "cases": 0}
    for row in rows:
        clinic = clinics[row["clinic_label"]]
        start = max(month_start(row["contract_start"]), first_day)
        town = next((t for t in towns if t.id == clinic.municipality_id), towns[0])
        # The table's patients are enrolled until the year's last day; each death at home has a patient of
        # its own whose enrolment the death ends, so that the table's number remains on 31 March.
        deaths = int(row["end_of_life"])
        patient_ids = []
        for n in range(int(row["enrolled_patients"]) + deaths):
            patient_ids.append(
                session.execute(
                    insert(Patient).values(
                        family_name="試験",
                        given_name=f"{n}",
                        family_name_kana="シケン",
                        given_name_kana=f"{n}",
                        name_kana_key=name_key("シケン", f"{n}"),
                        date_of_birth=date(1940, 1, 1),
                        sex=Sex.unknown,
                        address="（試験データ）",
                        municipality_id=town.id,
                        latitude=town.latitude,
                        longitude=town.longitude,
                        diagnoses=[],
                        acp={},
                        devices=[],
                        key_person={},
                    )
                ).inserted_primary_key[0]
            )
        enrolment_ids = []
        for n, patient_id in enumerate(patient_ids):
            enrolment_ids.append(
                session.scalar(
                    insert(Enrolment)
                    .values(
                        patient_id=patient_id,
                        clinic_id=clinic.id,
                        clinic_patient_number=f"FY{year}-{n}",
                        enrolled_on=start,
                        ended_on=last_day,
                        ended_at=datetime.combine(last_day + timedelta(days=1), time(0), tz),
                        end_reason=EndReason.contract_ended,
                        consent_given=True,
                        consent_at=datetime.combine(start, time(10), tz),
                        consent_by="本人",
                    )
                    .returning(Enrolment.id)
                )
            )
        made["patients"] += len(patient_ids)
        living = len(patient_ids) - deaths
        dying = list(zip(patient_ids[living:], enrolment_ids[living:], strict=True))
        patient_ids = patient_ids[:living]
        days = (last_day - start).days + 1
        kinds = (
            ["consultation"] * int(row["consultations"] or 0)
            + ["death"] * int(row["end_of_life"])
            + ["visit"] * (int(row["house_calls"]) - int(row["end_of_life"]))
        )
        for kind in kinds:
            called = night_time(start + timedelta(days=rng.randrange(days)), rng, tz)
            visit = kind != "consultation"
            case_id = session.execute(
                insert(Case).values(
                    programme_id=programme.id,
                    version=1,
                    patient_id=dying[-1][0]
                    if kind == "death"
                    else (rng.choice(patient_ids) if patient_ids else None),
                    clinic_id=clinic.id,
                    municipality_id=town.id,
                    called_at=called,
                    in_service_hours=True,
                    service_hours_rule_version=1,
                    in_contract=True,
                    intake={},
                    escalation_policy={},
                    state=CaseState.closed if visit else CaseState.closed_consultation,
                    disposition=Disposition.visit_standard if visit else Disposition.advice_only,
                    urgency=Urgency.yellow,
                    decided_at=called + timedelta(minutes=8),
                    accepted_at=called + timedelta(minutes=12) if visit else None,
                    arrived_at=called + timedelta(minutes=45) if visit else None,
                    assigned_physician_id=None,
                    created_at=called,
                    updated_at=called,
                    closed_at=called,
                )
            ).inserted_primary_key[0]
            made["cases"] += 1
            if visit:
                outcome = OutcomeCode.death_pronounced if kind == "death" else OutcomeCode.treated_at_home
                session.execute(
                    insert(VisitOutcome).values(
                        case_id=case_id,
                        outcome=outcome,
                        recorded_by="bulk",
                        recorded_at=called + timedelta(hours=1),
                    )
                )
                if kind == "death":
                    year_end = datetime.combine(last_day + timedelta(days=1), time(0), tz)
                    died_at = max(called, min(called + timedelta(minutes=50), year_end - timedelta(minutes=1)))
                    _, enrolment_id = dying.pop()
                    session.execute(
                        update(Enrolment)
                        .where(Enrolment.id == enrolment_id)
                        .values(
                            ended_on=died_at.astimezone(tz).date(),
                            ended_at=died_at,
                            end_reason=EndReason.deceased,
                            ended_by_case_id=case_id,
                        )
                    )
                    session.execute(
                        insert(DeathRecord).values(
                            case_id=case_id,
                            noticed_at=called,
                            confirmed_at=died_at,
                            confirming_physician_id=substitute,
                            related_to_treated_disease=True,
                            certificate_by=CertificateBy.substitute,
                            police_informed=False,
                        )
                    )
    return made
