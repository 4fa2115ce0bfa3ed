"""`dispatch audit verify`: walk the audit log's hash chain and name the first edited or deleted entry."""

from __future__ import annotations

import re

import typer

from dispatch.startup import settings_or_exit

audit_app = typer.Typer(
    help="The audit log (its hash chain, for the regular log review).", no_args_is_help=True
)

_ANCHOR = re.compile(r"(\d+):([0-9a-f]{64})")


def _anchors(values: list[str]) -> dict[int, str]:
    anchors = {}
    for value in values:
        match = _ANCHOR.fullmatch(value.strip().lower())
        if match is None:
            raise typer.BadParameter(
                f"{value!r}: write an anchor as ENTRY_ID:SHA256 (64 hex digits)", param_hint="--anchor"
            )
        anchors[int(match[1])] = match[2]
    return anchors


@audit_app.command("verify")
def verify(
    anchor: list[str] = typer.Option(
        [],
        help="ENTRY_ID:SHA256 printed by an earlier review and kept outside the database (repeatable): "
        "a chain rebuilt after a rewrite no longer matches it",
    ),
) -> None:
    """Exit 0 with the number of entries and the head to keep, 1 naming the first broken link."""
    from dispatch.audit.service import verify_chain
    from dispatch.db import make_engine, make_session_factory

    anchors = _anchors(anchor)
    settings = settings_or_exit()
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            report = verify_chain(session, anchors)
    finally:
        engine.dispose()
    if report.broken is not None:
        typer.secho(
            f"audit chain broken after {report.entries} intact entries: {report.broken.message}",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)
    checked = f", {len(anchors)} anchors matched" if anchors else ""
    typer.echo(f"audit chain intact: {report.entries} entries{checked}")
    # Kept outside the database (the review's minutes), it is next review's --anchor.
    typer.echo(f"anchor: {report.head_id}:{report.head_hash}")
