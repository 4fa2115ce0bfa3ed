"""`dispatch report clinics|monthly|warm`: the prefecture's reports from the command line (counts only), and the
reports' cache counted once after a deployment or a bulk correction."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping

import typer

from config.settings import Settings
from dispatch.startup import settings_or_exit

report_app = typer.Typer(help="The prefecture's reports (counts only).", no_args_is_help=True)


def _settings() -> Settings:
    return settings_or_exit()


def _emit_as(format: str, rendered: Mapping[str, Callable[[], object]], output: str | None) -> None:
    """Render the report in `format` (one of `rendered`'s keys, else a usage error naming them) and emit it."""
    if format not in rendered:
        raise typer.BadParameter(f"{format!r}; use one of {', '.join(rendered)}", param_hint="--format")
    _emit(rendered[format](), output)


def _emit(rows_or_bytes, output: str | None) -> None:
    from pathlib import Path

    if isinstance(rows_or_bytes, bytes):
        if output is None:
            sys.stdout.buffer.write(rows_or_bytes)
        else:
            Path(output).write_bytes(rows_or_bytes)
            typer.echo(f"written: {output}", err=True)
        return
    if output is None:
        typer.echo(rows_or_bytes)
    else:
        Path(output).write_text(rows_or_bytes + "\n", encoding="utf-8")
        typer.echo(f"written: {output}", err=True)


def _programme_session(settings: Settings):
    from dispatch.db import make_engine, make_session_factory
    from dispatch.programme.service import get_programme

    session = make_session_factory(make_engine(settings.database_url))()
    return session, get_programme(session, settings.programme_code)


@report_app.command("clinics")
def report_clinics(
    fiscal_year: int = typer.Option(..., help="2024 = 令和6年度 (2024-04 .. 2025-03)"),
    format: str = typer.Option("table", help="table | csv | xlsx | json | reference-csv"),
    output: str | None = typer.Option(None, help="write to this file instead of the terminal"),
    area: str | None = typer.Option(None, help="an area's code (e.g. katori-kaiso); default: the programme"),
    prefecture: bool = typer.Option(False, help="every area: rows grouped by area, subtotals, the total"),
) -> None:
    """Per clinic: 契約患者数, 医療相談, 往診, 看取り, 契約時期, and 合計 (and 広域連携 when there was any)."""
    from dispatch.reports import area_formats, formats, units, workbook
    from dispatch.reports.fiscal import unit_report

    settings = _settings()
    session, _ = _programme_session(settings)
    with session:
        try:
            code = settings.programme_code
            unit = units.resolve(session, default_code=code, area=area, prefecture=prefecture)
        except units.UnitNotFound as exc:
            raise typer.BadParameter(str(exc), param_hint="--area") from None
        report = unit_report(session, unit, fiscal_year)
    rendered = {
        "table": lambda: formats.to_table(area_formats.csv_rows(report)),
        "csv": lambda: formats.to_csv(area_formats.csv_rows(report)),
        # The seed's columns and rows only, nothing else: what replays and the reference diff compare.
        "reference-csv": lambda: formats.to_csv(formats.clinic_rows_reference(report), bom=False),
        "xlsx": lambda: workbook.to_xlsx(report, None),
        "json": lambda: report.model_dump_json(indent=2),
    }
    _emit_as(format, rendered, output)


@report_app.command("monthly")
def report_monthly(
    from_month: str = typer.Option(..., "--from", help="first month, YYYY-MM"),
    to_month: str = typer.Option(..., "--to", help="last month, YYYY-MM"),
    format: str = typer.Option("table", help="table | csv | xlsx | json"),
    output: str | None = typer.Option(None, help="write to this file instead of the terminal"),
    area: str | None = typer.Option(None, help="an area's code (e.g. katori-kaiso); default: the programme"),
) -> None:
    """Per month: counts, response times, declines, timeouts, coordinator alerts (of one area's programme)."""
    from dispatch.programme.periods import fiscal_year_of, month_start
    from dispatch.reports import formats, service, workbook

    try:
        first, last = month_start(from_month), month_start(to_month)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    session, programme = _programme_session(_settings())
    with session:
        if area is not None:
            from dispatch.programme.choice import UnknownArea, area_id_of, area_programme
            from dispatch.programme.service import ProgrammeNotLoaded

            try:
                programme = area_programme(session, area_id_of(session, area))
            except (UnknownArea, ProgrammeNotLoaded):
                raise typer.BadParameter(f"no programme serves area {area!r}", param_hint="--area") from None
        report = service.monthly_report(session, programme, first, last)
        clinics = service.clinic_report(session, programme, fiscal_year_of(first)) if format == "xlsx" else None
    rendered = {
        "table": lambda: formats.to_table(formats.monthly_rows_ja(report)),
        "csv": lambda: formats.to_csv(formats.monthly_rows_ja(report)),
        "xlsx": lambda: workbook.to_xlsx(clinics, report),
        "json": lambda: report.model_dump_json(indent=2),
    }
    _emit_as(format, rendered, output)


@report_app.command("warm")
def report_warm() -> None:
    """Count the ended months the reports' cache lacks (this and last fiscal year, every area and the
    prefecture), as the periodic job does; the first run after a deployment or a bulk correction."""
    from datetime import UTC, datetime

    from dispatch.db import make_engine, make_session_factory
    from dispatch.reports import warm

    engine = make_engine(_settings().database_url)
    counted = warm.warm(make_session_factory(engine), datetime.now(UTC))
    engine.dispose()
    if counted is None:
        typer.echo("nothing to do: not PostgreSQL, or another warm run is at it")
        return
    typer.echo(", ".join(f"{kind}: {n} months" for kind, n in counted.items()) or "the cache is warm")
