"""The set-based statements that fill the national data set, each one INSERT … SELECT over generate_series
(run by `simulations.scale_build`). Ids are given explicitly, so rows can be joined by arithmetic.

`scale_area` is a temporary table of the areas (`simulations.scale_areas.Area`), one row each."""

from __future__ import annotations

AREA_TABLE = """
CREATE TEMP TABLE scale_area (
    programme_id int, area_id int, town_ids int[], town_lat float8[], town_lon float8[], clinic_ids int[],
    patient_lo int, patients int, physician_lo int, physicians int
) ON COMMIT PRESERVE ROWS
"""

# Names from arrays picked by a hash of the id; the kana key is what `kana.name_key` makes of them.
PATIENTS = """
INSERT INTO patient (id, family_name, given_name, family_name_kana, given_name_kana, name_kana_key,
    date_of_birth, sex, household_phone_e164, address, municipality_id, latitude, longitude, diagnoses, acp,
    devices, key_person)
SELECT n, fam[1 + h.f], giv[1 + h.g], fam_kana[1 + h.f], giv_kana[1 + h.g],
    fam_kana[1 + h.f] || giv_kana[1 + h.g],
    date '1920-01-01' + (r.x % 14600)::int, CASE WHEN n % 2 = 0 THEN 'female' ELSE 'male' END,
    '+8143' || (2000000 + n), '（試験データ）' || h.t || '丁目', a.town_ids[h.t],
    a.town_lat[h.t] + ((r.x % 1000) - 500) / 40000.0, a.town_lon[h.t] + ((r.x / 1000 % 1000) - 500) / 40000.0,
    jsonb_build_array(dx[1 + r.x % array_length(dx, 1)]), '{"dnar": false}', '[]',
    '{"name": "試験 家族", "relation": "長女", "phone": "090-0000-0000"}'
FROM scale_area a
CROSS JOIN LATERAL generate_series(a.patient_lo, a.patient_lo + a.patients - 1) AS n
CROSS JOIN LATERAL (SELECT abs(hashint4(n)::bigint) AS x) AS r
CROSS JOIN LATERAL (
    SELECT CAST(:fam AS text[]) AS fam, CAST(:giv AS text[]) AS giv, CAST(:fam_kana AS text[]) AS fam_kana,
        CAST(:giv_kana AS text[]) AS giv_kana, CAST(:dx AS text[]) AS dx,
        (r.x % :nf)::int AS f, (r.x / :nf % :ng)::int AS g, 1 + n % array_length(a.town_ids, 1) AS t
) AS h
"""

# One enrolment per patient (its id the patient's), at a clinic of the patient's area, with consent.
ENROLMENTS = """
INSERT INTO enrolment (id, patient_id, clinic_id, clinic_patient_number, enrolled_on, consent_given, consent_at,
    consent_by)
SELECT n, n, a.clinic_ids[1 + n % array_length(a.clinic_ids, 1)], 'K' || lpad(n::text, 7, '0'), d.day, true,
    d.day + time '10:00', '本人'
FROM scale_area a
CROSS JOIN LATERAL generate_series(a.patient_lo, a.patient_lo + a.patients - 1) AS n
CROSS JOIN LATERAL (SELECT CAST(:first AS date) + abs(hashint4(n + 17)) % 365 AS day) AS d
"""

PHYSICIANS = """
INSERT INTO physician (id, name, role, phone_e164, base_municipality_id, base_latitude, base_longitude, active,
    contact, shift_reminders)
SELECT n, '試験医師' || n, 'substitute', '+8180' || (10000000 + n), a.town_ids[t], a.town_lat[t] + 0.01,
    a.town_lon[t] - 0.01, true, 'sms_then_call', true
FROM scale_area a
CROSS JOIN LATERAL generate_series(a.physician_lo, a.physician_lo + a.physicians - 1) AS n
CROSS JOIN LATERAL (SELECT 1 + n % array_length(a.town_ids, 1) AS t) AS x
"""

# Every physician on call each of the past `nights` (the roster's history), then tonight's shift from an
# hour before the build to 15 hours after (covering the measurements), each for every town of its area.
SHIFTS = """
INSERT INTO shift (id, physician_id, starts_at, ends_at, note, generated, published, overridden, removed)
SELECT (:nights - d) * :physicians + p.id, p.id, CAST(:start AS timestamptz) - d * interval '1 day',
    CAST(:start AS timestamptz) - d * interval '1 day' + interval '16 hours', 'scale', false, true, false, false
FROM generate_series(:nights, 0, -1) AS d CROSS JOIN physician AS p
ORDER BY 1
"""
SHIFT_COVERAGE = """
INSERT INTO shift_coverage (shift_id, municipality_id)
SELECT s.id, unnest(a.town_ids)
FROM shift s JOIN physician p ON p.id = s.physician_id JOIN municipality m ON m.id = p.base_municipality_id
JOIN scale_area a ON a.area_id = m.area_id
"""

# The past calls, in time order (the id follows the call time, as in a live table): night calls of every day
# from the first day to yesterday. By a hash of the id (k in 0..999): 0.5 % unidentified, 1.5 % out of
# contract, 45 % advice, 2 % referred to 119, 2 % cancelled before a decision, 2 % closed unfilled, 47 %
# visited by a physician of the patient's area.
CASES = """
INSERT INTO "case" (id, programme_id, state, version, patient_id, clinic_id, municipality_id, called_at,
    in_service_hours, service_hours_rule_version, in_contract, caller_relation, callback_phone_e164,
    chief_complaint, intake, provisional_urgency, triage_claimed_at, disposition, urgency, jtas_level,
    decided_at, escalation_policy, assigned_physician_id, accepted_at, arrived_at, created_at, updated_at,
    closed_at, ended_because, family_updates_consent, coordinator_alerted_at)
SELECT n, c.programme_id, s.state, 1, CASE WHEN r.k >= 5 THEN pt.id END,
    CASE WHEN r.k >= 5 THEN e.clinic_id END,
    pt.municipality_id, t.at, true, 1, NOT (r.k >= 5 AND r.k < 20), 'family', pt.household_phone_e164,
    (CAST(:complaints AS text[]))[1 + r.x % :ncomplaints], CAST(:intake AS jsonb),
    (ARRAY['red', 'orange', 'yellow', 'yellow', 'green'])[1 + r.x % 5], t.at + interval '3 minutes',
    s.disposition,
    CASE WHEN s.decided THEN (ARRAY['red', 'orange', 'yellow', 'yellow', 'green'])[1 + r.y % 5] END,
    CASE WHEN s.decided THEN 1 + r.y % 5 END, CASE WHEN s.decided THEN t.at + interval '8 minutes' END,
    CAST(:policy AS jsonb), CASE WHEN s.visit THEN a.physician_lo + (r.y / 1000) % a.physicians END,
    CASE WHEN s.visit THEN t.at + interval '15 minutes' END,
    CASE WHEN s.visit THEN t.at + interval '50 minutes' END,
    t.at, t.at + s.took, t.at + s.took, s.ended_because, r.x % 3 = 0,
    CASE WHEN r.k >= 510 AND r.k < 530 THEN t.at + interval '20 minutes' END
FROM generate_series(1, :cases) AS n
CROSS JOIN LATERAL (
    SELECT abs(hashint4(n)::bigint) AS x, abs(hashint4(-n)::bigint) AS y, abs(hashint4(-n)::bigint) % 1000 AS k,
        (n - 1) * CAST(:days AS float8) / :cases AS d
) AS r
CROSS JOIN LATERAL (
    SELECT CAST(:first AS timestamptz) + floor(r.d) * interval '1 day'
        + (r.d - floor(r.d)) * interval '14 hours' AS at
) AS t
CROSS JOIN LATERAL (
    SELECT CASE WHEN r.k < 470 THEN 'closed_consultation' WHEN r.k < 490 THEN 'referred_ems'
            WHEN r.k < 530 THEN 'cancelled' ELSE 'closed' END AS state,
        r.k >= 530 AS visit, NOT (r.k >= 490 AND r.k < 510) AS decided,
        CASE WHEN r.k < 470
                THEN (ARRAY['advice_only', 'advice_follow_up_attending', 'attending_handles'])[1 + r.k % 3]
            WHEN r.k < 490 THEN 'ems_119' WHEN r.k < 510 THEN NULL WHEN r.k < 530 THEN 'visit_standard'
            ELSE (ARRAY['visit_urgent', 'visit_standard', 'visit_standard', 'expected_death_visit'])
                [1 + r.k % 4]
        END AS disposition,
        CASE WHEN r.k >= 490 AND r.k < 510 THEN 'cancelled' WHEN r.k >= 510 AND r.k < 530 THEN 'unfilled_closed'
        END AS ended_because,
        CASE WHEN r.k >= 530 THEN interval '3 hours' ELSE interval '25 minutes' END AS took
) AS s
JOIN patient pt ON pt.id = 1 + r.x % :patients
JOIN enrolment e ON e.id = pt.id
JOIN clinic c ON c.id = e.clinic_id
JOIN scale_area a ON a.programme_id = c.programme_id
"""

# One outcome per visit: 8 % death at home (看取り), 5 % taken to hospital, 1 % no contact, else treated.
OUTCOMES = """
INSERT INTO visit_outcome (case_id, outcome, departed_at, arrived_at, ended_at, recorded_by, recorded_at)
SELECT id, CASE WHEN id % 100 < 8 THEN 'death_pronounced' WHEN id % 100 < 13 THEN 'transported_admitted'
        WHEN id % 100 < 14 THEN 'no_contact' ELSE 'treated_at_home' END,
    accepted_at, arrived_at, arrived_at + interval '40 minutes', 'scale', arrived_at + interval '1 hour'
FROM "case" WHERE state = 'closed'
"""

# The offers of each visit: the accepted one, and for one visit in ten an earlier one declined or left to
# time out by another physician of the area.
OFFERS = """
INSERT INTO offer (case_id, physician_id, attempt, state, manual, estimated_travel_min, created_at, deadline_at,
    sms_sent_at, responded_at, link_generation)
SELECT c.id,
    CASE WHEN j = o.offers THEN c.assigned_physician_id
        ELSE a.physician_lo + (c.assigned_physician_id - a.physician_lo + 1) % a.physicians END,
    j, CASE WHEN j = o.offers THEN 'accepted' WHEN c.id % 20 = 0 THEN 'declined' ELSE 'timed_out' END, false,
    8 + c.id % 30, o.at, o.at + interval '5 minutes', o.at + interval '2 seconds',
    o.at + interval '2 minutes', 0
FROM "case" c
JOIN scale_area a ON a.programme_id = c.programme_id
CROSS JOIN LATERAL generate_series(1, 1 + (c.id % 10 = 0)::int) AS j
CROSS JOIN LATERAL (
    SELECT 1 + (c.id % 10 = 0)::int AS offers, c.decided_at + (j - 1) * interval '3 minutes' AS at
) AS o
WHERE c.state = 'closed'
"""

# Each case's timeline, cut to its first and last entries (the call logged; how it ended), and the
# coordinator's alert on the cases closed unfilled.
EVENTS = """
INSERT INTO case_event (case_id, at, kind, from_state, to_state, actor, reason, data)
SELECT c.id, CASE WHEN i = 1 THEN c.called_at WHEN i = 2 THEN c.coordinator_alerted_at ELSE c.closed_at END,
    CASE WHEN i = 1 THEN 'created' WHEN i = 2 THEN 'alert.coordinator' ELSE 'transition' END,
    CASE WHEN i = 3 THEN CASE WHEN c.state = 'closed' THEN 'handed_off' WHEN c.state = 'closed_consultation'
        THEN 'triaging' ELSE 'dispatching' END END,
    CASE WHEN i = 1 THEN 'received' WHEN i = 3 THEN c.state END,
    CASE WHEN i = 1 THEN 'user:scale-operator' ELSE 'system:scale' END,
    CASE WHEN i = 1 THEN '電話を受けました' WHEN i = 2 THEN '対応できる医師が見つかりません'
        ELSE '終了しました' END,
    CASE WHEN i = 1 THEN '{"reason_code": "call_logged"}'::jsonb ELSE '{}'::jsonb END
FROM "case" c CROSS JOIN LATERAL generate_series(1, 3) AS i
WHERE i <> 2 OR c.coordinator_alerted_at IS NOT NULL
"""

# Tonight's cases waiting for a physician: decided, dispatching, no offer out. `last_matched_at` a day ahead
# keeps the running stack's sweep from offering them (the measured rounds are rolled back), until the end.
WAITING = """
INSERT INTO "case" (id, programme_id, state, version, patient_id, clinic_id, municipality_id, called_at,
    in_service_hours, service_hours_rule_version, in_contract, caller_relation, callback_phone_e164,
    chief_complaint, intake, provisional_urgency, triage_claimed_at, disposition, urgency, jtas_level,
    decided_at, escalation_policy, created_at, updated_at, last_matched_at, triage_note)
SELECT :base + w, c.programme_id, 'dispatching', 1, pt.id, e.clinic_id, pt.municipality_id, t.at, true, 1, true,
    'family', pt.household_phone_e164, '呼吸が苦しい', CAST(:intake AS jsonb), u.urgency,
    t.at + interval '2 minutes',
    CASE WHEN u.urgency IN ('red', 'orange') THEN 'visit_urgent' ELSE 'visit_standard' END,
    u.urgency, 2, t.at + interval '8 minutes', CAST(:policy AS jsonb), t.at, t.at + interval '8 minutes',
    CAST(:now AS timestamptz) + interval '1 day', 'scale:waiting'
FROM generate_series(1, :waiting) AS w
CROSS JOIN LATERAL (SELECT CAST(:now AS timestamptz) - (20 + w % 40) * interval '1 minute' AS at) AS t
CROSS JOIN LATERAL (SELECT (ARRAY['red', 'orange', 'yellow', 'yellow', 'green'])[1 + w % 5] AS urgency) AS u
JOIN patient pt ON pt.id = 1 + abs(hashint4(w + 7777)) % :patients
JOIN enrolment e ON e.id = pt.id
JOIN clinic c ON c.id = e.clinic_id
"""

# For a run on a data set built earlier (`--reuse`): tonight's shifts moved to now, the waiting cases made
# waiting again (the offers the last run's worker made them withdrawn).
REUSE = [
    """
    UPDATE shift SET starts_at = CAST(:now AS timestamptz) - interval '1 hour',
        ends_at = CAST(:now AS timestamptz) + interval '15 hours'
    WHERE starts_at = (SELECT max(starts_at) FROM shift)
    """,
    """UPDATE offer SET state = 'withdrawn' WHERE state = 'pending'""",
    """
    UPDATE "case" SET state = 'dispatching', current_offer_id = NULL, coordinator_alerted_at = NULL,
        last_matched_at = CAST(:now AS timestamptz) + interval '1 day'
    WHERE triage_note = 'scale:waiting'
    """,
]

# The indexes a bulk load is faster without (made again after it): not primary keys, not constraints.
SECONDARY_INDEXES = """
SELECT i.relname, pg_get_indexdef(i.oid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relname = ANY(CAST(:tables AS text[])) AND NOT x.indisprimary
    AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
ORDER BY t.relname, i.relname
"""
