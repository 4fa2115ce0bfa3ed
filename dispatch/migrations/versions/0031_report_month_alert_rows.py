"""Coordinator alerts forget the reports' months row by row again, as in 0028: `case_event` gets a row on every
move of every case, and almost none is an alert. 0030's statement triggers on it called a PL/pgSQL function for
every statement that wrote an event (an intake's, a reply's) to find none; a row trigger's WHEN clause skips
them without calling anything. `case`, `offer` and `visit_outcome` keep 0030's statement triggers.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-02 14:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENTS = ("insert", "update", "delete")
ROW_TRIGGERS = """
CREATE TRIGGER report_month_case_event AFTER INSERT ON case_event
    FOR EACH ROW WHEN (NEW.kind = 'alert.coordinator') EXECUTE FUNCTION report_month_of_case();
CREATE TRIGGER report_month_case_event_change AFTER UPDATE ON case_event
    FOR EACH ROW WHEN (OLD.kind = 'alert.coordinator' OR NEW.kind = 'alert.coordinator')
    EXECUTE FUNCTION report_month_of_case();
CREATE TRIGGER report_month_case_event_gone AFTER DELETE ON case_event
    FOR EACH ROW WHEN (OLD.kind = 'alert.coordinator') EXECUTE FUNCTION report_month_of_case();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for event in EVENTS:
        op.execute(f"DROP TRIGGER IF EXISTS report_month_case_event_{event} ON case_event")
    op.execute(ROW_TRIGGERS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in ("report_month_case_event", "report_month_case_event_change", "report_month_case_event_gone"):
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON case_event")
    tables = {
        "insert": "NEW TABLE AS changed_new",
        "update": "OLD TABLE AS changed_old NEW TABLE AS changed_new",
        "delete": "OLD TABLE AS changed_old",
    }
    for event in EVENTS:
        op.execute(
            f"CREATE TRIGGER report_month_case_event_{event} AFTER {event.upper()} ON case_event "
            f"REFERENCING {tables[event]} FOR EACH STATEMENT EXECUTE FUNCTION report_month_alert_rows()"
        )
