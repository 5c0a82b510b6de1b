"""``flask --app hrpipeline <command>``: database, users, demo data and imports."""

from __future__ import annotations

import click
from flask import Flask
from flask_migrate import downgrade as migrate_downgrade
from flask_migrate import upgrade as migrate_upgrade

from hrpipeline.domain import ROLES
from hrpipeline.models import User


@click.command("init-db")
@click.option("--downgrade", "down", is_flag=True, help="Undo every migration (drop the schema).")
def init_db_command(down: bool) -> None:
    """Create or upgrade the database schema with the Alembic migrations."""
    if down:
        migrate_downgrade(revision="base")
        click.echo("Database schema removed.")
    else:
        migrate_upgrade()
        click.echo("Database schema is up to date.")


def create_user(username: str, password: str, role: str, zone_codes: list[str],
                all_zones: bool = False, language: str | None = None) -> User:
    """Create a user through the one users service; its refusals become click errors."""
    from hrpipeline.errors import Conflict, ValidationFailed
    from hrpipeline.services import users

    try:
        return users.create_user(username, password, role, zone_codes, all_zones=all_zones,
                                 language=language)
    except Conflict:
        raise click.BadParameter(f"user {username!r} already exists") from None
    except users.PasswordRejected as err:
        raise click.BadParameter(err.message, param_hint="password") from None
    except ValidationFailed as err:
        unknown = [p["value"] for p in err.extra.get("problems", [])
                   if p.get("code") == "unknown_zone"]
        if unknown:
            raise click.BadParameter(f"unknown zone code {unknown[0]!r}") from None
        raise click.BadParameter(err.message) from None


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--zone", "zones", multiple=True, help="Zone code; repeat for several zones.")
@click.option("--all-zones", is_flag=True, help="The user sees every zone.")
@click.option("--language", type=click.Choice(["nl", "fr", "en"]))
@click.password_option()
def create_user_command(username, role, zones, all_zones, language, password) -> None:
    """Create a user (password asked twice, never echoed)."""
    create_user(username, password, role, list(zones), all_zones, language)
    click.echo(f"User {username} created ({role}).")


@click.command("demo")
@click.option("--seed", default=20261124, show_default=True)
@click.option("--reset", is_flag=True, help="Delete all existing data first.")
def demo_command(seed: int, reset: bool) -> None:
    """Load the SYNTHETIC demo data set: zones, users, extracts, benchmarks, a pilot."""
    from hrpipeline.services.demo import load_demo

    summary = load_demo(seed=seed, reset=reset, echo=click.echo)
    for line in summary:
        click.echo(line)


@click.command("funnel")
@click.option("--zone", required=True, help="Zone code, or ALL for the all-zone pool.")
@click.option("--period", help="campaign:CODE or year:YYYY (default: the newest year).")
@click.option("--campaign", help="Shortcut for --period campaign:CODE.")
@click.option("--year", type=int, help="Shortcut for --period year:YYYY.")
@click.option("--reference", default="belgian_origin", show_default=True)
@click.option("--view", type=click.Choice(["decision", "retention"]), default="decision",
              show_default=True)
@click.option("--test", type=click.Choice(["fisher", "midp", "boschloo", "ztest"]),
              default="fisher", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON the web and API serve.")
def funnel_command(zone, period, campaign, year, reference, view, test, as_json) -> None:
    """Print a funnel table with adverse-impact tiers and reasons (suppressed like the web)."""
    import json

    from hrpipeline.disclosure import display
    from hrpipeline.services.funnel import funnel_report
    from hrpipeline.services.funnel_data import catalogue
    from hrpipeline.services.scope import OPERATOR

    if campaign:
        period = f"campaign:{campaign}"
    elif year:
        period = f"year:{year}"
    if not period:
        years = [e.year for e in catalogue(OPERATOR) if e.zone == zone]
        if not years:
            raise click.ClickException(f"No funnel data for zone {zone}.")
        period = f"year:{max(years)}"
    report = funnel_report(OPERATOR, zone, period, reference=reference, view=view, test=test)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(f"{report.zone_label} / {report.period_label} · reference {reference} · "
               f"view {view} · counts rounded to a multiple of {report.k}, rates from the rounded "
               "counts (x = hidden)")
    head = f"{'stage':<17}{'group':<19}{'entered':>8}{'passed':>8}{'failed':>8}{'withdrew':>9}" \
           f"{'pending':>8}{'rate':>8}"
    click.echo(head)
    for r in report.rows:
        rate = r["pass_rate"] if view == "decision" else r["retention_rate"]
        rate_text = display(rate) if rate is None or isinstance(rate, str) or display(rate) == "x" \
            else f"{rate:.1%}"
        click.echo(f"{r['stage']:<17}{r['group']:<19}{display(r['entered']):>8}"
                   f"{display(r['passed']):>8}{display(r['failed']):>8}"
                   f"{display(r['withdrew']):>9}{display(r['pending']):>8}{rate_text:>8}")
    click.echo("")
    click.echo(f"Adverse impact vs {reference} (Holm over {report.family_size} comparisons):")
    for c in report.comparisons:
        ratio = display(c["impact_ratio"]) if c["impact_ratio"] is not None else "-"
        click.echo(f"  {c['tier']:<6} {c['stage']:<17}{c['group']:<19} ratio {ratio:<6} "
                   f"p_adj {display(c['p_adjusted'])}: {c['reason']}")


def init_app(app: Flask) -> None:
    from hrpipeline.briefing_cli import briefing_command, pilot_commands
    from hrpipeline.ingest.cli import import_command
    from hrpipeline.services.jobs import worker_command
    from hrpipeline.services.planner import planner_command
    from hrpipeline.services.retention import retention_command
    from hrpipeline.services.tokens import token_create_command, token_revoke_command

    for command in (init_db_command, create_user_command, demo_command, funnel_command,
                    import_command, briefing_command, *pilot_commands, retention_command,
                    planner_command,
                    token_create_command, token_revoke_command, worker_command):
        app.cli.add_command(command)
