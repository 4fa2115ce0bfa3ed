"""The audit log is a hash chain: concurrent reads append one unforked chain, and `dispatch audit verify`
names the first edited or deleted entry (on PostgreSQL and SQLite alike)."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select, text
from typer.testing import CliRunner

from dispatch import schema
from dispatch.audit import service as audit
from dispatch.audit.chain import GENESIS, HASHED_FIELDS, entry_hash, verify
from dispatch.audit.models import AuditEntry
from dispatch.auth.models import Role, User
from dispatch.cli import app
from dispatch.patients.models import Enrolment
from dispatch.patients.service import care_profile

READERS = 20


def _entries(services) -> list[AuditEntry]:
    with services.session_factory() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def _verify(services):
    with services.session_factory() as session:
        return audit.verify_chain(session)


def _append(services, n: int) -> list[int]:
    with services.session_factory() as session:
        for i in range(n):
            audit.record(session, services.clock, None, "test.read", detail={"n": i, "名": "記録"})
        session.commit()
    return [e.id for e in _entries(services)]


def _tamper(services, statement: str) -> None:
    """Run an UPDATE or DELETE on audit_log past its append-only trigger (as an intruder with DDL could)."""
    with services.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
            conn.execute(text(statement))
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
        else:  # each SQLite test has its own copy of the database
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
            conn.execute(text(statement))


def _cli(settings, *args: str) -> tuple[int, str]:
    env = {"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url, "ENVIRONMENT": "test"}
    result = CliRunner().invoke(app, ["audit", "verify", *args], env=env)
    return result.exit_code, result.output


def test_concurrent_care_profile_reads_append_one_unforked_chain(services, demo_logins, settings):
    with services.session_factory() as session:
        patient_ids = list(session.scalars(select(Enrolment.patient_id)))
        user_ids = list(
            session.scalars(select(User.id).where(User.role.in_([Role.operator, Role.consulting_physician])))
        )
    before = len(_entries(services))
    start = threading.Barrier(READERS, timeout=60)
    failures: list[BaseException] = []

    def read(i: int) -> None:
        try:
            start.wait()  # before taking a connection: the pool may hold fewer than READERS
            with services.session_factory() as session:
                user = session.get(User, user_ids[i % len(user_ids)])
                assert user is not None
                care_profile(session, services.clock, user, patient_ids[i % len(patient_ids)])
                session.commit()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=read, args=(i,)) for i in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    entries = _entries(services)
    assert len(entries) == before + READERS
    assert [e.id for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0].prev_hash == GENESIS
    assert all(e.prev_hash == p.entry_hash for p, e in itertools.pairwise(entries))
    report = _verify(services)
    assert report.intact and report.entries == len(entries)
    anchor = f"anchor: {entries[-1].id}:{entries[-1].entry_hash}\n"
    assert _cli(settings) == (0, f"audit chain intact: {len(entries)} entries\n{anchor}")


def test_an_edited_entry_is_named_by_its_id(services, settings):
    ids = _append(services, 5)
    _tamper(services, f"UPDATE audit_log SET action = 'nothing.to.see' WHERE id = {ids[2]}")
    report = _verify(services)
    assert report.broken is not None and (report.broken.entry_id, report.broken.kind) == (ids[2], "edited")
    assert report.entries == 2
    code, output = _cli(settings)
    assert code == 1 and f"entry {ids[2]}: its hash does not match its contents (edited)" in output


def _rewrite(services, entry_id: int) -> None:
    """Edit an entry and store the hash its new contents would have."""
    with services.session_factory() as session:
        entry = session.get(AuditEntry, entry_id)
        assert entry is not None
        fields = {name: getattr(entry, name) for name in HASHED_FIELDS} | {"action": "nothing.to.see"}
    forged = entry_hash(fields)
    _tamper(
        services,
        f"UPDATE audit_log SET action = 'nothing.to.see', entry_hash = '{forged}' WHERE id = {entry_id}",
    )


def test_an_entry_rewritten_with_a_fresh_hash_breaks_the_link_after_it(services):
    ids = _append(services, 4)
    _rewrite(services, ids[1])
    report = _verify(services)
    assert report.broken is not None and report.broken.entry_id == ids[2]
    assert f"does not match entry {ids[1]}" in report.broken.message


def test_the_last_entry_rewritten_with_a_fresh_hash_differs_from_the_head(services):
    ids = _append(services, 3)
    _rewrite(services, ids[-1])
    report = _verify(services)
    assert report.broken is not None and (report.broken.entry_id, report.broken.kind) == (ids[-1], "edited")


def test_a_deleted_entry_is_found_by_the_link_after_it(services, settings):
    ids = _append(services, 5)
    _tamper(services, f"DELETE FROM audit_log WHERE id = {ids[1]}")
    report = _verify(services)
    assert report.broken is not None and (report.broken.entry_id, report.broken.kind) == (ids[2], "deleted")
    assert f"entry {ids[1]} deleted" in report.broken.message
    code, output = _cli(settings)
    assert code == 1 and f"entry {ids[2]}: its prev_hash names no preceding entry" in output


def test_deleted_first_and_last_entries_are_found(services):
    ids = _append(services, 4)
    _tamper(services, f"DELETE FROM audit_log WHERE id >= {ids[2]}")
    report = _verify(services)
    assert report.broken is not None and (report.broken.entry_id, report.broken.kind) == (ids[2], "deleted")
    assert report.entries == 2
    _tamper(services, f"DELETE FROM audit_log WHERE id = {ids[0]}")
    report = _verify(services)
    assert report.broken is not None and (report.broken.entry_id, report.broken.kind) == (ids[1], "deleted")


def test_appends_go_on_after_the_head_row_is_lost(services):
    ids = _append(services, 2)
    with services.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_chain_head"))
    assert _append(services, 2) == [*ids, ids[-1] + 1, ids[-1] + 2]
    assert _verify(services).intact


def test_the_migration_chains_the_entries_already_written(scratch_database_url):
    schema.upgrade(scratch_database_url, "0005")
    engine = create_engine(scratch_database_url)
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC).replace(tzinfo=None).isoformat(" ")
    if engine.dialect.name == "postgresql":
        at += "+00:00"
    with engine.begin() as conn:
        for i in (1, 2, 4):  # a gap, as a rolled-back sequence number leaves
            conn.execute(
                text(
                    "INSERT INTO audit_log (id, at, role, action, detail) "
                    f"VALUES ({i}, '{at}', 'system', 'old.read', '{{\"k\": [1, 2.5]}}')"
                )
            )
    schema.upgrade(scratch_database_url)
    with engine.connect() as conn:
        report = verify(conn)
        assert report.intact and report.entries == 3
        assert conn.execute(text("SELECT last_id FROM audit_chain_head")).scalar() == 4
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET action = 'x'"))
    schema.downgrade(scratch_database_url, "0005")
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
    engine.dispose()


def _rebuild_chain(services) -> None:
    """What someone able to lift the triggers could do: rewrite an entry, then recompute every hash after it
    and the head, so that the chain alone is consistent again."""
    with services.session_factory() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        rows = [{name: getattr(e, name) for name in HASHED_FIELDS} for e in entries]
    rows[0]["action"] = "nothing.to.see"
    statements, prev = [], GENESIS
    for row in rows:
        row["prev_hash"] = prev
        prev = entry_hash(row)
        statements.append(
            f"UPDATE audit_log SET action = '{row['action']}', prev_hash = '{row['prev_hash']}', "
            f"entry_hash = '{prev}' WHERE id = {row['id']}"
        )
    statements.append(f"UPDATE audit_chain_head SET last_hash = '{prev}' WHERE id = 1")
    for statement in statements:
        _tamper(services, statement)


def test_a_rebuilt_chain_is_caught_by_the_anchor_an_earlier_review_kept(services, settings):
    _append(services, 4)
    code, output = _cli(settings)
    kept = output.splitlines()[-1].removeprefix("anchor: ")
    assert code == 0 and output.startswith("audit chain intact: 4 entries")
    _append(services, 2)
    assert _cli(settings, "--anchor", kept)[1].startswith("audit chain intact: 6 entries, 1 anchors matched")

    _rebuild_chain(services)
    assert _verify(services).intact  # the chain alone cannot tell
    code, output = _cli(settings, "--anchor", kept)
    entry_id = kept.split(":")[0]
    assert (
        code == 1 and f"entry {entry_id}: its hash differs from the anchor kept at an earlier review" in output
    )


def test_an_anchor_past_the_end_of_the_log_and_a_malformed_anchor_are_named(services, settings):
    ids = _append(services, 2)
    code, output = _cli(settings, "--anchor", f"{ids[-1] + 5}:{'a' * 64}")
    assert code == 1 and f"entry {ids[-1] + 5}: an anchor names it, the log no longer holds it" in output
    code, output = _cli(settings, "--anchor", "12:nothex")
    assert code == 2 and "ENTRY_ID:SHA256" in output
