"""Shift swaps through the API: asked, taken, approved (or applied at once), and matching follows the new
holder; every step audited and told by SMS, with no patient data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dispatch.audit.models import AuditEntry
from dispatch.auth.models import Role
from dispatch.flow.replies import answer_sms
from dispatch.matching.candidates import available_physicians
from dispatch.roster.models import Physician
from dispatch.sms.models import SmsMessage
from tests.factories import add_user

TOKYO = ZoneInfo("Asia/Tokyo")
COLLEAGUE_PHONE = "+819011110199"
CALL = datetime(2025, 1, 17, 23, 0, tzinfo=TOKYO)  # inside 代診 佐倉's shift of 1/17 08:00–1/18 08:00


def jst(text: str) -> str:
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO).isoformat()


@dataclass
class Ward:
    client: object
    services: object
    sakura: dict[str, str]  # the demo `substitute` login: 代診 佐倉
    colleague: dict[str, str]  # 代診 四街道, registered here, off duty on 1/17
    yachimata: dict[str, str]
    coordinator: dict[str, str]
    ids: dict[str, int]  # physicians by name, and "town"
    shift: int  # 代診 佐倉's shift of 1/17
    colleague_shift: int  # 代診 四街道's night of 1/20

    def post(self, path: str, who: dict[str, str], body: dict | None = None, status: int = 200) -> dict:
        response = self.client.post(path, json=body or {}, headers=who)
        assert response.status_code == status, response.text
        return response.json()

    def ask(self, who=None, status: int = 201, **body) -> dict:
        return self.post("/api/v1/swaps", who or self.sakura, {"shift_id": self.shift, **body}, status)

    def holders(self, at: datetime) -> set[int]:
        """Who matching would offer a call in 佐倉市 at `at`."""
        with self.services.session_factory() as session:
            found, _phones = available_physicians(session, at, {self.ids["town"]})
        return {p.physician_id for p in found}

    def sms(self, phone: str | None = None) -> list[str]:
        with self.services.session_factory() as session:
            query = select(SmsMessage).where(SmsMessage.purpose.in_(("swap", "swap_approval")))
            return [m.body for m in session.scalars(query) if phone is None or m.phone_e164 == phone]


def _login_as(client, credentials: dict[str, str]) -> dict[str, str]:
    token = client.post("/api/v1/auth/login", json=credentials).json()["access_token"]
    client.cookies.clear()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def ward(client, login, services) -> Ward:
    coordinator = login("coordinator")
    towns = {
        m["name"]: m["id"]
        for m in client.get("/api/v1/programme", headers=coordinator).json()["municipalities"]
    }
    registered = client.post(
        "/api/v1/roster/physicians",
        json={
            "name": "代診 四街道",
            "role": "substitute",
            "phone": "090-1111-0199",
            "base_municipality_id": towns["佐倉市"],
        },
        headers=coordinator,
    ).json()
    colleague_shift = client.post(
        "/api/v1/roster/shifts",
        json={
            "physician_id": registered["id"],
            "starts_at": jst("2025-01-20T18:00"),
            "ends_at": jst("2025-01-21T08:00"),
            "coverage": [towns["佐倉市"]],
        },
        headers=coordinator,
    ).json()["id"]
    with services.session_factory() as session:
        ids = {p.name: p.id for p in session.scalars(select(Physician))}
    sakura = login("substitute")
    mine = client.get("/api/v1/swaps/shifts", headers=sakura).json()
    shift = next(s["id"] for s in mine if s["starts_at"].startswith("2025-01-16T23:00"))  # 1/17 08:00 JST
    return Ward(
        client=client,
        services=services,
        sakura=sakura,
        colleague=_login_as(
            client, add_user(services, "yotsukaido", Role.substitute_physician, physician_id=ids["代診 四街道"])
        ),
        yachimata=_login_as(
            client, add_user(services, "yachimata", Role.substitute_physician, physician_id=ids["代診 八街"])
        ),
        coordinator=coordinator,
        ids={**ids, "town": towns["佐倉市"]},
        shift=shift,
        colleague_shift=colleague_shift,
    )


def test_a_give_away_asked_taken_and_approved_moves_the_call_to_the_taker(ward):
    sakura, colleague = ward.ids["代診 佐倉"], ward.ids["代診 四街道"]
    assert sakura in ward.holders(CALL) and colleague not in ward.holders(CALL)

    swap = ward.ask(kind="give_away", note="学会のため")
    assert swap["state"] == "open" and swap["asker_name"] == "代診 佐倉"
    # Told: the colleague who covers 佐倉市 and is free that night; not 代診 成田, already on call then.
    offer = ward.sms(COLLEAGUE_PHONE)
    assert len(offer) == 1 and f"#S{swap['id']}" in offer[0] and "1/17 08:00〜1/18 08:00" in offer[0]
    assert ward.sms("+819011110101") == []

    taken = ward.post(f"/api/v1/swaps/{swap['id']}/take", ward.colleague)
    assert taken["state"] == "taken" and taken["taker_name"] == "代診 四街道"
    assert sakura in ward.holders(CALL) and colleague not in ward.holders(CALL)  # not before approval
    assert any("承認" in body for body in ward.sms("+819011110900"))  # the coordinator asked to approve
    # Taken once only; the asker cannot approve it.
    again = ward.client.post(f"/api/v1/swaps/{swap['id']}/take", json={}, headers=ward.yachimata)
    assert again.status_code == 409 and "swap_id" in again.json()["detail"]
    assert ward.client.post(f"/api/v1/swaps/{swap['id']}/approve", headers=ward.sakura).status_code == 403

    approved = ward.post(f"/api/v1/swaps/{swap['id']}/approve", ward.coordinator)
    assert approved["state"] == "approved"
    assert colleague in ward.holders(CALL) and sakura not in ward.holders(CALL)
    on_call = ward.client.get(
        "/api/v1/roster/on-call", params={"at": CALL.isoformat()}, headers=ward.coordinator
    ).json()
    assert {"physician_id": colleague, "covering_for": sakura} in [
        {k: s[k] for k in ("physician_id", "covering_for")} for s in on_call
    ]
    assert any("確定" in body for body in ward.sms("+819011110102"))  # 代診 佐倉 told
    # No patient data in any swap SMS.
    for body in ward.sms():
        assert not any(word in body for word in ("印旛", "太郎", "佐倉市海隣寺町", "心不全", "D-0001"))
    with ward.services.session_factory() as session:
        actions = [
            e.action
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            if e.detail.get("swap_id") == swap["id"]
        ]
    assert actions == ["swap.asked", "swap.taken", "swap.approved", "swap.applied"]


def test_a_trade_covers_both_shifts_once_approved(ward):
    swap = ward.ask(kind="trade", offered_shift_id=ward.colleague_shift)
    assert ward.sms(COLLEAGUE_PHONE)  # the colleague whose shift is wanted is asked
    wrong = ward.client.post(
        f"/api/v1/swaps/{swap['id']}/take", json={"in_exchange_shift_id": ward.shift}, headers=ward.colleague
    )
    assert wrong.status_code == 422 and "in_exchange_shift_id" in wrong.json()["detail"]
    # Taken by SMS: 「交代 <番号>」 (the trade names the shift in return, so there is nothing to choose).
    assert "見つかりません" in answer_sms(
        ward.services, sid="SM-swap-0", phone=COLLEAGUE_PHONE, body="交代 99999"
    )
    answer = answer_sms(ward.services, sid="SM-swap-1", phone=COLLEAGUE_PHONE, body=f"交代 {swap['id']}")
    assert "引き受けました" in answer and "承認" in answer
    ward.post(f"/api/v1/swaps/{swap['id']}/approve", ward.coordinator)
    sakura, colleague = ward.ids["代診 佐倉"], ward.ids["代診 四街道"]
    assert colleague in ward.holders(CALL) and sakura not in ward.holders(CALL)
    their_night = datetime(2025, 1, 20, 23, 0, tzinfo=TOKYO)
    assert colleague not in ward.holders(their_night)
    on_call = ward.client.get(
        "/api/v1/roster/on-call", params={"at": their_night.isoformat()}, headers=ward.coordinator
    ).json()
    slot = next(s for s in on_call if s["shift_id"] == ward.colleague_shift)
    assert (slot["physician_id"], slot["covering_for"]) == (sakura, colleague)


def test_without_approval_taking_applies_at_once_and_only_the_owner_may_ask(ward):
    # Another physician cannot ask to swap 代診 佐倉's shift; nor may a physician change the setting.
    refused = ward.ask(who=ward.colleague, status=404, kind="give_away")
    assert "shift_id" in refused["detail"]
    body = {"swaps_need_approval": False}
    assert ward.client.put("/api/v1/swaps/settings", json=body, headers=ward.sakura).status_code == 403
    assert ward.client.put("/api/v1/swaps/settings", json=body, headers=ward.coordinator).status_code == 200

    swap = ward.ask(kind="give_away")
    taken = ward.post(f"/api/v1/swaps/{swap['id']}/take", ward.colleague)
    assert taken["state"] == "approved"
    assert ward.ids["代診 四街道"] in ward.holders(CALL) and ward.ids["代診 佐倉"] not in ward.holders(CALL)
    assert not any("承認" in body for body in ward.sms("+819011110900"))  # nothing for the coordinator
    # Applied: too late to withdraw.
    late = ward.client.post(f"/api/v1/swaps/{swap['id']}/cancel", json={}, headers=ward.sakura)
    assert late.status_code == 409
    # The console page, for physicians and the coordinator (other roles: tests/test_route_roles.py).
    for token in (ward.sakura, ward.coordinator):
        ward.client.cookies.set("dispatch_session", token["Authorization"].removeprefix("Bearer "))
        page = ward.client.get("/swaps", follow_redirects=False)
        assert page.status_code == 200 and "当番の交代" in page.text and "/static/swaps.js" in page.text
    ward.client.cookies.clear()
