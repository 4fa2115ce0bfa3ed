"""The coordinator's hand, the physician's details link, cancellation, metrics, and the demo's phone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatch.audit.models import AuditEntry
from dispatch.offers.links import LinkInvalid, make_token, read_token
from dispatch.roster.models import Physician
from tests.factories import decision_body, intake_body
from tests.night import start_night, visit_link


@pytest.fixture
def night(settings, clock):
    with start_night(settings, clock) as n:
        yield n


def test_the_details_link_opens_the_case_only_for_the_physician_who_accepted(night):
    case_id = night.call()
    night.decide_visit(case_id)
    phone = night.offer_for(case_id).to
    link = visit_link(night.reply(phone, "Y"))
    page = night.http.get(link)
    assert page.status_code == 200
    assert "印旛 太郎" in page.text and "慢性心不全" in page.text and "在宅酸素療法" in page.text
    assert page.headers["cache-control"] == "no-store"
    with night.services.session_factory() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.case_id == case_id)))
    assert "case.read.visit_link" in actions
    tampered = night.http.get(link[:-3] + "abc")
    assert tampered.status_code == 404 and "印旛" not in tampered.text
    arrived = night.http.post(link + "/progress", data={"step": "arrived"}, follow_redirects=False)
    assert arrived.status_code == 303 and night.state(case_id) == "on_scene"
    night.http.post(link + "/progress", data={"step": "completed"})
    assert night.state(case_id) == "visit_completed"


def test_links_expire_and_cannot_be_forged():
    token = make_token("secret-a", 7, 2)
    assert read_token("secret-a", token) == (7, 2)
    with pytest.raises(LinkInvalid, match="not valid"):
        read_token("secret-b", token)
    with pytest.raises(LinkInvalid, match="expired"):
        read_token("secret-a", token, max_age_s=-1)


def test_the_coordinator_can_offer_by_hand_and_the_first_physician_is_told(night):
    case_id = night.call()
    night.decide_visit(case_id)
    first = night.offer_for(case_id).to
    with night.services.session_factory() as session:
        chosen = session.scalar(select(Physician).where(Physician.name == "代診 成田"))
    response = night.http.post(
        f"/api/v1/cases/{case_id}/offers",
        headers=night.headers("coordinator"),
        json={"physician_id": chosen.id},
    )
    assert response.status_code == 200, response.text
    night.run_jobs()  # the withdrawal notice goes out on the worker
    assert night.offer_for(case_id).to == chosen.phone_e164
    assert any("取り消されました" in m.body for m in night.fake.sent_to(first))
    assert "センターで手配済みです" in night.reply(first, f"{case_id} Y")  # arranged otherwise: nothing to do
    night.reply(chosen.phone_e164, "Y")
    assert night.state(case_id) == "accepted"
    offers = night.http.get(f"/api/v1/cases/{case_id}/offers", headers=night.headers("operator")).json()
    assert [(o["state"], o["manual"]) for o in offers] == [("withdrawn", False), ("accepted", True)]


def test_the_coordinator_can_assign_a_physician_who_agreed_on_the_phone(night):
    case_id = night.call()
    night.decide_visit(case_id)
    with night.services.session_factory() as session:
        chosen = session.scalar(select(Physician).where(Physician.name == "代診 成田"))
    response = night.http.post(
        f"/api/v1/cases/{case_id}/assign",
        headers=night.headers("coordinator"),
        json={"physician_id": chosen.id, "reason": "電話で依頼し承諾を得た"},
    )
    assert response.json()["state"] == "accepted"
    night.run_jobs()
    link = [m for m in night.fake.sent_to(chosen.phone_e164) if "/visit/" in m.body]
    assert len(link) == 1 and not any(
        m.body.startswith("【往診依頼】") for m in night.fake.sent_to(chosen.phone_e164)
    )
    assert night.http.get(visit_link(link[0].body)).status_code == 200


def test_cancelling_a_case_withdraws_its_offer(night):
    case_id = night.call()
    night.decide_visit(case_id)
    phone = night.offer_for(case_id).to
    night.http.post(
        f"/api/v1/cases/{case_id}/cancel", headers=night.headers("operator"), json={"reason": "家族が搬送"}
    )
    night.run_jobs()
    assert any("取り消されました" in m.body for m in night.fake.sent_to(phone))
    assert "締め切られました" in night.reply(phone, f"{case_id} Y")
    assert night.state(case_id) == "cancelled"


def test_metrics_count_cases_offers_and_alerts(night):
    case_id = night.call()
    night.decide_visit(case_id)
    night.reply(night.offer_for(case_id).to, "N")
    night.run_jobs()
    text = night.http.get("/metrics").text
    assert 'dispatch_cases{state="offered"} 1.0' in text
    assert "dispatch_offers_sent_total 2.0" in text
    assert 'dispatch_offers_total{outcome="declined"} 1.0' in text
    assert "dispatch_coordinator_alerts_total 0.0" in text
    assert "dispatch_reconciler_heartbeat_age_seconds" in text
    assert "印旛" not in text


def test_the_demo_phone_simulator_replies_as_a_signed_twilio_request(client, login, services, worker_env):
    from workers import context

    context.install(services)
    op, doctor = login("operator"), login("consult")
    case_id = client.post("/api/v1/cases", json=intake_body(), headers=op).json()["id"]
    client.post(f"/api/v1/cases/{case_id}/claim", headers=doctor)
    client.post(f"/api/v1/cases/{case_id}/decision", headers=doctor, json=decision_body())
    from rq import SimpleWorker

    from dispatch.queue import QUEUE_NAME

    SimpleWorker([QUEUE_NAME], connection=services.redis).work(burst=True)
    outbox = client.get("/api/v1/sms/messages", headers=op).json()
    offer = next(m for m in outbox if m["purpose"] == "offer")
    answer = client.post(
        "/api/v1/sms/simulator", headers=op, json={"from_phone": offer["phone_e164"], "body": "はい"}
    )
    assert answer.status_code == 200 and "受諾を受け付けました" in answer.json()["twiml"]
    assert client.get(f"/api/v1/cases/{case_id}", headers=op).json()["state"] == "accepted"
