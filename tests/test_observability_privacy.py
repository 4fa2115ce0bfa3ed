"""A whole night's path logged as production logs it (LOG_FORMAT=json) at DEBUG: no log line may hold the
patient's name, kana, phone, address, diagnoses or the caller's complaint, whatever logger wrote it."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import phonenumbers
from sqlalchemy import select

from config.settings import LogFormat
from dispatch import jobs
from dispatch.patients.models import Enrolment, Patient
from dispatch.queue import enqueue
from tests.factories import decision_body, intake_body
from tests.night import PASSWORDS, start_night
from tests.observability_support import json_log_lines, run_observed_jobs

PASSWORDS.setdefault("clinic", "clinic-demo")  # D病院's admin


def _patient_strings(night) -> set[str]:
    with night.services.session_factory() as session:
        patient = session.scalar(
            select(Patient).join(Enrolment).where(Enrolment.clinic_patient_number == "D-0001")
        )
        strings = {
            f"{patient.family_name} {patient.given_name}",
            f"{patient.family_name}{patient.given_name}",
            f"{patient.family_name_kana} {patient.given_name_kana}",
            f"{patient.family_name_kana}{patient.given_name_kana}",
            patient.address,
            *patient.diagnoses,
            patient.acp.get("wishes", ""),
            patient.key_person.get("name", ""),
        }
        phones = [patient.household_phone_e164, "+819012345678", patient.key_person.get("phone")]
    for phone in filter(None, phones):
        number = phonenumbers.parse(phone, "JP")
        strings |= {
            phone,
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
            re.sub(r"\D", "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)),
        }
    body = intake_body()
    strings |= {body["caller_name"], body["callback_phone"], body["chief_complaint"], body["onset"]}
    return {s for s in strings if s}


def test_a_whole_night_logged_as_json_at_debug_names_no_patient(settings, clock):
    settings = settings.model_copy(update={"log_format": LogFormat.json})
    assert settings.resolved_log_format is LogFormat.json
    with start_night(settings, clock) as night, json_log_lines(logging.DEBUG) as lines:
        operator = night.headers("operator")
        found = night.http.post(
            "/api/v1/patients/search", headers=operator, json={"household_phone": "043-111-0001"}
        ).json()
        night.http.get(f"/api/v1/patients/{found[0]['id']}", headers=operator)  # the care profile
        case_id = night.call()
        doctor = night.headers("consult")
        night.http.post(f"/api/v1/cases/{case_id}/claim", headers=doctor)
        night.http.post(f"/api/v1/cases/{case_id}/decision", headers=doctor, json=decision_body())
        run_observed_jobs(night.services.redis)
        night.reply(night.offer_for(case_id).to, "N")  # declined: the next physician
        run_observed_jobs(night.services.redis)
        night.clock.advance(timedelta(minutes=3, seconds=1))  # no answer: the sweep times it out
        enqueue(night.services.redis, jobs.RECONCILE)
        run_observed_jobs(night.services.redis)
        phone = night.offer_for(case_id).to
        accepted = re.search(r"(/visit/[\w.\-]+)", night.reply(phone, "はい"))
        assert accepted is not None
        link = accepted.group(1)
        night.http.get(link)  # the details page, with the care profile
        night.reply(phone, f"{case_id} 出発")
        night.reply(phone, f"{case_id} 到着")
        outcome = {"outcome": "treated_at_home", "findings": "SpO2 88%", "treatment": "酸素流量調整"}
        assert night.http.post(link + "/outcome", json=outcome).status_code == 200
        night.http.get(f"/api/v1/cases/{case_id}", headers=night.headers("coordinator"))
        night.clock.advance(timedelta(hours=9))  # 08:00: the morning handoff
        enqueue(night.services.redis, jobs.HANDOFFS)
        run_observed_jobs(night.services.redis)
        clinic = night.headers("clinic")
        [handoff] = night.http.get("/api/v1/handoffs", headers=clinic).json()
        night.http.get(f"/api/v1/handoffs/{handoff['id']}", headers=clinic)
        night.http.post(f"/api/v1/handoffs/{handoff['id']}/acknowledge", headers=clinic)
        assert night.state(case_id) == "closed"
        secrets = _patient_strings(night)
    assert len(lines) > 20  # the night was logged (DEBUG: the HTTP clients, the access log, RQ, the service)
    for line in lines:
        json.loads(line)  # one JSON object per line
        leaked = [s for s in secrets if s in line]
        assert not leaked, (leaked, line)
