"""One night on the production install, as the centre's people and a physician's phone live it: the set-up
through the API, the call from intake to the acknowledged morning handoff, and the shutdown's count of what
was left behind. `tests/test_production_smoke.py` runs it and looks at what it left."""

from __future__ import annotations

import functools
import re
import threading
import time as clock
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from redis import Redis
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry
from sqlalchemy import create_engine, text

from dispatch import jobs
from dispatch.queue import QUEUE_NAME, enqueue
from tests.production import PUBLIC_URL, Api, Exit, ProductionStack, wait_for

TOKYO = ZoneInfo("Asia/Tokyo")
SERVICE = ["serve", "worker-1", "worker-2", "cron"]
STOP_BOUND_S = 20
PASSWORDS = {
    name: f"{name}-{uuid.uuid4().hex}" for name in ("admin", "coordinator", "operator", "consult", "clinic")
}
PATIENT: dict[str, Any] = {
    "family_name": "煙検",
    "given_name": "紫苑",
    "family_name_kana": "ケムケン",
    "given_name_kana": "シオン",
    "date_of_birth": "1938-02-11",
    "sex": "female",
    "household_phone": "043-211-4821",
    "address": "千葉県佐倉市煙検町三丁目十四番地",
    "diagnoses": ["慢性心不全"],
}
COMPLAINT = "夕方から息が苦しく三十八度七分の発熱"
CALLER = "煙検一朗"
SUBSTITUTE_PHONE = "+819031415926"
CLINIC_PHONE = "+81433012233"


def patient_data() -> list[str]:
    """What must never reach a log: the patient's name, kana, phone and address, the complaint, the caller."""
    p = PATIENT
    names = [p["family_name"], p["given_name"], p["family_name_kana"], p["given_name_kana"]]
    full = [f"{p['family_name']} {p['given_name']}", f"{p['family_name']}{p['given_name']}"]
    phones = ["043-211-4821", "0432114821", "+81432114821", "81432114821"]
    return [*names, *full, *phones, p["address"], COMPLAINT, CALLER, *PASSWORDS.values()]


@dataclass
class Night:
    """What the night left behind, for the tests to look at."""

    stack: ProductionStack
    case: dict[str, Any]
    offer_sms: str
    answer: str
    handoff: dict[str, Any]
    handoff_sms: str
    report_row: dict[str, Any]
    fiscal_year: int
    month: str
    operator: dict[str, str] = field(default_factory=dict)
    had_to_enrol: dict[str, bool] = field(default_factory=dict)
    recovery_codes_left: dict[str, int] = field(default_factory=dict)
    two_factor_secrets: list[str] = field(default_factory=list)
    probes: dict[str, int] = field(default_factory=dict)
    metrics: str = ""
    board_status: int | None = None
    board_closed: bool = False
    exits: dict[str, Exit] = field(default_factory=dict)
    leftovers: list[str] = field(default_factory=list)
    started_jobs: list[str] = field(default_factory=list)
    failed_jobs: list[str] = field(default_factory=list)
    unsent_sms: int = -1
    overdue_offers: int = -1
    seconds: float = 0.0


PROBES = ("/livez", "/readyz", "/healthz")


def fake_messages(stack: ProductionStack) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = httpx.get(stack.fake_url + "/_fake/messages", timeout=5).json()
    return messages


def sms_to(stack: ProductionStack, phone: str, starts: str) -> str | None:
    """The body of the first SMS to `phone` through the Messages API starting with `starts`, if any."""
    return next(
        (
            m["body"]
            for m in fake_messages(stack)
            if m["to"] == phone and m["via"] == "api" and m["body"].startswith(starts)
        ),
        None,
    )


def reply(stack: ProductionStack, phone: str, body: str) -> str:
    """The physician's SMS, posted by the fake Twilio as Twilio posts it (signed for the public URL)."""
    answer = httpx.post(
        stack.fake_url + "/_fake/inbound", json={"from": phone, "body": body}, timeout=15
    ).json()
    assert answer["status_code"] == 200, answer
    return str(answer["body"])


def set_up(
    api: Api, town: dict[str, Any], contract_from: date
) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """The centre as its admin, coordinator and clinic would set it up; the patient and everyone's tokens."""
    admin = api.login("admin", PASSWORDS["admin"])
    clinic = api(
        admin,
        "POST",
        "/api/v1/clinics",
        json={
            "label": "煙検在宅クリニック",
            "kind": "clinic",
            "municipality_id": town["id"],
            "handoff_phone": "043-301-2233",
            "contract_periods": [{"start_month": contract_from.strftime("%Y-%m"), "end_month": None}],
        },
    )
    consulting = api(
        admin, "POST", "/api/v1/roster/physicians", json={"name": "相談 医師", "role": "consulting"}
    )
    users = [
        ("coordinator", "coordinator", {}),
        ("operator", "operator", {}),
        ("consult", "consulting_physician", {"physician_id": consulting["id"]}),
        ("clinic", "clinic_admin", {"clinic_id": clinic["id"]}),
    ]
    for username, role, link in users:
        body = {"username": username, "display_name": username, "password": PASSWORDS[username], "role": role}
        api(admin, "POST", "/api/v1/users", json={**body, **link})
    who = {name: api.login(name, PASSWORDS[name]) for name in PASSWORDS}
    # The shift starts: each logs in again with the second factor enrolled at their first login, the
    # operator with the app's code, the clinic with a recovery code (a phone left at home).
    who["operator"] = api.login("operator", PASSWORDS["operator"], again=True)
    who["clinic"] = api.login("clinic", PASSWORDS["clinic"], again=True, recovery=True)
    substitute = api(
        who["coordinator"],
        "POST",
        "/api/v1/roster/physicians",
        json={
            "name": "代診 医師",
            "role": "substitute",
            "phone": "090-3141-5926",
            "base_municipality_id": town["id"],
        },
    )
    now = datetime.now(TOKYO)
    shift = {
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=12)).isoformat(),
    }
    api(
        who["coordinator"],
        "POST",
        "/api/v1/roster/shifts",
        json={"physician_id": substitute["id"], "coverage": [town["id"]], **shift},
    )
    enrolment = {
        "clinic_id": clinic["id"],
        "clinic_patient_number": "K-0001",
        "enrolled_on": contract_from.isoformat(),
        "consent_given": True,
        "consent_at": datetime.combine(contract_from, time(10), TOKYO).isoformat(),
        "consent_by": "本人",
    }
    patient = api(
        who["clinic"],
        "POST",
        "/api/v1/patients",
        json={**PATIENT, "municipality_id": town["id"], "enrolment": enrolment},
    )
    return patient, who


def state_of(api: Api, who: dict[str, str], case_id: int, state: str) -> bool:
    return bool(api(who, "GET", f"/api/v1/cases/{case_id}")["state"] == state)


def the_night(stack: ProductionStack, redis: Redis) -> Night:
    """One call the whole way: logged, decided, offered by SMS, accepted by reply, visited, handed off."""
    api = Api(stack.api_url)
    admin = api.login("admin", PASSWORDS["admin"])
    town = api(admin, "GET", "/api/v1/programme")["municipalities"][0]
    midnight = datetime.combine(datetime.now(TOKYO).date(), time(0), TOKYO)
    called_at = midnight - timedelta(hours=1)  # 23:00 last night: inside the service hours, any day
    contract_from = (called_at.date().replace(day=1) - timedelta(days=1)).replace(day=1)
    patient, who = set_up(api, town, contract_from)

    matches = api(who["operator"], "POST", "/api/v1/patients/search", json={"household_phone": "043-211-4821"})
    assert [m["id"] for m in matches] == [patient["id"]]
    intake = {
        "patient": {"patient_id": patient["id"]},
        "called_at": called_at.isoformat(),
        "caller_name": CALLER,
        "caller_relation": "family",
        "callback_phone": "080-2718-2818",
        "chief_complaint": COMPLAINT,
        "attending_unavailable": "no_answer",
    }
    key = {"Idempotency-Key": uuid.uuid4().hex}
    case = api(who["operator"], "POST", "/api/v1/cases", json=intake, headers=key)
    case_id = case["id"]
    assert case["in_service_hours"] and case["in_contract"], case
    assert case_id in [c["id"] for c in api(who["consult"], "GET", "/api/v1/triage/queue")]
    api(who["consult"], "GET", f"/api/v1/patients/{patient['id']}")  # the care profile before deciding
    api(who["consult"], "POST", f"/api/v1/cases/{case_id}/claim")
    decision = {"disposition": "visit_urgent", "urgency": "orange", "jtas_level": 2}
    api(who["consult"], "POST", f"/api/v1/cases/{case_id}/decision", json=decision)

    offer_sms = wait_for(
        "the offer SMS at the fake Twilio", lambda: sms_to(stack, SUBSTITUTE_PHONE, "【往診依頼】"), 15
    )
    answer = reply(stack, SUBSTITUTE_PHONE, f"{case_id} Y")
    link = re.search(re.escape(PUBLIC_URL) + r"(/visit/[\w.\-]+)", answer)
    assert link, f"no https details link in the answer: {answer}"
    wait_for("the case accepted", lambda: state_of(api, admin, case_id, "accepted"), 10)
    for word, state in (("出発", "en_route"), ("到着", "on_scene"), ("完了", "visit_completed")):
        reply(stack, SUBSTITUTE_PHONE, f"{case_id} {word}")
        wait_for(f"the case {state}", functools.partial(state_of, api, admin, case_id, state), 10)
    outcome = {"outcome": "treated_at_home", "findings": "SpO2 91%", "treatment": "在宅酸素を開始"}
    api({}, "POST", link.group(1) + "/outcome", json=outcome)

    job = enqueue(redis, jobs.HANDOFFS, job_id=f"smoke-handoffs-{uuid.uuid4().hex}")
    wait_for(
        "the handoff job",
        lambda: Job.fetch(job.id, connection=redis).get_status() in ("finished", "failed"),
        15,
    )
    assert Job.fetch(job.id, connection=redis).get_status() == "finished", stack.tail("worker-1") + stack.tail(
        "worker-2"
    )
    listed = api(who["clinic"], "GET", "/api/v1/handoffs")
    assert [(h["cases"], h["acknowledged_at"]) for h in listed] == [(1, None)]
    handoff = api(who["clinic"], "GET", f"/api/v1/handoffs/{listed[0]['id']}")
    handoff_sms = wait_for("the handoff SMS", lambda: sms_to(stack, CLINIC_PHONE, "【申し送り】"), 15)
    api(who["clinic"], "POST", f"/api/v1/handoffs/{handoff['id']}/acknowledge")

    fiscal_year = called_at.year if called_at.month >= 4 else called_at.year - 1
    report = api(admin, "GET", "/api/v1/reports/clinics", params={"fiscal_year": fiscal_year})
    row = next(r for r in report["rows"] if r["clinic_label"] == "煙検在宅クリニック")
    return Night(
        stack=stack,
        case=api(admin, "GET", f"/api/v1/cases/{case_id}"),
        offer_sms=offer_sms,
        answer=answer,
        handoff=handoff,
        handoff_sms=handoff_sms,
        report_row=row,
        fiscal_year=fiscal_year,
        month=called_at.strftime("%Y-%m"),
        operator=who["operator"],
        had_to_enrol=api.had_to_enrol,
        recovery_codes_left={
            name: api(who[name], "GET", "/api/v1/auth/totp")["recovery_codes_left"] for name in who
        },
        two_factor_secrets=api.two_factor_secrets(),
        probes={path: httpx.get(stack.api_url + path, timeout=5).status_code for path in PROBES},
        metrics=httpx.get(stack.api_url + "/metrics", timeout=5).text,
    )


UNSENT_SMS = "SELECT count(*) FROM sms_message WHERE status IN ('pending', 'claimed')"
# Sent, and not known to be delivered: a delivery report lost and never asked for.
UNREPORTED_SMS = (
    "SELECT count(*) FROM sms_message WHERE direction = 'outbound' AND provider_sid IS NOT NULL"
    " AND status <> 'delivered'"
)
OVERDUE_OFFERS = "SELECT count(*) FROM offer WHERE state = 'pending' AND deadline_at < now()"


def count(stack: ProductionStack, *queries: str) -> list[int]:
    """Each query's count, in the stack's database."""
    engine = create_engine(stack.database_url)
    with engine.connect() as conn:
        counts = [int(conn.scalar(text(query)) or 0) for query in queries]
    engine.dispose()
    return counts


def settled(stack: ProductionStack) -> bool:
    """Every SMS handed to Twilio, delivered, and known to be in our database (a lost report asked for)."""
    reported = all(m["status"] == "delivered" for m in fake_messages(stack) if m["via"] == "api")
    return count(stack, UNSENT_SMS, UNREPORTED_SMS) == [0, 0] and reported


def stop_and_count(night: Night, redis: Redis) -> None:
    """SIGTERM the service, then the fake Twilio; count what they left in Redis and the database."""
    stack = night.stack
    board = open_board(night)
    night.exits = stack.terminate(SERVICE, STOP_BOUND_S)
    board.join(10)
    night.board_closed = not board.is_alive()
    night.exits.update(stack.terminate(["fake-twilio"], 10))
    night.leftovers = stack.leftovers()
    night.started_jobs = StartedJobRegistry(QUEUE_NAME, connection=redis).get_job_ids()
    night.failed_jobs = FailedJobRegistry(QUEUE_NAME, connection=redis).get_job_ids()
    night.unsent_sms, night.overdue_offers = count(stack, UNSENT_SMS, OVERDUE_OFFERS)


def open_board(night: Night) -> threading.Thread:
    """An operator's live board left open (its event stream) while the service stops: it must not hold the
    stop off, and the stream must end when the API goes."""
    opened = threading.Event()

    def watch() -> None:
        try:
            timeout = httpx.Timeout(5, read=None)  # the stream idles between events; the stop must end it
            url = night.stack.api_url + "/api/v1/events"
            with httpx.stream("GET", url, headers=night.operator, timeout=timeout) as stream:
                night.board_status = stream.status_code
                opened.set()
                for _ in stream.iter_bytes():
                    pass
        except httpx.HTTPError:
            pass
        finally:
            opened.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    opened.wait(10)
    return thread


def wait_past_midnight_in_tokyo() -> None:
    """The call is logged for 23:00 last night and handed off for the day that ended at midnight: a run that
    would straddle midnight in Tokyo waits for it to pass first (a minute at most, on one run in a thousand)."""
    now = datetime.now(TOKYO)
    left = (datetime.combine(now.date() + timedelta(days=1), time(0), TOKYO) - now).total_seconds()
    if left < 75:
        clock.sleep(left + 1)
