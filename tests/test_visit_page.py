"""The substitute physician's details page as the phone receives it: Japanese words, tap-to-call numbers
in national format, DNAR/ACP in sentences, the next step, the outcome; and a closed link that says nothing."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from dispatch.audit.models import AuditEntry
from dispatch.patients.models import Patient
from tests.factories import decision_body, intake_body
from tests.night import visit_link

ENGLISH_MACHINE_VALUES = (
    "accepted",
    "en_route",
    "on_scene",
    "visit_completed",
    "male",
    "True",
    "False",
    "dnar",
)


def accepted_link(client, login, services) -> tuple[int, str]:
    """A call about 印旛 太郎 decided for a visit, offered, and accepted by SMS: the case and its link."""
    from rq import SimpleWorker

    from dispatch.queue import QUEUE_NAME
    from workers import context

    context.install(services)  # the worker in this process runs on the test's clock and database
    op, doctor = login("operator"), login("consult")
    case_id = client.post("/api/v1/cases", json=intake_body(), headers=op).json()["id"]
    client.post(f"/api/v1/cases/{case_id}/claim", headers=doctor)
    decided = client.post(
        f"/api/v1/cases/{case_id}/decision", headers=doctor, json=decision_body(note="SpO2低下、心不全増悪疑い")
    )
    assert decided.status_code == 200, decided.text
    SimpleWorker([QUEUE_NAME], connection=services.redis).work(burst=True)
    offer = next(m for m in client.get("/api/v1/sms/messages", headers=op).json() if m["purpose"] == "offer")
    answer = client.post(
        "/api/v1/sms/simulator", headers=op, json={"from_phone": offer["phone_e164"], "body": "Y"}
    ).json()
    return case_id, visit_link(answer["twiml"])


def visible_text(html: str) -> str:
    """The page's words as a reader sees them: no tags, scripts or attributes."""
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_the_page_reads_in_japanese_with_tap_to_call_numbers_and_the_dnar_banner(
    client, login, services, worker_env
):
    case_id, link = accepted_link(client, login, services)
    page = client.get(link)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    html, text = page.text, visible_text(page.text)
    assert '<html lang="ja">' in html and "<main>" in html
    # Urgency in words, JTAS, the consulting physician's note, the call as heard, the vitals.
    for words in ("橙（#7119）", "JTAS レベル2", "往診（緊急・60分以内）", "SpO2低下、心不全増悪疑い"):
        assert words in text, words
    for words in (
        "夕方から息苦しさが強くなった",
        "2時間前から",
        "清明",
        "苦しそう",
        "SpO2 88%",
        "脈拍 104/分",
        "連絡がつかない",
    ):
        assert words in text, words
    # DNAR and ACP as sentences, never the stored dictionary.
    banner = re.search(r'<section id="acp" class="banner dnar".*?</section>', html, re.S).group(0)
    assert "DNAR：心肺蘇生を希望しない" in banner and "ACP：自宅での看取りを希望" in banner
    assert "話し合った日：2024年5月1日" in banner
    assert "{" not in text and "}" not in text and "'dnar'" not in html
    # The patient: name, age at today's date (born 1938-05-12, the night is in January 2025), sex.
    assert "印旛 太郎" in text and "86歳・男性" in text and "慢性心不全、2型糖尿病" in text
    assert "在宅酸素療法" in text and "D病院" in text
    # Numbers to tap, shown as people write them; the map link carries the address, our URL never does.
    assert '<a class="button tel" id="tel-key-person" href="tel:+819011110301">090-1111-0301</a>' in html
    assert '<a class="button tel" id="tel-callback" href="tel:+819012345678">090-1234-5678</a>' in html
    assert "印旛 花子（妻）" in text
    with services.session_factory() as session:
        address = session.scalar(select(Patient.address).where(Patient.family_name == "印旛"))
    assert address in text
    assert re.search(r'href="https://www\.google\.com/maps/search/\?api=1&amp;query=[^"]+"', html)
    assert "+81" not in text
    # The one next step, and no English machine value anywhere a reader sees.
    assert 'data-step="en_route"' in html and "本当に出発を記録しますか？" in html
    assert "受諾" in text and "出発" in text
    for value in ENGLISH_MACHINE_VALUES:
        assert not re.search(rf"\b{value}\b", text), value
    with services.session_factory() as session:
        audited = session.scalars(
            select(AuditEntry.action).where(AuditEntry.case_id == case_id, AuditEntry.patient_id.is_not(None))
        ).all()
    assert "case.read.visit_link" in audited


def test_each_step_shows_its_time_and_the_outcome_is_shown_in_words_with_a_correction(
    client, login, services, clock, worker_env
):
    _case_id, link = accepted_link(client, login, services)
    for minutes, step in ((9, "en_route"), (17, "arrived")):
        clock.advance(timedelta(minutes=minutes))
        assert client.post(link + "/progress", data={"step": step}, follow_redirects=False).status_code == 303
    text = visible_text(client.get(link).text)
    assert re.search(r"出発\s+23:09", text) and re.search(r"到着\s+23:26", text), text
    assert "本当に完了を記録しますか？" in client.get(link).text
    death = {
        "outcome": "death_pronounced",
        "findings": "呼吸停止、心停止、瞳孔散大",
        "death": {
            "noticed_at": "2025-01-15T23:10:00+09:00",
            "confirmed_at": "2025-01-15T23:30:00+09:00",
            "related_to_treated_disease": True,
            "certificate_by": "substitute",
            "police_informed": False,
        },
    }
    assert client.post(link + "/outcome", json=death).status_code == 200
    html = client.get(link).text
    saved = visible_text(re.search(r'<div id="outcome-saved">.*?</div>', html, re.S).group(0))
    for words in ("死亡確認（看取り）", "01/15 23:30", "私（代診医）が書く", "連絡していない", "はい"):
        assert words in saved, words
    assert "True" not in saved and "substitute" not in saved
    assert 'id="correct"' in html and re.search(r'value="death_pronounced" checked', html)


def test_a_closed_link_still_says_one_sentence_and_nothing_of_the_case(client, login, services, worker_env):
    case_id, link = accepted_link(client, login, services)
    cancelled = client.post(
        f"/api/v1/cases/{case_id}/cancel", headers=login("operator"), json={"reason": "家族が搬送"}
    )
    assert cancelled.status_code == 200, cancelled.text
    page = client.get(link)
    assert page.status_code == 410 and '<html lang="ja">' in page.text
    assert "このリンクは使えなくなりました" in page.text
    for leak in ("印旛", "太郎", "佐倉市", "慢性心不全", "#K", "DNAR", "090-", "受諾", "取消"):
        assert leak not in page.text, leak
    assert client.get(link[:-3] + "abc").status_code == 404
