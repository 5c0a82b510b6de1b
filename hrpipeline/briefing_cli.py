"""``flask --app hrpipeline briefing`` and ``flask --app hrpipeline pilot-evaluate``.

Both run as the command-line operator (``services.scope.OPERATOR``: every zone) and print or
write exactly what the web serves: gated numbers only, downloads audit-logged.
"""

from __future__ import annotations

import json
import pathlib

import click

from hrpipeline.disclosure import display
from hrpipeline.errors import DomainError


@click.command("briefing")
@click.option("--zone", required=True, help="Zone code, or ALL for the all-zone pool.")
@click.option("--period", required=True, help="year:YYYY")
@click.option("--lang", type=click.Choice(["nl", "fr", "en"]), default="en", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["pdf", "html"]), default="pdf",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True,
              help="File to write.")
def briefing_command(zone: str, period: str, lang: str, fmt: str, output: str) -> None:
    """Write a leadership briefing (PDF or standalone HTML) for one zone and year."""
    from hrpipeline.services import briefing as service
    from hrpipeline.services.scope import OPERATOR

    try:
        if fmt == "pdf":
            body: bytes | str = service.briefing_pdf(OPERATOR, zone, period, lang)
        else:
            body = service.briefing_html(OPERATOR, zone, period, lang)
    except DomainError as err:
        raise click.ClickException(err.message) from err
    if isinstance(body, bytes):
        pathlib.Path(output).write_bytes(body)
    else:
        pathlib.Path(output).write_text(body, encoding="utf-8")
    click.echo(f"Briefing {zone} / {period} ({lang}, {fmt}) written to {output}")


@click.command("pilot-evaluate")
@click.argument("pilot_id", type=int)
@click.option("--lang", type=click.Choice(["nl", "fr", "en"]), default="en", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the evaluation as JSON.")
def pilot_evaluate_command(pilot_id: int, lang: str, as_json: bool) -> None:
    """Evaluate one pilot (difference-in-differences) and print the gated result."""
    from hrpipeline.services import pilots as service
    from hrpipeline.services.scope import OPERATOR

    try:
        ev = service.evaluate(OPERATOR, pilot_id, lang)
    except DomainError as err:
        raise click.ClickException(err.message) from err
    if as_json:
        click.echo(json.dumps(ev.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(f"Pilot {ev.pilot.id}: {ev.pilot.name} (target {ev.pilot.target}; "
               f"pilot zones {', '.join(ev.pilot.zones)}; comparison "
               f"{', '.join(ev.pilot.comparison_zones) or '-'}; k = {ev.k}, x = hidden)")
    click.echo(f"{'arm':<12}{'phase':<8}{'group':<19}{'success':>8}{'other':>8}{'n':>8}"
               f"{'rate':>8}")
    for c in ev.cells:
        rate = c["rate"]
        rate_text = "-" if rate is None else (display(rate) if display(rate) == "x"
                                              else f"{rate:.1%}")
        click.echo(f"{c['arm']:<12}{c['phase']:<8}{c['group']:<19}{display(c['successes']):>8}"
                   f"{display(c['failures']):>8}{display(c['n']):>8}{rate_text:>8}")
    click.echo(f"Verdict: {ev.verdict} - {ev.verdict_text}")
    for reason in ev.reasons:
        click.echo(f"  {reason}")
    if ev.did is not None:
        d = ev.did
        click.echo(f"DiD effect: {display(d['pp'])} pp (95% CI {display(d['pp_low'])} to "
                   f"{display(d['pp_high'])}); log-odds {display(d['log_odds'])} "
                   f"({display(d['log_odds_low'])} to {display(d['log_odds_high'])}); "
                   f"p {display(d['p_value'])}")


#: Commands to register in ``hrpipeline.cli.init_app``.
pilot_commands = (pilot_evaluate_command,)
