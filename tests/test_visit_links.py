"""The physician's details link: it opens the case while the visit is open and dies when it closes
(handoff, cancellation, take-back, reassignment) or when the coordinator revokes it; 「リンク」 by SMS sends
a fresh one."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from itsdangerous.encoding import base64_decode
from sqlalchemy import select

from dispatch.audit.models import AuditEntry
from dispatch.cases.models import Case, CaseEvent
from dispatch.patients.models import Patient
from dispatch.roster.models import Physician, PhysicianRole
from dispatch.sms.models import SmsMessage
from tests.night import start_night, visit_link

CLOSED_PAGE = "このリンクは使えなくなりました"


@pytest.fixture
def night(settings, clock):
    with start_night(settings, clock) as n:
        yield n


def _accepted(night) -> tuple[int, str, str]:
    """A call, a visit decided, the physician's yes: the case, their phone and the link they got."""
    case_id = night.call()
    night.decide_visit(case_id)
    phone = night.offer_for(case_id).to
    return case_id, phone, visit_link(night.reply(phone, "Y"))


def _assert_closed(night, link: str) -> None:
    """The page, its progress buttons and its outcome post all refuse, and say nothing about the case."""
    page = night.http.get(link)
    assert page.status_code == 410 and CLOSED_PAGE in page.text, page.text
    assert page.headers["cache-control"] == "no-store"
    for leak in ("印旛", "太郎", "佐倉市", "慢性心不全", "#K", "accepted", "cancelled", "handed_off"):
        assert leak not in page.text, leak
    step = night.http.post(link + "/progress", data={"step": "arrived"}, follow_redirects=False)
    assert step.status_code == 410 and CLOSED_PAGE in step.text
    outcome = night.http.post(link + "/outcome", json={"outcome": "treated_at_home"})
    assert outcome.status_code == 410 and "no longer opens the case" in outcome.json()["detail"]


def _other_substitute(night, phone: str) -> int:
    with night.services.session_factory() as session:
        return session.scalar(
            select(Physician.id).where(
                Physician.role == PhysicianRole.substitute, Physician.active, Physician.phone_e164 != phone
            )
        )


def test_the_link_works_through_the_visit_and_the_outcome_and_dies_at_the_morning_handoff(night):
    from workers.jobs import handoffs

    case_id, phone, link = _accepted(night)
    assert night.http.get(link).status_code == 200
    night.http.post(link + "/progress", data={"step": "arrived"})
    night.http.post(link + "/progress", data={"step": "completed"})
    assert night.state(case_id) == "visit_completed"
    assert night.http.get(link).status_code == 200  # the outcome is still to be written
    outcome = night.http.post(link + "/outcome", json={"outcome": "treated_at_home", "findings": "改善"})
    assert outcome.status_code == 200, outcome.text
    night.clock.advance(timedelta(hours=9, minutes=1))  # 08:01: the morning report hands the visit off
    handoffs()
    assert night.state(case_id) == "handed_off"
    _assert_closed(night, link)
    assert "担当中の往診はありません" in night.reply(phone, "リンク")


def test_cancelling_the_case_ends_the_link(night):
    case_id, _phone, link = _accepted(night)
    response = night.http.post(
        f"/api/v1/cases/{case_id}/cancel", headers=night.headers("operator"), json={"reason": "家族が搬送"}
    )
    assert response.status_code == 200, response.text
    _assert_closed(night, link)


@pytest.mark.parametrize("move", ["offers", "assign"], ids=["taken-back-and-offered", "reassigned"])
def test_a_physician_relieved_of_the_case_loses_the_link_and_is_told_by_sms(night, move):
    case_id, phone, link = _accepted(night)
    holder = night.case(case_id)["assigned_physician_id"]
    other = _other_substitute(night, phone)
    body = {"physician_id": other, "replaces_physician_id": holder}
    if move == "assign":
        body["reason"] = "交代"
    response = night.http.post(
        f"/api/v1/cases/{case_id}/{move}", headers=night.headers("coordinator"), json=body
    )
    assert response.status_code == 200, response.text
    night.run_jobs()
    _assert_closed(night, link)
    told = [m.body for m in night.fake.sent_to(phone) if "担当を解除しました" in m.body]
    assert told == [f"#K{case_id} の担当を解除しました。センターで手配し直します。対応は不要です。"]
    assert "担当中の往診はありません" in night.reply(phone, "リンク")
    if move == "assign":  # the physician who has it now has a working link, which is not kept once sent
        with night.services.session_factory() as session:
            other_phone = session.get(Physician, other).phone_e164
            stored = list(session.scalars(select(SmsMessage.body).where(SmsMessage.purpose == "details_link")))
        sent = [m.body for m in night.fake.sent_to(other_phone) if "/visit/" in m.body]
        assert night.http.get(visit_link(sent[-1])).status_code == 200
        assert len(stored) == 1 and "/visit/…" in stored[0] and visit_link(sent[-1]) not in stored[0]


def test_an_offer_by_hand_on_a_held_case_must_name_the_holder(night):
    case_id, phone, link = _accepted(night)
    holder = night.case(case_id)["assigned_physician_id"]
    response = night.http.post(
        f"/api/v1/cases/{case_id}/offers",
        headers=night.headers("coordinator"),
        json={"physician_id": _other_substitute(night, phone)},
    )
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert f"physician {holder} " in detail and f"replaces_physician_id={holder}" in detail
    assert night.state(case_id) == "accepted" and night.http.get(link).status_code == 200


def test_revoking_ends_every_link_sent_and_a_fresh_one_asked_by_sms_works(night):
    case_id, phone, first = _accepted(night)
    second = visit_link(night.reply(phone, "リンク"))  # another device: both work
    assert night.http.get(first).status_code == 200 and night.http.get(second).status_code == 200
    path = f"/api/v1/cases/{case_id}/visit-link/revoke"
    assert night.http.post(path, headers=night.headers("operator")).status_code == 403
    revoked = night.http.post(path, headers=night.headers("coordinator"))
    assert revoked.status_code == 204, revoked.text
    _assert_closed(night, first)
    _assert_closed(night, second)
    fresh = visit_link(night.reply(phone, f"{case_id} リンク"))
    assert night.http.get(fresh).status_code == 200
    assert night.http.get(first).status_code == 410  # still dead: revocation is for good
    with night.services.session_factory() as session:
        audited = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "case.visit_link.revoke", AuditEntry.case_id == case_id
            )
        ).all()
        timeline = session.scalars(
            select(CaseEvent.kind).where(CaseEvent.case_id == case_id, CaseEvent.kind == "visit_link.revoked")
        ).all()
    assert len(audited) == 1 and audited[0].role == "coordinator" and len(timeline) == 1
    assert night.state(case_id) == "accepted"  # revoking changes nothing else


def test_revoking_a_case_nobody_accepted_is_409_and_an_unknown_case_404(night):
    case_id = night.call()
    headers = night.headers("admin")
    response = night.http.post(f"/api/v1/cases/{case_id}/visit-link/revoke", headers=headers)
    assert response.status_code == 409 and "no accepted offer" in response.json()["detail"]["message"]
    assert night.http.post("/api/v1/cases/999999/visit-link/revoke", headers=headers).status_code == 404


def test_link_by_sms_is_for_the_holder_only_and_limited(night):
    case_id, phone, _first = _accepted(night)
    for text in ("リンク", "ﾘﾝｸ", "りんく"):  # three fresh links an hour
        answer = night.reply(phone, text)
        assert f"#K{case_id} 詳細(期限付き): " in answer and "/visit/" in answer
    assert "しばらく受け付けません" in night.reply(phone, "link")
    assert "<Message>" not in night.reply(phone, "リンク")  # then silence
    assert "<Message>" not in night.reply(phone, "リンク")
    # Another physician, and a number nobody has: no link, no case.
    with night.services.session_factory() as session:
        idle = session.scalar(
            select(Physician.phone_e164).where(
                Physician.role == PhysicianRole.substitute, Physician.phone_e164 != phone
            )
        )
    idle_answer = night.reply(idle, f"{case_id} リンク")
    assert "担当中の往診はありません" in idle_answer and "/visit/" not in idle_answer
    stranger = night.reply("+819099998888", f"{case_id} リンク")
    assert (
        "この番号は登録されていません" in stranger
        and "/visit/" not in stranger
        and f"K{case_id}" not in stranger
    )


def test_no_patient_data_in_the_link_sms_or_the_url(night):
    case_id, phone, _link_path = _accepted(night)
    night.reply(phone, "リンク")
    with night.services.session_factory() as session:
        case = session.get(Case, case_id)
        patient = session.get(Patient, case.patient_id)
        private = [
            patient.family_name,
            patient.given_name,
            patient.address,
            patient.household_phone_e164,
            patient.household_phone_e164[3:],
            *patient.diagnoses,
            case.chief_complaint,
            case.caller_name,
            case.callback_phone_e164[3:],
        ]
    texts = [m.body for m in night.fake.sent_to(phone)]
    assert any("/visit/" in t for t in texts)
    for text in texts:
        assert not [p for p in private if p and p in text], text
    for text in texts:
        for token in re.findall(r"/visit/([\w.\-]+)", text):
            payload = json.loads(base64_decode(token.split(".")[0]))
            assert set(payload) == {"o", "g"}  # an offer id and a generation, nothing else
