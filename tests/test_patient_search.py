"""Finding a patient by kana however it is typed, by prefix in SQL; the service-hours flag of a call time."""

from __future__ import annotations

from datetime import date

from sqlalchemy import event, func, insert, select

from dispatch.audit import service as audit
from dispatch.audit.models import AuditEntry
from dispatch.clinics.models import Clinic
from dispatch.patients.models import Enrolment, Patient, Sex
from dispatch.programme.models import Municipality
from tests.factories import intake_body


def _search(client, headers, **wanted) -> list[dict]:
    response = client.post("/api/v1/patients/search", json=wanted, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_hiragana_katakana_half_width_and_spaces_find_the_same_patient(client, login, services):
    operator = login("operator")
    for typed in ("いんば", "インバ", "ｲﾝﾊﾞ", "いんば　たろう", "イン バ ﾀ"):
        found = _search(client, operator, name_kana=typed)
        assert [(m["clinic_patient_number"], m["name_kana"]) for m in found] == [("D-0001", "インバ タロウ")], (
            typed
        )
    assert found[0]["sex"] == "male" and found[0]["date_of_birth"] == "1938-05-12"
    assert _search(client, operator, name_kana="たろう") == []  # a prefix of the family name, not any part
    with services.session_factory() as session:
        audited = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "patient.search.match")
        )
        chain = audit.verify_chain(session)
    assert audited == 5 and chain.broken is None  # each match returned is written as read, chained
    # A clinic admin finds only their own clinic's patients (D病院), whatever the kana.
    clinic = login("clinic")
    assert [m["clinic_patient_number"] for m in _search(client, clinic, name_kana="いんば")] == ["D-0001"]
    assert _search(client, clinic, name_kana="よつかいどう") == []
    # A call logged by hiragana name and birth date identifies the patient too.
    logged = client.post(
        "/api/v1/cases",
        json=intake_body(patient={"name_kana": "いんば たろう", "date_of_birth": "1938-05-12"}),
        headers=operator,
    )
    assert logged.status_code == 201, logged.text
    # A corrected name is found by its new kana (the key follows every write of the kana).
    with services.session_factory() as session:
        patient = session.scalar(select(Patient).where(Patient.family_name_kana == "ナリタ"))
        patient.family_name_kana = "ナリタヤマ"
        session.commit()
    assert [m["clinic_patient_number"] for m in _search(client, operator, name_kana="なりたやま")] == ["G-0001"]


def test_wildcards_match_literally_and_the_search_reads_only_the_prefix_in_sql(client, login, services):
    with services.session_factory() as session:
        clinic_id = session.scalar(select(Clinic.id).limit(1))
        town = session.scalar(select(Municipality.id).limit(1))
        # A row written by a plain INSERT, as the bulk loads write them, gets its key too.
        written = session.execute(
            insert(Patient)
            .values(
                family_name="試験",
                given_name="二",
                family_name_kana="しけん",
                given_name_kana="ﾆ",
                date_of_birth=date(1940, 1, 1),
                sex=Sex.unknown,
                address="（試験データ）",
                municipality_id=town,
                diagnoses=[],
                acp={},
                devices=[],
                key_person={},
            )
            .returning(Patient.name_kana_key)
        )
        assert written.scalar_one() == "シケンニ"
    enrolled = client.post(
        "/api/v1/patients",
        headers=login("admin"),
        json={
            "family_name": "試験",
            "given_name": "一",
            "family_name_kana": "ア%イ",
            "given_name_kana": "ウ_エ",
            "date_of_birth": "1940-01-01",
            "address": "（試験データ）",
            "municipality_id": town,
            "enrolment": {
                "clinic_id": clinic_id,
                "clinic_patient_number": "W-1",
                "enrolled_on": "2024-04-01",
                "consent_given": False,
            },
        },
    )
    assert enrolled.status_code == 201, enrolled.text
    operator = login("operator")
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM patient" in statement:
            statements.append((statement, parameters))

    event.listen(services.engine, "before_cursor_execute", capture)
    try:
        assert _search(client, operator, name_kana="%") == []  # not "every patient"
        assert _search(client, operator, name_kana="ア_イ") == []  # `_` is not "any one character"
        assert [m["clinic_patient_number"] for m in _search(client, operator, name_kana="あ%いう_")] == ["W-1"]
    finally:
        event.remove(services.engine, "before_cursor_execute", capture)
    # One statement per search, filtered on the key and limited in SQL (never every patient into Python).
    assert len(statements) == 3
    statement, parameters = statements[-1]
    assert "patient.name_kana_key LIKE" in statement and "LIMIT" in statement, statement
    assert "ア\\%イウ\\_%" in list(parameters.values() if isinstance(parameters, dict) else parameters)


def test_the_service_hours_of_a_call_time_and_a_bad_time_refused_in_words(client, login):
    operator = login("operator")
    for at, in_hours, label in (
        ("2025-01-15T10:00:00+09:00", False, "時間外"),  # a Wednesday morning
        ("2025-01-15T23:00:00+09:00", True, "時間内（夜間・休日）"),  # the same night
        ("2025-01-13T10:00:00+09:00", True, "時間内（夜間・休日）"),  # 成人の日, a national holiday
    ):
        response = client.get("/api/v1/programme/service-hours", params={"at": at}, headers=operator)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["in_service_hours"], body["label"], body["rule_version"]) == (in_hours, label, 1), at
    for at, problem in (("yesterday", "at: "), ("2025-01-15T10:00:00", "at: give a time zone offset")):
        response = client.get("/api/v1/programme/service-hours", params={"at": at}, headers=operator)
        assert response.status_code == 422 and response.json()["detail"].startswith(problem), response.text
    assert client.get("/api/v1/programme/service-hours", headers=login("substitute")).status_code == 403


def test_the_first_fifty_enrolled_matches_in_kana_order_even_when_an_unenrolled_patient_shares_the_prefix(
    client, login, services
):
    """The search takes the first patients in kana order (then by id) from the kana index alone; a patient
    with no enrolment among them (written by a plain INSERT: the service never makes one) must neither show
    nor take a place."""
    with services.session_factory() as session:
        clinic_id = session.scalar(select(Clinic.id).order_by(Clinic.id).limit(1))
        town = session.scalar(select(Municipality.id).limit(1))
        person = {
            "family_name": "試験",
            "given_name": "多",
            "family_name_kana": "タスウ",
            "date_of_birth": date(1940, 1, 1),
            "sex": Sex.unknown,
            "address": "（試験データ）",
            "municipality_id": town,
            "diagnoses": [],
            "acp": {},
            "devices": [],
            "key_person": {},
        }
        ids = session.scalars(
            insert(Patient).returning(Patient.id, sort_by_parameter_order=True),
            # Named against the order of their ids: the last one written comes first in kana order.
            [{**person, "given_name_kana": f"{55 - n:02d}"} for n in range(56)],
        ).all()
        unenrolled = ids[-3]
        session.execute(
            insert(Enrolment),
            [
                {
                    "patient_id": patient_id,
                    "clinic_id": clinic_id,
                    "clinic_patient_number": f"T-{n:02d}",
                    "enrolled_on": date(2024, 4, 1),
                    "consent_given": False,
                }
                for n, patient_id in enumerate(ids)
                if patient_id != unenrolled
            ],
        )
        session.commit()
    found = _search(client, login("operator"), name_kana="たすう")
    assert [m["id"] for m in found] == [i for i in reversed(ids) if i != unenrolled][:50]
    assert [m["clinic_patient_number"] for m in found][:4] == ["T-55", "T-54", "T-52", "T-51"]
