"""`dispatch audit verify`: walk the audit log's hash chain and name the first edited or deleted entry."""

from __future__ import annotations

import typer

from dispatch.startup import settings_or_exit

audit_app = typer.Typer(
    help="The audit log (its hash chain, for the regular log review).", no_args_is_help=True
)


@audit_app.command("verify")
def verify() -> None:
    """Exit 0 with the number of entries when the chain is intact, 1 naming the first broken link."""
    from dispatch.audit.service import verify_chain
    from dispatch.db import make_engine, make_session_factory

    settings = settings_or_exit()
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            report = verify_chain(session)
    finally:
        engine.dispose()
    if report.broken is not None:
        typer.secho(
            f"audit chain broken after {report.entries} intact entries: {report.broken.message}",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"audit chain intact: {report.entries} entries")
