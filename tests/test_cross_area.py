"""Cross-area backup (広域連携) on the real stack: a 香取海匝 case nobody of its own area can take goes to the
nearest 印旛 physician on call within 香取海匝's travel cap, with the same SMS and escalation; never to one
beyond the cap, nor to an area that is not a neighbour; and not at all while its own area has someone."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatch.db import unit_of_work
from dispatch.offers.locks import lock_matching
from dispatch.offers.models import Offer
from dispatch.programme.models import MedicalArea, Municipality
from dispatch.roster.models import Physician, PhysicianRole, Shift
from tests.night import start_night

KATORI, NARITA, YACHIMATA, SAKURA = "代診 香取", "代診 成田", "代診 八街", "代診 佐倉"
TAKO_PATIENT = {"clinic_patient_number": "K-0001"}  # 多古町, 香取海匝: 香取 46 min, 成田 37, 八街 40, 佐倉 55


@pytest.fixture
def night(settings, clock):
    with start_night(settings, clock, areas=True) as n:
        yield n


def area_id(night, code: str) -> int:
    with night.services.session_factory() as session:
        return session.scalar(select(MedicalArea.id).where(MedicalArea.code == code))


def town_id(night, name: str) -> int:
    with night.services.session_factory() as session:
        return session.scalar(select(Municipality.id).where(Municipality.name == name))


def offers(night, case_id: int) -> list[Offer]:
    with night.services.session_factory() as session:
        return list(session.scalars(select(Offer).where(Offer.case_id == case_id).order_by(Offer.id)))


def names(night, case_id: int) -> list[str]:
    with night.services.session_factory() as session:
        ids = [o.physician_id for o in offers(night, case_id)]
        by_id = {i: name for i, name in session.execute(select(Physician.id, Physician.name))}
    return [by_id[i] for i in ids]


def reason_codes(night, case_id: int) -> list[str]:
    return [e["data"].get("reason_code") for e in night.case(case_id)["timeline"]]


def candidates(night, case_id: int) -> dict:
    response = night.http.get(f"/api/v1/cases/{case_id}/candidates", headers=night.headers("coordinator"))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_case_its_own_area_cannot_take_is_offered_to_the_nearest_neighbour_within_the_cap(night):
    inba = area_id(night, "inba")
    case_id = night.call(patient=TAKO_PATIENT)
    night.decide_visit(case_id)
    # 香取海匝's own physician is within its cap (46 min): he is offered first, though 成田 (37 min) is nearer.
    assert night.offer_for(case_id).to == night.phone(KATORI)
    assert offers(night, case_id)[0].from_area_id is None
    # The picker lists him first, then 印旛's physicians on call, marked with their area, nearest first.
    picked = candidates(night, case_id)["physicians"]
    assert picked[0]["name"] == KATORI and picked[0]["covers_town"] and picked[0]["area"] is None
    backing = [p for p in picked if p["area"] == "印旛"]
    assert [p["name"] for p in backing][:3] == [NARITA, YACHIMATA, SAKURA]
    assert picked.index(backing[0]) == 1
    assert [p["travel_min"] for p in backing][:3] == [37, 40, 55]

    # He declines: nobody of 香取海匝 is left, and 印旛's nearest physician on call gets the same SMS.
    night.reply(night.phone(KATORI), f"{case_id} N")
    night.run_jobs()
    offer = night.offer_for(case_id)
    assert offer.to == night.phone(NARITA)
    assert offer.body.startswith(f"【往診依頼】#K{case_id} 多古町 橙") and "多古 春子" not in offer.body
    assert offers(night, case_id)[-1].from_area_id == inba
    assert "offered_cross_area" in reason_codes(night, case_id)
    api_offers = night.http.get(f"/api/v1/cases/{case_id}/offers", headers=night.headers("operator")).json()
    assert [o["from_area_id"] for o in api_offers] == [None, inba]

    # The same escalation: 成田 lets it time out (orange: 3 min), the next nearest, 八街, is offered.
    night.advance(minutes=3, seconds=5)
    assert names(night, case_id) == [KATORI, NARITA, YACHIMATA]
    assert night.offer_for(case_id).to == night.phone(YACHIMATA)
    assert "受諾を受け付けました" in night.reply(night.phone(YACHIMATA), f"{case_id} Y")
    case = night.case(case_id)
    assert case["state"] == "accepted" and case["visiting_area_id"] == inba
    assert reason_codes(night, case_id)[-1] == "offer_accepted_cross_area"
    assert [e["data"].get("reason_code") for e in case["timeline"]].count("offered_cross_area") == 2


def test_a_neighbour_beyond_the_cap_is_not_offered_and_the_coordinator_is_told(night):
    # 銚子市: nobody of 香取海匝 is on call for it, and 印旛's physicians are all over an hour and a half away.
    choshi = town_id(night, "銚子市")
    case_id = night.call(patient={"unidentified": True, "municipality_id": choshi})
    night.decide_visit(case_id)
    assert offers(night, case_id) == []
    assert night.state(case_id) == "unfilled"
    picked = candidates(night, case_id)
    assert picked["offering_stopped"]["detail"] == "当番の代診医がいません（銚子市）"
    backing = [p for p in picked["physicians"] if p["area"] == "印旛"]
    assert backing and min(p["travel_min"] for p in backing) > 60
    assert "alert.coordinator" in [e["kind"] for e in night.case(case_id)["timeline"]]


def test_a_physician_of_an_area_that_is_not_a_neighbour_is_never_offered(night):
    # On call for 千葉市 (千葉 does not border 香取海匝), but based next door to the patient in 多古町.
    with unit_of_work(night.services.session_factory) as session:
        tako = session.scalar(select(Municipality).where(Municipality.name == "多古町"))
        chiba = session.scalar(select(Municipality).where(Municipality.name == "千葉市"))
        stranger = Physician(
            name="代診 千葉",
            role=PhysicianRole.substitute,
            phone_e164="+819011110199",
            base_municipality_id=tako.id,
            base_latitude=tako.latitude,
            base_longitude=tako.longitude,
        )
        session.add(stranger)
        session.flush()
        now = night.clock.now()
        shift = Shift(
            physician_id=stranger.id, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8)
        )
        shift.coverage = [chiba]
        session.add(shift)
    case_id = night.call(patient=TAKO_PATIENT)
    night.decide_visit(case_id)
    night.reply(night.phone(KATORI), f"{case_id} N")
    night.run_jobs()
    for name in (NARITA, YACHIMATA, SAKURA):
        night.reply(night.phone(name), f"{case_id} N")
        night.run_jobs()
    assert names(night, case_id) == [KATORI, NARITA, YACHIMATA, SAKURA]
    assert night.fake.sent_to("+819011110199") == []
    assert night.state(case_id) == "unfilled"  # the rest of 印旛 is beyond the cap


def test_the_coordinator_assigning_a_neighbours_physician_makes_it_a_cross_area_visit_until_taken_back(night):
    inba = area_id(night, "inba")
    case_id = night.call(patient=TAKO_PATIENT)
    night.decide_visit(case_id)
    with night.services.session_factory() as session:
        ids = {name: i for name, i in session.execute(select(Physician.name, Physician.id))}
    coordinator = night.headers("coordinator")
    path = f"/api/v1/cases/{case_id}/assign"
    assigned = night.http.post(
        path, headers=coordinator, json={"physician_id": ids[SAKURA], "reason": "電話で承諾"}
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["visiting_area_id"] == inba
    assert offers(night, case_id)[-1].from_area_id == inba
    # 香取海匝's own physician takes over: the visit is no longer cross-area.
    again = night.http.post(
        path,
        headers=coordinator,
        json={"physician_id": ids[KATORI], "reason": "交代", "replaces_physician_id": ids[SAKURA]},
    )
    assert again.status_code == 200, again.text
    assert again.json()["visiting_area_id"] is None
    assert offers(night, case_id)[-1].from_area_id is None


def test_with_cross_area_backup_off_each_area_is_on_its_own(settings, clock):
    with start_night(settings.model_copy(update={"cross_area_backup": False}), clock, areas=True) as night:
        case_id = night.call(patient=TAKO_PATIENT)
        night.decide_visit(case_id)
        night.reply(night.phone(KATORI), f"{case_id} N")
        night.run_jobs()
        assert names(night, case_id) == [KATORI]
        assert night.state(case_id) == "unfilled"
        stopped = candidates(night, case_id)["offering_stopped"]
        assert stopped["reason_code"] == "all_turned_down"


def test_an_inba_case_is_not_backed_up_from_katori_while_inba_has_someone(night):
    # 佐倉市: 印旛's own physicians are on call for it; 代診 香取 is never offered it.
    case_id = night.call()
    night.decide_visit(case_id)
    assert night.offer_for(case_id).to == night.phone(SAKURA)
    assert offers(night, case_id)[0].from_area_id is None


def test_a_yes_that_arrives_during_a_round_waits_for_it_then_is_accepted(night):
    # A round holds every area's lock; a physician's 「Y」 takes its case's area's lock (shared) before the
    # case's row, as the round does: it waits for the round instead of crossing it, then goes through.
    if night.services.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers without row locks")
    case_id = night.call()
    night.decide_visit(case_id)
    phone = night.offer_for(case_id).to
    answers: list[str] = []
    with night.services.session_factory() as session:
        lock_matching(session)
        reply = threading.Thread(target=lambda: answers.append(night.reply(phone, f"{case_id} Y")))
        reply.start()
        reply.join(1.0)
        assert reply.is_alive() and night.state(case_id) == "offered"
        session.commit()
    reply.join(15)
    assert "受諾を受け付けました" in answers[0]
    assert night.state(case_id) == "accepted"
