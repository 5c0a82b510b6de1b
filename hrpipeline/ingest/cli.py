"""``flask --app hrpipeline import FILE --zone CODE --kind funnel|workforce|counts``."""

from __future__ import annotations

import datetime as dt
import pathlib

import click
from sqlalchemy import select

from hrpipeline.domain import EXTRACT_KINDS
from hrpipeline.errors import Conflict
from hrpipeline.extensions import db
from hrpipeline.ingest.problems import ExtractInvalid, Problem
from hrpipeline.models import Zone


def format_problems(problems: list[Problem], total: int, limit: int = 50) -> str:
    """A plain-text table: row, column, code, message."""
    lines = [f"{'row':>7}  {'column':<24}  {'code':<24}  message"]
    for p in problems[:limit]:
        row = "" if p.row is None else str(p.row)
        lines.append(f"{row:>7}  {(p.column or '')[:24]:<24}  {p.code:<24}  {p.message}")
    if total > min(limit, len(problems)):
        lines.append(f"... and {total - min(limit, len(problems))} more problem(s).")
    return "\n".join(lines)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path))
@click.option("--zone", "zone_code", required=True, help="Zone code, e.g. ANT.")
@click.option("--kind", type=click.Choice(EXTRACT_KINDS), required=True)
@click.option("--replace", is_flag=True, help="Replace a stored extract of the same campaign(s).")
@click.option("--sheet", default=None, help="Worksheet name in an .xlsx file (default: first).")
@click.option("--reference-date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Extract date (YYYY-MM-DD); later dates are refused as future dates.")
@click.option("--errors-csv", type=click.Path(dir_okay=False, path_type=pathlib.Path),
              default=None, help="Write every problem to this CSV file.")
def import_command(file: pathlib.Path, zone_code: str, kind: str, replace: bool,
                   sheet: str | None, reference_date: dt.datetime | None,
                   errors_csv: pathlib.Path | None) -> None:
    """Validate and store an extract file for one zone (all rows or nothing)."""
    from hrpipeline.ingest.problems import problems_to_csv
    from hrpipeline.ingest.store import import_extract

    zone = db.session.scalar(select(Zone).where(Zone.code == zone_code))
    if zone is None:
        raise click.BadParameter(f"unknown zone code {zone_code!r}", param_hint="--zone")
    try:
        upload = import_extract(
            zone=zone, kind=kind, data=file.read_bytes(), filename=file.name, replace=replace,
            sheet=sheet, reference_date=reference_date.date() if reference_date else None)
    except ExtractInvalid as err:
        click.echo(f"{file.name}: refused, {err.problem_count} problem(s). Nothing was stored.",
                   err=True)
        click.echo(format_problems(err.problems, err.problem_count), err=True)
        if errors_csv is not None:
            errors_csv.write_bytes(problems_to_csv(err.problems))
            click.echo(f"All problems written to {errors_csv}.", err=True)
        raise SystemExit(2) from None
    except Conflict as err:
        click.echo(f"{file.name}: refused. {err.message}", err=True)
        raise SystemExit(3) from None
    note = f" (replaces upload #{upload.replaces_id})" if upload.replaces_id else ""
    click.echo(f"Stored upload #{upload.id}: {upload.row_count} {kind} rows for zone "
               f"{zone.code}{note}.")
    click.echo("Its protected releases are prepared by a background job (run by the web "
               "processes or `flask worker`).")
