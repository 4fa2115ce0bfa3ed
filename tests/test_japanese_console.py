"""Japanese everywhere in the ja console: every word a page or script asks for has Japanese text, every value
the console can show has a Japanese label, the pages show no English machine value, and in Chromium a
case's timeline, the outbox, the care profile and a refused death record read in Japanese."""

from __future__ import annotations

import ast
import functools
import html
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dispatch.auth.models import Role
from dispatch.cases.reasons import Why
from dispatch.cases.schemas import AttendingUnavailable, Breathing, CallerRelation, Consciousness
from dispatch.cases.states import CaseEnding, CaseState, Disposition, Urgency
from dispatch.offers.models import OfferState
from dispatch.outcomes.models import CertificateBy, OutcomeCode
from dispatch.patients.models import EndReason, Sex
from dispatch.sms.models import FAILED_STATUSES, STATUS_ORDER
from dispatch.sms.protocol import Intent
from dispatch.web import i18n
from tests import test_console_browser as walk
from tests.browser import screenshot
from tests.factories import decision_body, intake_body
from tests.test_console_browser import log_in, passwords, run_jobs

# The browser test's fixtures (a live server with a worker, Chromium), reused as they are.
port, settings, stack, browser = walk.port, walk.settings, walk.stack, walk.browser

ROOT = Path(__file__).parent.parent
WEB = ROOT / "dispatch" / "web"
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")
# Words the Japanese console writes in Latin letters on purpose.
LATIN_ON_PURPOSE = {"English", "SpO2", "DNAR", "JTAS", "ACP", "SMS", "QR", "Asia/Tokyo", "HR"}
LATIN_ON_PURPOSE |= {"Google", "Microsoft", "Excel", "XLSX", "CSV", "JSON", "Twilio"}  # names


def _ja(text: str) -> bool:
    latin = re.search("[A-Za-z]", text)
    return bool(JAPANESE.search(text)) or text.strip(" ()%*") in LATIN_ON_PURPOSE or not latin


@functools.cache
def _modules() -> list[tuple[ast.Module, list[ast.AST]]]:
    """Every module of dispatch/, parsed once, with its nodes."""
    trees = [ast.parse(path.read_text()) for path in sorted((ROOT / "dispatch").rglob("*.py"))]
    return [(tree, list(ast.walk(tree))) for tree in trees]


def _calls(name: str):
    """Every call of `name` in dispatch/, with the module it is in."""
    for tree, nodes in _modules():
        for node in nodes:
            if isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if called == name:
                    yield tree, node


def _strings(tree: ast.Module, node: ast.expr) -> set[str]:
    """The string values an argument can take: literals in it, and module constants it names."""
    constants = {
        target.id: stmt.value
        for stmt in tree.body
        if isinstance(stmt, ast.Assign)
        for target in stmt.targets
        if isinstance(target, ast.Name)
    }
    found: set[str] = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
            found.add(inner.value)
        elif isinstance(inner, ast.Name) and inner.id in constants:
            found |= _strings(tree, constants[inner.id])
    return found


def _event_kinds() -> set[str]:
    kinds = {"created"}  # intake writes its opening event as a row
    for tree, call in _calls("record_event"):
        kinds |= _strings(tree, call.args[2])
    return kinds


def _sms_purposes() -> set[str]:
    purposes = {"reply", "twiml_reply"}
    for tree, call in _calls("queue_sms"):
        purposes |= _strings(tree, call.args[4])
    return purposes | {"sms_cap_alert"}  # cap.CAP_ALERT, named from another module


# --- (a) every word asked for exists, in Japanese ---------------------------------------------------------


def _sources() -> list[str]:
    return [p.read_text() for p in (WEB / "templates").glob("*.html")] + [
        p.read_text() for p in (WEB / "static").glob("*.js")
    ]


def test_every_message_and_label_group_the_console_asks_for_has_japanese_words():
    asked, groups = set(), set()
    for text in _sources():
        asked |= set(re.findall(r't\["([\w.-]+)"\]', text)) | set(re.findall(r'\bt\("([\w.-]+)"\)', text))
        groups |= set(re.findall(r'\blabel\("(\w+)"', text)) | set(re.findall(r'options\("(\w+)"', text))
        groups |= set(re.findall(r"BOOT\.labels\.(\w+)", text))
    assert len(asked) > 100 and asked - set(i18n.MESSAGES) == set()
    assert groups - set(i18n.LABELS) == set()
    english = {key: i18n.MESSAGES[key][0] for key in asked if not _ja(i18n.MESSAGES[key][0])}
    assert english == {}
    for group in groups:
        assert {v: ja for v, (ja, _) in i18n.LABELS[group].items() if not _ja(ja)} == {}, group


# --- (b) every value the console can show has a Japanese label -------------------------------------------

LABELLED: dict[str, set[str]] = {
    "role": {m.value for m in Role},
    "state": {m.value for m in CaseState},
    "urgency": {m.value for m in Urgency},
    "disposition": {m.value for m in Disposition},
    "outcome": {m.value for m in OutcomeCode},
    "sex": {m.value for m in Sex},
    "caller_relation": {m.value for m in CallerRelation},
    "consciousness": {m.value for m in Consciousness},
    "breathing": {m.value for m in Breathing},
    "attending_unavailable": {m.value for m in AttendingUnavailable},
    "offer_state": {m.value for m in OfferState},
    "certificate_by": {m.value for m in CertificateBy},
    "ending": {m.value for m in CaseEnding},
    "end_reason": {m.value for m in EndReason},
    "event_reason": {m.name for m in Why},
    "sms_status": set(STATUS_ORDER) | {"replied", "withdrawn"},
    "sms_purpose": _sms_purposes(),
    "acp": {"dnar", "wishes", "discussed_on"},
    "key_person": {"name", "relation", "phone"},
}


@pytest.mark.parametrize("group", sorted(LABELLED))
def test_every_value_the_console_can_show_has_a_japanese_label(group):
    labels = i18n.LABELS[group]
    assert LABELLED[group] - set(labels) == set()
    assert {v: ja for v, (ja, en) in labels.items() if not (ja and en and _ja(ja))} == {}


def test_every_event_kind_and_system_actor_the_code_records_has_japanese_words():
    kinds = _event_kinds()
    assert {"offer.withdrawn", "alert.coordinator", "clinic.notified", "patient.linked"} <= kinds
    assert {k for k in kinds if not _ja(i18n.MESSAGES.get(f"event.{k}", ("", ""))[0])} == set()
    parts = set()
    for tree, call in _calls("system"):
        parts |= _strings(tree, call.args[0]) if call.args else set()
    assert {"matching", "handoff"} <= parts and parts - set(i18n.LABELS["system_actor"]) == set()


def test_the_system_writes_its_reasons_with_a_code_never_as_bare_english():
    # Reasons the console says from the event's data instead (the clinic's name and the outcome).
    said_from_data = {"clinic.notified"}
    bare = []
    for tree, call in [*_calls("transition"), *_calls("record_event")]:
        reason = next((k.value for k in call.keywords if k.arg == "reason"), None)
        kind = _strings(tree, call.args[2]) if len(call.args) > 2 else set()
        if isinstance(reason, ast.Constant | ast.JoinedStr) and not kind & said_from_data:
            bare.append(f"line {call.lineno}: {ast.unparse(reason)}")
    assert bare == []
    # The reasons built from a value: every value they can be built from is a known reason.
    for intent in (Intent.en_route, Intent.arrived, Intent.completed):
        Why(f"physician reported {intent.value}")
    for ending in CaseEnding:
        Why(f"case ended: {ending.value}")
    for status in FAILED_STATUSES:
        Why(f"offer SMS {status}")


# --- (c) the pages, as each role opens them, show no English machine value -------------------------------

MACHINE = re.compile(
    r"Input should|Field required|String should|\b[a-z]+_[a-z_]+\b|\b(?:pending|queued|sent|delivered|failed|"
    r"withdrawn|received|replied|accepted|declined|offered|closed|cancelled|transition|true|false)\b"
)
PAGES = {
    "operator": [
        "/board",
        "/intake",
        "/triage",
        "/dispatch",
        "/handoffs",
        "/outbox",
        "/account",
        "/cases/{id}",
    ],
    "consult": ["/triage", "/board", "/cases/{id}"],
    "coordinator": ["/dispatch", "/reports", "/submissions", "/outbox", "/cases/{id}"],
    "clinic": ["/handoffs", "/reports"],
    "prefecture": ["/reports", "/submissions"],
    "substitute": ["/phone", "/me"],
    "admin": ["/users", "/board"],
}


def _visible(page: str) -> str:
    """What a reader sees of a server-rendered page: no scripts, no tags, no attribute values."""
    body = re.sub(r"<script\b.*?</script>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_each_roles_pages_show_no_english_machine_value(client, login):
    case_id = client.post("/api/v1/cases", json=intake_body(), headers=login("operator")).json()["id"]
    for username, paths in PAGES.items():
        token = login(username)["Authorization"].removeprefix("Bearer ")
        client.cookies.set("dispatch_session", token)
        for path in paths:
            page = client.get(path.format(id=case_id))
            assert page.status_code == 200, (username, path)
            seen = _visible(page.text)
            assert MACHINE.findall(seen) == [], (username, path)
            latin = set(re.findall(r"[A-Za-z][A-Za-z0-9/]{3,}", seen)) - LATIN_ON_PURPOSE
            assert latin == set(), (username, path)


def test_a_refused_death_record_names_its_fields_and_problems_by_type(client, login):
    """What the console maps: a 422 carries pydantic's type, its limits, and the field a check named."""
    op = login("operator")
    case_id = client.post("/api/v1/cases", json=intake_body(), headers=op).json()["id"]
    death = {"noticed_at": "2025-01-16T00:10:00+09:00", "confirmed_at": "2025-01-16T00:05:00+09:00"}
    death |= {"related_to_treated_disease": None, "certificate_by": "substitute", "police_informed": False}
    refused = client.post(
        f"/api/v1/cases/{case_id}/outcome", headers=op, json={"outcome": "death_pronounced", "death": death}
    )
    assert refused.status_code == 422
    errors = {e["field"]: e for e in refused.json()["errors"]}
    assert errors["death.related_to_treated_disease"]["type"] == "bool_type"
    too_long = client.post(f"/api/v1/cases/{case_id}/cancel", headers=op, json={"reason": "x" * 501})
    assert too_long.json()["errors"][0] | {"problem": ""} == {
        "field": "reason",
        "problem": "",
        "type": "string_too_long",
        "context": {"max_length": 500},
    }
    backwards = dict(death, related_to_treated_disease=True)
    named = client.post(
        f"/api/v1/cases/{case_id}/outcome", headers=op, json={"outcome": "death_pronounced", "death": backwards}
    ).json()["errors"]
    assert [(e["field"], e["problem"]) for e in named] == [
        ("death.confirmed_at", "cannot be before noticed_at")
    ]


# --- (d) in Chromium: the timeline, the outbox, the profile and a refused form, as they render -----------

RENDERED_MACHINE = re.compile(
    r"Input should|Field required|\b(?:sms|link|user|system):|\b[a-z]+_[a-z_]+\b|\b(?:physician reported|"
    r"outcome recorded|offer accepted|offered|triage decision|claimed|delivered|withdrawn|twiml|wishes|"
    r"discussed_on|queued|received|replied|sent|true|false)\b"
)


def test_a_case_walked_by_sms_reads_in_japanese_in_chromium(
    stack, browser, client, login, services, demo_logins
):
    op, doctor = login("operator"), login("consult")
    case_id = client.post("/api/v1/cases", json=intake_body(), headers=op).json()["id"]
    client.post(f"/api/v1/cases/{case_id}/claim", headers=doctor)
    client.post(f"/api/v1/cases/{case_id}/decision", headers=doctor, json=decision_body())
    run_jobs(services)
    offer = next(m for m in client.get("/api/v1/sms/messages", headers=op).json() if m["purpose"] == "offer")
    for reply in ("Y", "到着"):
        sms = {"from_phone": offer["phone_e164"], "body": reply}
        client.post("/api/v1/sms/simulator", headers=op, json=sms)
    run_jobs(services)

    page = log_in(browser, stack.url, "operator", passwords(demo_logins)["operator"], path=f"/cases/{case_id}")
    timeline = page.locator("#timeline")
    expect(timeline.locator("li").nth(5)).to_be_attached()
    expect(page.locator("#profile")).to_be_visible()
    words = timeline.inner_text()
    assert "代診医が到着を報告" in words and "代診医（SMS）" in words and "システム（自動手配）" in words
    assert RENDERED_MACHINE.findall(words) == []
    profile = page.locator("#profile").inner_text()
    assert "話し合った日" in profile and RENDERED_MACHINE.findall(profile) == []
    screenshot(page, "ja-case-timeline")

    # The death form sent without saying whether the death relates to the treated disease.
    page.select_option('#outcome-form [name="outcome"]', "death_pronounced")
    page.fill('#outcome-form [name="death.noticed_at"]', "2025-01-16T00:05")
    page.fill('#outcome-form [name="death.confirmed_at"]', "2025-01-16T00:10")
    page.select_option('#outcome-form [name="death.certificate_by"]', "substitute")
    page.select_option('#outcome-form [name="death.police_informed"]', "false")
    page.click("#save-outcome")
    said = page.locator("#outcome-form .field-error").first
    expect(said).to_have_text("「はい」か「いいえ」を選んでください")
    assert RENDERED_MACHINE.findall(page.locator("#outcome-form").inner_text()) == []

    page.goto("/outbox")
    expect(page.locator("#outbox tbody tr").nth(2)).to_be_attached()
    columns = page.locator("#outbox tbody td:nth-child(5), #outbox tbody td:nth-child(6)").all_inner_texts()
    assert "代診依頼" in columns and "自動返信" in columns
    assert RENDERED_MACHINE.findall(" ".join(columns)) == []
