"""The reports' cache without its race: a version stamp per (scope, month) that the triggers of 0028 bump
before they delete, for a changed row of a month that has ended (or ends within the hour: a transaction that
began before midnight), and per kind of what is forgotten all at once ((-1, 'names'): a clinic or town
renamed; (-1, 'enrolled'): any enrolment). A report reads the stamps before it counts and keeps a month only
if its stamps are unchanged, holding them FOR SHARE until it commits (`dispatch.reports.months.store`), so a
change either shows in the stamps or waits and then deletes what the report kept. A month in progress is never
cached: a change of tonight's calls bumps and deletes nothing.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = """
CREATE OR REPLACE FUNCTION report_month_bump(stamps integer[], keys text[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO report_month_stamp AS s (scope, month, version)
        SELECT scope, month, 1 FROM unnest(stamps, keys) AS k(scope, month) ORDER BY scope, month
        ON CONFLICT (scope, month) DO UPDATE SET version = s.version + 1
$$;
CREATE OR REPLACE FUNCTION report_month_forget(programme integer, at timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    local timestamp := timezone('Asia/Tokyo', at);
    key text;
BEGIN
    -- A month in progress is never cached (the hot path: tonight's calls). Within the hour before a month
    -- ends, a change counts as one to an ended month: its transaction may commit after midnight.
    IF local IS NULL
        OR local >= date_trunc('month', timezone('Asia/Tokyo', clock_timestamp() + interval '1 hour')) THEN
        RETURN;
    END IF;
    key := to_char(local, 'YYYY-MM');
    PERFORM report_month_bump(ARRAY[0, programme], ARRAY[key, key]);  -- first: it takes the stamps' locks
    DELETE FROM report_month WHERE scope IN (programme, 0) AND month = key;
END $$;
CREATE OR REPLACE FUNCTION report_month_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM report_month_bump(ARRAY[-1], ARRAY['names']);
    DELETE FROM report_month WHERE kind IN ('monthly', 'enrolled');
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION report_month_enrolled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM report_month_bump(ARRAY[-1], ARRAY['enrolled']);
    DELETE FROM report_month WHERE kind = 'enrolled';
    RETURN NULL;
END $$;
"""
# 0028's bodies, as they were.
FUNCTIONS_0028 = """
DROP FUNCTION IF EXISTS report_month_forget(integer, timestamptz);
CREATE FUNCTION report_month_forget(programme integer, at timestamptz) RETURNS void LANGUAGE sql AS $$
    DELETE FROM report_month WHERE scope IN (programme, 0)
        AND month = to_char(timezone('Asia/Tokyo', at), 'YYYY-MM')
$$;
CREATE OR REPLACE FUNCTION report_month_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM report_month WHERE kind IN ('monthly', 'enrolled');
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION report_month_enrolled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM report_month WHERE kind = 'enrolled';
    RETURN NULL;
END $$;
DROP FUNCTION IF EXISTS report_month_bump(integer[], text[]);
"""


def upgrade() -> None:
    op.create_table(
        "report_month_stamp",
        sa.Column("scope", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=16), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "month", name=op.f("pk_report_month_stamp")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Whatever was kept before the stamps may be stale (the race this closes): counted again.
        op.execute("DELETE FROM report_month")
        op.execute(FUNCTIONS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTIONS_0028)
    op.drop_table("report_month_stamp")
