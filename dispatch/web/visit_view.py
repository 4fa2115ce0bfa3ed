"""What the physician's details page shows, in words: the case, the patient, the visit's times and its
outcome. Never a machine value, a raw dictionary or a number in E.164."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.cases.models import Case, CaseEvent
from dispatch.cases.states import CaseState
from dispatch.clinics.models import Clinic
from dispatch.clock import Clock
from dispatch.patients.models import Enrolment, Patient
from dispatch.phones import InvalidPhoneNumber, national, to_e164
from dispatch.roster.models import Physician
from dispatch.web.visit_outcome import OutcomePart, outcome_part

S = CaseState
# The times the page shows, in the order they happen.
STEP_STATES = (S.accepted, S.en_route, S.on_scene, S.visit_completed)
# The one next step for the state the case is in (the progress post's `step`).
NEXT_STEP = {S.accepted: "en_route", S.en_route: "arrived", S.on_scene: "completed"}
# After arriving the outcome may be recorded (it completes the visit), and corrected until the handoff.
OUTCOME_STATES = frozenset({S.on_scene, S.visit_completed})
MAPS = "https://www.google.com/maps/search/?api=1&query="
VITALS = ("temperature_c", "pulse_bpm", "blood_pressure", "spo2_percent", "respiratory_rate")


@dataclass(frozen=True)
class Phone:
    """A number to tap: shown as 090-1234-5678, dialled as tel:+819012345678."""

    text: str
    href: str


@dataclass
class VisitView:
    """Everything the template reads; strings already in the reader's words."""

    reference: str
    state: str
    urgency: str | None
    urgency_code: str
    jtas: str | None
    disposition: str | None
    note: str | None
    steps: list[tuple[str, str, str]]  # (label, HH:MM, ISO) for every step recorded so far
    next_step: str | None
    at: dict[str, str]  # state → ISO time, for the outcome's departed / arrived / ended
    call: list[tuple[str, str]]
    callback: Phone | None
    patient: list[tuple[str, str]] = field(default_factory=list)
    banner: list[str] = field(default_factory=list)
    dnar: bool = False
    address: str | None = None
    map_url: str | None = None
    key_person: tuple[str, Phone | None] | None = None
    attending: tuple[str, Phone | None] | None = None
    attending_physician: str | None = None
    identified: bool = False
    outcome: OutcomePart | None = None  # from arrival on


def phone(raw: str | None) -> Phone | None:
    """A stored number (E.164 or as typed) as a tap-to-call link; None when there is none."""
    if not raw:
        return None
    try:
        e164 = to_e164(raw)
    except InvalidPhoneNumber:
        return Phone(raw, "tel:" + "".join(c for c in raw if c.isdigit() or c == "+"))
    return Phone(national(e164), f"tel:{e164}")


def age_on(born: date, day: date) -> int:
    """Whole years of age on `day`."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def japanese_day(day: date) -> str:
    """2024-05-01 as 2024年5月1日."""
    return f"{day.year}年{day.month}月{day.day}日"


def _step_times(session: Session, case: Case) -> dict[CaseState, datetime]:
    """When the case entered each step of its visit, since the latest acceptance (a reassignment restarts)."""
    rows = session.execute(
        select(CaseEvent.to_state, CaseEvent.at)
        .where(
            CaseEvent.case_id == case.id, CaseEvent.kind == "transition", CaseEvent.to_state.in_(STEP_STATES)
        )
        .order_by(CaseEvent.id)
    )
    times: dict[CaseState, datetime] = {}
    for state, at in rows:
        times = {} if state is S.accepted else times
        times[state] = at  # type: ignore[index]  # the query asks only for these states
    return times


def _banner(acp: dict[str, Any], t: dict[str, str]) -> tuple[list[str], bool]:
    """The care profile's ACP and DNAR as sentences (never the dictionary), and whether DNAR is set."""
    lines: list[str] = []
    dnar = acp.get("dnar")
    if dnar is True:
        lines.append(t["visit.dnar_yes"])
    elif dnar is False:
        lines.append(t["visit.dnar_no"])
    if acp.get("wishes"):
        lines.append(t["visit.acp_wishes"].format(wishes=acp["wishes"]))
    if acp.get("discussed_on"):
        try:
            day = japanese_day(date.fromisoformat(str(acp["discussed_on"])))
        except ValueError:
            day = str(acp["discussed_on"])
        lines.append(t["visit.acp_discussed"].format(day=day))
    for key, value in acp.items():
        if key not in {"dnar", "wishes", "discussed_on"} and isinstance(value, str) and value:
            lines.append(t["visit.acp_other"].format(text=value))
    return lines or [t["visit.acp_none"]], dnar is True


def _vitals(vitals: dict[str, Any], t: dict[str, str]) -> str:
    values = dict(vitals)
    if values.get("systolic_bp") is not None:
        diastolic = values.get("diastolic_bp")
        values["blood_pressure"] = f"{values['systolic_bp']}/{diastolic if diastolic is not None else '—'}"
    parts = [t[f"visit.vital.{name}"].format(v=values[name]) for name in VITALS if values.get(name) is not None]
    return "、".join(parts) or t["visit.unknown"]


def _call(
    case: Case, t: dict[str, str], labels: dict[str, dict[str, str]], tz: ZoneInfo
) -> list[tuple[str, str]]:
    intake = case.intake or {}
    caller = " ".join(
        p for p in (labels["caller_relation"].get(case.caller_relation or "", ""), case.caller_name) if p
    )
    pain = intake.get("pain_score")
    rows = [
        (t["visit.called_at"], case.called_at.astimezone(tz).strftime("%m/%d %H:%M")),
        (t["visit.caller"], caller or t["visit.unknown"]),
        (t["visit.complaint"], case.chief_complaint or t["visit.unknown"]),
        (t["visit.onset"], intake.get("onset") or t["visit.unknown"]),
        (t["visit.consciousness"], labels["consciousness"].get(intake.get("consciousness") or "unknown", "")),
        (t["visit.breathing"], labels["breathing"].get(intake.get("breathing") or "unknown", "")),
        (t["visit.pain"], str(pain) if pain is not None else t["visit.unknown"]),
        (t["visit.vitals"], _vitals(intake.get("vitals") or {}, t)),
    ]
    if reason := intake.get("attending_unavailable"):
        note = intake.get("attending_unavailable_note")
        said = labels["attending_unavailable"].get(reason, t["visit.unknown"]) + (f"（{note}）" if note else "")
        rows.append((t["visit.attending_unavailable"], said))
    return rows


def _patient(
    session: Session, view: VisitView, case: Case, patient: Patient, t: dict[str, str], today: date
) -> None:
    view.identified = True
    sex = t[f"visit.sex.{patient.sex.value}"]
    view.patient = [
        (
            t["visit.name"],
            f"{patient.family_name} {patient.given_name}"
            f"（{patient.family_name_kana} {patient.given_name_kana}）",
        ),
        (
            t["visit.age_sex"],
            f"{t['visit.age'].format(age=age_on(patient.date_of_birth, today))}・{sex}"
            f"（{t['visit.born'].format(day=japanese_day(patient.date_of_birth))}）",
        ),
        (t["visit.diagnoses"], "、".join(patient.diagnoses) or t["visit.none"]),
        (t["visit.devices"], "、".join(patient.devices) or t["visit.none"]),
    ]
    if patient.notes:
        view.patient.append((t["visit.patient_notes"], patient.notes))
    view.banner, view.dnar = _banner(patient.acp or {}, t)
    view.address = patient.address
    if patient.latitude is not None and patient.longitude is not None:
        view.map_url = MAPS + quote(f"{patient.latitude},{patient.longitude}", safe="")
    else:
        view.map_url = MAPS + quote(patient.address, safe="")
    key = patient.key_person or {}
    if key.get("name") or key.get("phone"):
        who = str(key.get("name") or "") + (f"（{key['relation']}）" if key.get("relation") else "")
        view.key_person = (who, phone(key.get("phone")))
    enrolment = session.scalar(
        select(Enrolment)
        .where(Enrolment.patient_id == patient.id, Enrolment.clinic_id == case.clinic_id)
        .order_by(Enrolment.enrolled_on.desc())
    )
    if enrolment is not None and enrolment.attending_physician_id is not None:
        attending = session.get(Physician, enrolment.attending_physician_id)
        view.attending_physician = attending.name if attending else None


def build(
    session: Session,
    case: Case,
    *,
    clock: Clock,
    tz: ZoneInfo,
    t: dict[str, str],
    labels: dict[str, dict[str, str]],
) -> VisitView:
    """The page's view of a case the link opens."""
    now = clock.now()
    times = _step_times(session, case)
    view = VisitView(
        reference=f"#{case.reference}",
        state=labels["state"][case.state.value],
        urgency=labels["urgency"][case.urgency.value] if case.urgency else None,
        urgency_code=case.urgency.value if case.urgency else "none",
        jtas=t["visit.jtas_value"].format(level=case.jtas_level) if case.jtas_level else None,
        disposition=labels["disposition"][case.disposition.value] if case.disposition else None,
        note=case.triage_note,
        steps=[
            (t[f"visit.step.{s.value}"], times[s].astimezone(tz).strftime("%H:%M"), times[s].isoformat())
            for s in STEP_STATES
            if s in times
        ],
        next_step=NEXT_STEP.get(case.state),
        at={s.value: at.isoformat() for s, at in times.items()},
        call=_call(case, t, labels, tz),
        callback=phone(case.callback_phone_e164),
    )
    patient = session.get(Patient, case.patient_id) if case.patient_id else None
    if patient is not None:
        _patient(session, view, case, patient, t, now.astimezone(tz).date())
    clinic = session.get(Clinic, case.clinic_id) if case.clinic_id else None
    if clinic is not None:
        view.attending = (clinic.label, phone(clinic.handoff_phone))
    if case.state in OUTCOME_STATES:
        view.outcome = outcome_part(session, case, clock=clock, tz=tz, t=t)
    return view
