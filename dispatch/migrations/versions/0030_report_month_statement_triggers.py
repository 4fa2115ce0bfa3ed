"""The reports' cache forgotten once per statement, not once per row: the triggers of 0028 and 0029 on
"case", offer, visit_outcome and case_event become statement triggers that read the rows changed from their
transition tables. A matching round writes 200 offers, 200 events and 200 cases in three statements; per row,
that was 600 calls of a PL/pgSQL function (a fifth of the server's share of the round), now it is three.
What is forgotten and bumped is the same: the ended months (or the one ending within the hour) of the rows'
calls, their programme's and the prefecture's (0), in one sorted set per statement.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = """
CREATE FUNCTION report_month_forget_rows(programmes integer[], ats timestamptz[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    -- As report_month_forget: a month in progress is never cached; the hour before its end counts as ended.
    horizon timestamp := date_trunc('month', timezone('Asia/Tokyo', clock_timestamp() + interval '1 hour'));
    scopes integer[];
    keys text[];
BEGIN
    SELECT array_agg(scope ORDER BY scope, month), array_agg(month ORDER BY scope, month) INTO scopes, keys
    FROM (
        SELECT DISTINCT s.scope, to_char(timezone('Asia/Tokyo', r.at), 'YYYY-MM') AS month
        FROM unnest(programmes, ats) AS r(programme, at)
        CROSS JOIN LATERAL unnest(ARRAY[0, r.programme]) AS s(scope)
        WHERE timezone('Asia/Tokyo', r.at) < horizon
    ) AS ended;
    IF scopes IS NULL THEN
        RETURN;
    END IF;
    PERFORM report_month_bump(scopes, keys);  -- first: it takes the stamps' locks
    DELETE FROM report_month AS m USING unnest(scopes, keys) AS k(scope, month)
        WHERE m.scope = k.scope AND m.month = k.month;
END $$;
CREATE FUNCTION report_month_case_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM report_month_forget_rows(array_agg(programme_id), array_agg(called_at)) FROM changed_new;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM report_month_forget_rows(array_agg(programme_id), array_agg(called_at)) FROM changed_old;
    ELSE
        PERFORM report_month_forget_rows(array_agg(programme_id), array_agg(called_at))
        FROM (SELECT programme_id, called_at FROM changed_new
              UNION SELECT programme_id, called_at FROM changed_old) AS changed;
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION report_month_forget_cases(cases integer[]) RETURNS void LANGUAGE sql AS $$
    SELECT report_month_forget_rows(array_agg(c.programme_id), array_agg(c.called_at))
    FROM "case" AS c WHERE c.id = ANY (cases)
$$;
CREATE FUNCTION report_month_of_case_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        PERFORM report_month_forget_cases(array_agg(case_id)) FROM changed_new;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM report_month_forget_cases(array_agg(case_id)) FROM changed_old;
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION report_month_alert_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        PERFORM report_month_forget_cases(array_agg(case_id)) FROM changed_new
        WHERE kind = 'alert.coordinator';
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM report_month_forget_cases(array_agg(case_id)) FROM changed_old
        WHERE kind = 'alert.coordinator';
    END IF;
    RETURN NULL;
END $$;
"""
ROW_TRIGGERS = [
    ("report_month_case", '"case"'),
    ("report_month_visit_outcome", "visit_outcome"),
    ("report_month_offer", "offer"),
    ("report_month_case_event", "case_event"),
    ("report_month_case_event_change", "case_event"),
    ("report_month_case_event_gone", "case_event"),
]
# (table, function): of case_event, only the coordinator alerts count.
STATEMENT_TRIGGERS = [
    ('"case"', "report_month_case_rows"),
    ("visit_outcome", "report_month_of_case_rows"),
    ("offer", "report_month_of_case_rows"),
    ("case_event", "report_month_alert_rows"),
]
EVENTS = {
    "insert": "NEW TABLE AS changed_new",
    "update": "OLD TABLE AS changed_old NEW TABLE AS changed_new",
    "delete": "OLD TABLE AS changed_old",
}
# 0028's row triggers (their functions, as 0029 left them, are kept for the way down).
ROW_TRIGGERS_0028 = """
CREATE TRIGGER report_month_case AFTER INSERT OR UPDATE OR DELETE ON "case"
    FOR EACH ROW EXECUTE FUNCTION report_month_case();
CREATE TRIGGER report_month_visit_outcome AFTER INSERT OR UPDATE OR DELETE ON visit_outcome
    FOR EACH ROW EXECUTE FUNCTION report_month_of_case();
CREATE TRIGGER report_month_offer AFTER INSERT OR UPDATE OR DELETE ON offer
    FOR EACH ROW EXECUTE FUNCTION report_month_of_case();
CREATE TRIGGER report_month_case_event AFTER INSERT ON case_event
    FOR EACH ROW WHEN (NEW.kind = 'alert.coordinator') EXECUTE FUNCTION report_month_of_case();
CREATE TRIGGER report_month_case_event_change AFTER UPDATE ON case_event
    FOR EACH ROW WHEN (OLD.kind = 'alert.coordinator' OR NEW.kind = 'alert.coordinator')
    EXECUTE FUNCTION report_month_of_case();
CREATE TRIGGER report_month_case_event_gone AFTER DELETE ON case_event
    FOR EACH ROW WHEN (OLD.kind = 'alert.coordinator') EXECUTE FUNCTION report_month_of_case();
"""


def _name(table: str, event: str) -> str:
    return f"report_month_{table.strip(chr(34))}_{event}"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTIONS)
    for name, table in ROW_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    for table, function in STATEMENT_TRIGGERS:
        for event, tables in EVENTS.items():
            op.execute(
                f"CREATE TRIGGER {_name(table, event)} AFTER {event.upper()} ON {table} "
                f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, _function in STATEMENT_TRIGGERS:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS {_name(table, event)} ON {table}")
    op.execute(ROW_TRIGGERS_0028)
    op.execute("DROP FUNCTION IF EXISTS report_month_alert_rows()")
    op.execute("DROP FUNCTION IF EXISTS report_month_of_case_rows()")
    op.execute("DROP FUNCTION IF EXISTS report_month_forget_cases(integer[])")
    op.execute("DROP FUNCTION IF EXISTS report_month_case_rows()")
    op.execute("DROP FUNCTION IF EXISTS report_month_forget_rows(integer[], timestamptz[])")
