"""An area coordinator (広域連携) sees and acts on their own area only: another area's case, shift, hospital...
answers 404 as if it did not exist, on every route at once; the centre's coordinator sees every area and
filters by area; the prefecture reads every area's reports as before."""

from __future__ import annotations

import queue
import re
import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from dispatch.app import create_app
from dispatch.area_paths import enforce_area_scopes
from dispatch.audit.models import AuditEntry
from dispatch.auth.guard import allow, iter_api_routes, route_guard
from dispatch.auth.models import Role
from dispatch.cases.models import Case, CaseEvent
from dispatch.clinics.models import Clinic
from dispatch.db import unit_of_work
from dispatch.handoffs.models import Handoff
from dispatch.hospitals.models import Hospital
from dispatch.offers.models import Offer
from dispatch.patients.models import Enrolment, Patient
from dispatch.programme.models import MedicalArea, Municipality, Programme
from dispatch.roster.models import Physician, Shift
from tests.factories import decision_body, intake_body
from tests.test_live_events import _collect, _listen

KATORI = "coordinator-katori"
SAKURA = "代診 佐倉"  # 印旛's substitute on call for 佐倉市
KATORI_HEADER = "香取海匝 コーディネーター"
SCOPE_PARAMS = re.compile(r"\{(\w+_id)\}")


def login_as(client: TestClient, username: str, password: str | None = None) -> dict[str, str]:
    """Headers for a demo user the `login` fixture does not know (香取海匝's coordinator)."""
    response = client.post(
        "/api/v1/auth/login", json={"username": username, "password": password or f"{username}-demo"}
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def physician_id(services, name: str) -> int:
    with services.session_factory() as session:
        return session.scalar(select(Physician.id).where(Physician.name == name))


def decide(client, login, case_id: int) -> None:
    consult = login("consult")
    assert client.post(f"/api/v1/cases/{case_id}/claim", headers=consult).status_code == 200
    decided = client.post(f"/api/v1/cases/{case_id}/decision", headers=consult, json=decision_body())
    assert decided.status_code == 200, decided.text


@pytest.fixture
def areas(client, login, services, demo_areas):
    """A call in each area: 印旛's (D-0001 in 佐倉市) decided for a visit and waiting for a physician,
    香取海匝's (K-0001 in 多古町) waiting for triage."""
    operator = login("operator")
    inba = client.post("/api/v1/cases", headers=operator, json=intake_body()).json()["id"]
    katori_body = intake_body(patient={"clinic_patient_number": "K-0001"})
    katori = client.post("/api/v1/cases", headers=operator, json=katori_body).json()["id"]
    decide(client, login, inba)
    return SimpleNamespace(
        inba=inba,
        katori=katori,
        katori_headers=login_as(client, KATORI),
        centre=login("coordinator"),
        operator=operator,
    )


def _snapshot(services, case_id: int) -> tuple:
    """What a refused request must leave as it was: the case, its timeline and offers, the audit log."""
    with services.session_factory() as session:
        case = session.get_one(Case, case_id)
        return (
            case.state,
            case.version,
            case.updated_at,
            case.patient_id,
            case.assigned_physician_id,
            case.closed_at,
            case.family_called_back_at,
            session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id)),
            session.scalar(select(func.count()).select_from(Offer).where(Offer.case_id == case_id)),
            session.scalar(select(func.count()).select_from(AuditEntry)),
        )


def case_routes(sakura: int, patient_id: int) -> list[tuple[str, str, dict | None]]:
    """Every read and act a coordinator may do on a case, with a body that would do it."""
    return [
        ("GET", "/api/v1/cases/{id}", None),
        ("GET", "/cases/{id}", None),  # the console's case page
        ("GET", "/api/v1/cases/{id}/offers", None),
        ("GET", "/api/v1/cases/{id}/candidates", None),
        ("GET", "/api/v1/cases/{id}/outcome", None),
        ("GET", "/api/v1/cases/{id}/outcome/amendments", None),
        ("POST", "/api/v1/cases/{id}/offers", {"physician_id": sakura}),
        ("POST", "/api/v1/cases/{id}/assign", {"physician_id": sakura, "reason": "電話で依頼し承諾を得た"}),
        ("POST", "/api/v1/cases/{id}/cancel", {"reason": "重複"}),
        ("POST", "/api/v1/cases/{id}/referred-ems", {"reason": "家族が119番通報"}),
        ("POST", "/api/v1/cases/{id}/close-unfilled", {"reason": "代診医が見つからない"}),
        ("POST", "/api/v1/cases/{id}/patient", {"patient_id": patient_id, "reason": "本人と確認"}),
        ("POST", "/api/v1/cases/{id}/family-callback", {}),
        ("POST", "/api/v1/cases/{id}/progress", {"step": "en_route"}),
        ("POST", "/api/v1/cases/{id}/visit-link/revoke", None),
        ("POST", "/api/v1/cases/{id}/outcome", {"outcome": "treated_at_home"}),
        ("POST", "/api/v1/cases/{id}/outcome/amendments", {"outcome": "treated_at_home", "reason": "訂正"}),
    ]


def test_the_area_coordinator_is_refused_every_read_and_act_on_another_areas_case(client, services, areas):
    sakura = physician_id(services, SAKURA)
    with services.session_factory() as session:
        patient = session.scalar(select(Patient.id).order_by(Patient.id))
    before = _snapshot(services, areas.inba)
    for method, template, body in case_routes(sakura, patient):
        path = template.format(id=areas.inba)
        response = client.request(method, path, headers=areas.katori_headers, json=body)
        assert response.status_code == 404, f"{method} {path}: {response.status_code} {response.text}"
        if path.startswith("/api/"):
            # Worded as for a case that does not exist: nothing says the case is there.
            assert response.json()["detail"] == f"case_id: no case {areas.inba} that you may see", path
            missing = client.request(
                method, template.format(id=999_999), headers=areas.katori_headers, json=body
            )
            assert missing.status_code == 404 and missing.json()["detail"].endswith("that you may see")
        else:
            assert "見つかりません" in response.text
    assert _snapshot(services, areas.inba) == before

    # The centre's coordinator reaches the same case, and the same body assigns it by phone.
    assert client.get(f"/api/v1/cases/{areas.inba}/candidates", headers=areas.centre).status_code == 200
    assigned = client.post(
        f"/api/v1/cases/{areas.inba}/assign",
        headers=areas.centre,
        json={"physician_id": sakura, "reason": "電話で依頼し承諾を得た"},
    )
    assert assigned.status_code == 200 and assigned.json()["state"] == "accepted", assigned.text


def test_the_area_coordinator_reads_and_acts_on_its_own_areas_case(client, areas):
    own = areas.katori_headers
    detail = client.get(f"/api/v1/cases/{areas.katori}", headers=own)
    assert detail.status_code == 200 and detail.json()["timeline"]
    page = client.get(f"/cases/{areas.katori}", headers=own)
    assert page.status_code == 200 and KATORI_HEADER in page.text
    assert client.get(f"/api/v1/cases/{areas.katori}/candidates", headers=own).status_code == 200
    cancelled = client.post(f"/api/v1/cases/{areas.katori}/cancel", headers=own, json={"reason": "重複"})
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"


def test_lists_the_board_and_alarms_hold_the_area_coordinator_to_its_area(client, login, services, areas):
    decide(client, login, areas.katori)
    waiting = client.post("/api/v1/cases", headers=areas.operator, json=intake_body()).json()["id"]  # 印旛
    with unit_of_work(services.session_factory) as session:  # both decided cases alarmed
        alerted = services.clock.now() - timedelta(minutes=5)
        session.execute(
            update(Case).where(Case.id.in_([areas.inba, areas.katori])).values(coordinator_alerted_at=alerted)
        )

    def ids(headers, query=""):
        response = client.get(f"/api/v1/cases{query}", headers=headers)
        assert response.status_code == 200, response.text
        return {c["id"] for c in response.json()}

    katori, centre = areas.katori_headers, areas.centre
    assert ids(katori) == ids(katori, "?open_only=true&limit=500") == {areas.katori}  # the board's list
    assert ids(katori, "?alarm_only=true") == {areas.katori}
    assert ids(katori, "?area=inba") == set()  # a filter cannot widen the area
    assert ids(centre) == {areas.inba, areas.katori, waiting}
    assert ids(centre, "?alarm_only=true") == {areas.inba, areas.katori}
    assert ids(centre, "?area=katori-kaiso") == {areas.katori}
    assert ids(centre, "?area=inba") == {areas.inba, waiting}
    unknown = client.get("/api/v1/cases?area=atlantis", headers=centre)
    assert unknown.status_code == 422 and unknown.json()["detail"].startswith("area:")
    queue_ids = {c["id"] for c in client.get("/api/v1/triage/queue", headers=katori).json()}
    assert waiting not in queue_ids
    assert waiting in {c["id"] for c in client.get("/api/v1/triage/queue", headers=centre).json()}
    # Each case names its programme, so the board can name its area.
    by_id = {c["id"]: c for c in client.get("/api/v1/cases", headers=centre).json()}
    with services.session_factory() as session:
        codes = dict(session.execute(select(Programme.id, Programme.code)).all())
    assert codes[by_id[areas.katori]["programme_id"]] == "katori-kaiso"
    assert codes[by_id[areas.inba]["programme_id"]] == "inba"

    # The pages: the area coordinator's header names the area and offers no filter; the centre's board has one.
    for path in ("/board", "/dispatch"):
        own = client.get(path, headers=katori)
        assert own.status_code == 200 and KATORI_HEADER in own.text and 'id="area-filter"' not in own.text
        theirs = client.get(path, headers=centre)
        assert 'id="area-filter"' in theirs.text and KATORI_HEADER not in theirs.text


def test_the_event_stream_carries_no_other_areas_case(client, login, live_server, areas):
    """Live: 印旛's events never reach the 香取海匝 coordinator's board; the centre's gets both. On a
    reconnection, the replay is held to the area too."""
    streams = {}
    stop = threading.Event()
    for name, headers in (("katori", areas.katori_headers), ("centre", areas.centre)):
        events: queue.Queue = queue.Queue()
        listener = threading.Thread(
            target=_listen, args=(f"{live_server.url}/api/v1/events", headers, events, stop)
        )
        listener.start()
        assert _collect(events, lambda s: s[-1][0] == "ready")[0] == ("status", 200)
        streams[name] = (events, listener)
    inba = client.post("/api/v1/cases", headers=areas.operator, json=intake_body()).json()["id"]
    katori_body = intake_body(patient={"clinic_patient_number": "K-0001"})
    katori = client.post("/api/v1/cases", headers=areas.operator, json=katori_body).json()["id"]

    def case_ids(events: queue.Queue) -> list[int]:
        seen = _collect(
            events, lambda s: any(p.get("case_id") == katori and p["state"] == "triage_pending" for _, p in s)
        )
        return [p["case_id"] for kind, p in seen if kind == "case"]

    katori_seen, centre_seen = case_ids(streams["katori"][0]), case_ids(streams["centre"][0])
    stop.set()
    for _, listener in streams.values():
        listener.join()
    assert set(katori_seen) == {katori}
    assert {inba, katori} <= set(centre_seen)

    replay: queue.Queue = queue.Queue()
    done = threading.Event()
    headers = {**areas.katori_headers, "Last-Event-ID": "0"}
    listener = threading.Thread(
        target=_listen, args=(f"{live_server.url}/api/v1/events", headers, replay, done)
    )
    listener.start()
    replayed = _collect(replay, lambda s: s[-1][0] == "ready")
    done.set()
    listener.join()
    assert {p["case_id"] for kind, p in replayed if kind == "case"} == {areas.katori, katori}


def _area_objects(client, services, areas) -> dict[str, int]:
    """One object of 印旛 for each kind a path can name (a case, a shift, a hospital...)."""
    centre = areas.centre
    with services.session_factory() as session:
        inba = session.scalar(select(Programme.id).where(Programme.code == "inba"))
        sakura_town = session.scalar(select(Municipality.id).where(Municipality.name == "佐倉市"))
        sakura = session.scalar(select(Physician.id).where(Physician.name == SAKURA))
        future = services.clock.now() + timedelta(days=2)
        shift = session.scalar(
            select(Shift.id)
            .where(Shift.physician_id == sakura, Shift.starts_at > future)
            .order_by(Shift.starts_at)
        )
        clinic = session.scalar(select(Clinic.id).where(Clinic.programme_id == inba).order_by(Clinic.id))
        enrolment = session.scalar(select(Enrolment).where(Enrolment.clinic_patient_number == "D-0001"))
        hospital = session.scalar(
            select(Hospital.id).where(Hospital.programme_id == inba).order_by(Hospital.id)
        )
    rotation = client.post(
        "/api/v1/roster/rotations",
        headers=centre,
        json={
            "name": "佐倉 月曜",
            "kind": "weekly",
            "weekdays": [0],
            "physician_ids": [sakura],
            "coverage": [sakura_town],
            "starts_on": "2025-02-01",
        },
    )
    assert rotation.status_code == 201, rotation.text
    swap = client.post("/api/v1/swaps", headers=centre, json={"shift_id": shift, "kind": "give_away"})
    assert swap.status_code == 201, swap.text
    with unit_of_work(services.session_factory) as session:
        now = services.clock.now()
        handoff = Handoff(
            clinic_id=clinic, period_start=now - timedelta(hours=12), period_end=now, created_at=now
        )
        session.add(handoff)
        session.flush()
        handoff_id = handoff.id
    return {
        "case_id": areas.inba,
        "shift_id": shift,
        "swap_id": swap.json()["id"],
        "rotation_id": rotation.json()["id"],
        "physician_id": sakura,
        "hospital_id": hospital,
        "handoff_id": handoff_id,
        "clinic_id": clinic,
        "patient_id": enrolment.patient_id,
        "enrolment_id": enrolment.id,
    }


def test_every_route_naming_an_object_refuses_another_areas_to_the_area_coordinator(client, services, areas):
    """Walks the app's own routes, so a route added tomorrow with `{case_id}` (or any object) is covered."""
    objects = _area_objects(client, services, areas)
    walked = {}
    for template, route in iter_api_routes(client.app.routes):
        guard = route_guard(route)
        params = SCOPE_PARAMS.findall(template)
        if guard is None or guard.public or Role.coordinator not in guard.roles or not params:
            continue
        assert set(params) <= set(objects), f"{template}: no 印旛 object for {params}"
        path = SCOPE_PARAMS.sub(lambda m: str(objects[m.group(1)]), template)
        for method in route.methods:
            body = {} if method in {"POST", "PUT", "PATCH"} else None
            response = client.request(method, path, headers=areas.katori_headers, json=body)
            assert response.status_code == 404, f"{method} {template}: {response.status_code} {response.text}"
            if template.startswith("/api/"):
                assert response.json()["detail"].endswith("that you may see"), f"{method} {template}"
            for param in params:
                walked.setdefault(param, []).append(f"{method} {template}")
            if method == "GET":  # the centre's coordinator reaches the same object
                centre = client.get(path, headers=areas.centre)
                assert "that you may see" not in centre.text, f"GET {template} as the centre: {centre.text}"
    assert len(walked["case_id"]) >= 16, walked["case_id"]
    assert set(walked) == set(objects) - {"clinic_id"}  # a clinic's contracts are the admin's alone


def test_the_area_coordinators_roster_hospitals_and_programme_are_its_areas(client, services, areas):
    katori, centre = areas.katori_headers, areas.centre
    with services.session_factory() as session:
        katori_towns = {
            m.id: m.name
            for m in session.scalars(
                select(Municipality).join(MedicalArea).where(MedicalArea.code == "katori-kaiso")
            )
        }
        sakura_town = session.scalar(select(Municipality.id).where(Municipality.name == "佐倉市"))
    night = services.clock.now().isoformat()
    own_shifts = client.get("/api/v1/roster/shifts", params={"at": night}, headers=katori).json()
    assert {s["physician_name"] for s in own_shifts} == {"代診 香取"}
    assert SAKURA in {
        s["physician_name"]
        for s in client.get("/api/v1/roster/shifts", params={"at": night}, headers=centre).json()
    }
    on_call = client.get("/api/v1/roster/on-call", params={"at": night}, headers=katori).json()
    assert {s["physician_name"] for s in on_call} == {"代診 香取"}

    outside = client.post(
        "/api/v1/roster/shifts",
        headers=katori,
        json={
            "physician_id": physician_id(services, "代診 香取"),
            "starts_at": "2025-01-20T18:00:00+09:00",
            "ends_at": "2025-01-21T08:00:00+09:00",
            "coverage": [sakura_town],
        },
    )
    assert outside.status_code == 422 and outside.json()["detail"] == "coverage: 佐倉市 is outside your area"
    elsewhere = client.post(
        "/api/v1/roster/physicians",
        headers=katori,
        json={
            "name": "代診 新人",
            "role": "substitute",
            "phone": "090-1111-0999",
            "base_municipality_id": sakura_town,
        },
    )
    assert elsewhere.status_code == 422 and elsewhere.json()["detail"].startswith("base_municipality_id:")

    programme = client.get("/api/v1/programme", headers=katori).json()
    assert (programme["code"], programme["area"]) == ("katori-kaiso", "香取海匝")
    assert client.get("/api/v1/programme", headers=centre).json()["code"] == "inba"
    assert client.get("/api/v1/hospitals", headers=katori).json() == []  # 香取海匝 lists none yet
    assert client.get("/api/v1/hospitals/tonight", headers=katori).json() == []
    assert client.get("/api/v1/hospitals", headers=centre).json()
    gaps = client.get("/api/v1/roster/gaps", headers=katori).json()
    assert gaps and {g["municipality"] for g in gaps} <= set(katori_towns.values())


def test_the_admin_sets_a_coordinators_area_by_its_code(client, login, services, areas):
    admin = login("admin")
    user = {"username": "coord-inba", "display_name": "印旛 コーディネーター", "password": "a long password 1"}
    made = client.post("/api/v1/users", headers=admin, json={**user, "role": "coordinator", "area": "inba"})
    assert made.status_code == 201, made.text
    with services.session_factory() as session:
        area_ids = dict(session.execute(select(MedicalArea.code, MedicalArea.id)).all())
    assert made.json()["area_id"] == area_ids["inba"]
    refused = [
        (
            {**user, "username": "x-1", "role": "coordinator", "area": "atlantis"},
            "area: no medical area 'atlantis'",
        ),
        (
            {**user, "username": "x-2", "role": "operator", "area": "inba"},
            "area: only a coordinator has an area",
        ),
    ]
    for body, problem in refused:
        response = client.post("/api/v1/users", headers=admin, json=body)
        assert response.status_code == 422 and response.json()["detail"].startswith(problem), response.text

    headers = login_as(client, "coord-inba", user["password"])
    cases = lambda: {c["id"] for c in client.get("/api/v1/cases", headers=headers).json()}  # noqa: E731
    assert cases() == {areas.inba}
    user_id = made.json()["id"]
    moved = client.put(f"/api/v1/users/{user_id}/area", headers=admin, json={"area": "katori-kaiso"})
    assert moved.status_code == 200 and moved.json()["area_id"] == area_ids["katori-kaiso"]
    assert cases() == {areas.katori}  # from the next request on
    unknown = client.put(f"/api/v1/users/{user_id}/area", headers=admin, json={"area": "atlantis"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "area", unknown.text
    operator_id = client.get("/api/v1/auth/me", headers=areas.operator).json()["id"]
    not_a_coordinator = client.put(f"/api/v1/users/{operator_id}/area", headers=admin, json={"area": "inba"})
    assert not_a_coordinator.status_code == 422
    assert (
        client.put(f"/api/v1/users/{user_id}/area", headers=admin, json={"area": None}).json()["area_id"]
        is None
    )
    assert cases() == {areas.inba, areas.katori}  # the centre's again: every area
    assert (
        client.put(f"/api/v1/users/{user_id}/area", headers=areas.centre, json={"area": None}).status_code
        == 403
    )


def test_the_prefecture_and_the_centre_keep_their_reach(client, login, areas):
    """Operators and consulting physicians take every area's calls; the analyst reads reports as before."""
    for username in ("operator", "consult"):
        detail = client.get(f"/api/v1/cases/{areas.katori}", headers=login(username))
        assert detail.status_code == 200, username
    analyst = login("prefecture")
    assert client.get("/api/v1/reports/clinics?fiscal_year=2024", headers=analyst).status_code == 200
    assert client.get("/api/v1/reports/monthly?from=2024-04&to=2025-01", headers=analyst).status_code == 200
    assert client.get("/api/v1/submissions", headers=analyst).status_code == 200


def test_a_route_naming_an_object_no_area_places_stops_the_app_from_starting(services):
    app = create_app(services=services)

    @app.get("/api/v1/vehicles/{vehicle_id}", dependencies=[allow(Role.coordinator)])
    def vehicle(vehicle_id: int) -> dict:
        return {}

    with pytest.raises(RuntimeError, match="vehicle_id"):
        enforce_area_scopes(app)
