"""Leadership briefing for one zone (or ALL) and one year, filled from GATED reports only.

Sources (never raw counts):

* ``services.funnel.funnel_report`` (decision and retention views): shares per stage,
  flagged stages (RED / AMBER, top 6), unknown backgrounds, hidden-cell share, benchmark;
* the protected funnel release of the year (``releases.pool_release``) for the totals of
  applications and appointments (margins audited together with every other cell);
* ``services.pilots.evaluate`` for pilots covering the zone (verdict; the effect only when it is
  published);
* ``services.retention.retention_report`` when that service is installed; otherwise the
  retention section says "not available".

Texts are built from codes and gated values, never from raw counts. Renderers:
``hrpipeline.reporting.briefing`` (PDF with reportlab, standalone HTML).

Example::

    >>> b = build_briefing(user, "ANT", "year:2025", "nl")     # doctest: +SKIP
    >>> pdf = briefing_pdf(user, "ANT", "year:2025", "nl")     # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from hrpipeline import formatting
from hrpipeline.access import roles_with
from hrpipeline.disclosure import SUPPRESSED, is_suppressed
from hrpipeline.domain import KNOWN_BACKGROUNDS, NON_EU_BACKGROUND
from hrpipeline.errors import Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from hrpipeline.models import User
from hrpipeline.reporting import briefing as R
from hrpipeline.services import funnel as funnel_service
from hrpipeline.services import pilots as pilot_service
from hrpipeline.services import releases
from hrpipeline.services.publish import policy
from hrpipeline.services.scope import ALL, resolve_zone

BRIEFING_ROLES = roles_with("briefings")
LANGUAGES = ("nl", "fr", "en")
MAX_FLAGS = 6
_PERIOD = re.compile(r"^year:(\d{4})$")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "application": "Application", "cognitive_test": "Cognitive test",
        "personality_test": "Personality test", "physical_test": "Physical test",
        "interview": "Interview", "medical": "Medical examination",
        "screening": "Background screening", "academy": "Police academy",
        "appointed": "Appointed", "belgian_origin": "Belgian origin",
        "eu_background": "EU background", "non_eu_background": "Non-EU background",
        "unknown": "Unknown",
    },
    "nl": {
        "application": "Kandidatuur", "cognitive_test": "Cognitieve proef",
        "personality_test": "Persoonlijkheidsproef", "physical_test": "Sportproef",
        "interview": "Selectiecommissie", "medical": "Medisch onderzoek",
        "screening": "Moraliteitsonderzoek", "academy": "Politieschool",
        "appointed": "Aangesteld", "belgian_origin": "Belgische herkomst",
        "eu_background": "EU-herkomst", "non_eu_background": "Niet-EU-herkomst",
        "unknown": "Onbekend",
    },
    "fr": {
        "application": "Candidature", "cognitive_test": "Épreuve cognitive",
        "personality_test": "Épreuve de personnalité", "physical_test": "Épreuve sportive",
        "interview": "Commission de sélection", "medical": "Examen médical",
        "screening": "Enquête de moralité", "academy": "École de police",
        "appointed": "Nommé", "belgian_origin": "Origine belge",
        "eu_background": "Origine UE", "non_eu_background": "Origine hors UE",
        "unknown": "Inconnue",
    },
}

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Diversity in recruitment and retention",
        "period": "Year {year}", "all_zones": "All zones (pooled)",
        "applications": "Applications", "appointments": "Appointments",
        "non_eu_applications": "Non-EU background among applicants",
        "non_eu_appointments": "Non-EU background among appointees",
        "synthetic": "SYNTHETIC demo data - not real figures of any zone",
        "synthetic_short": "SYNTHETIC demo data",
        "flag_red": "The pass rate ({focal}) is below four-fifths of the reference group's "
        "({reference}); the difference is statistically significant (adjusted p {band}) and "
        "holds if one more candidate had passed.",
        "flag_amber": "Watch: pass rate {focal} against {reference} in the reference group "
        "(adjusted p {band}); a large or significant gap, but not firmly established.",
        "flag_red_hidden": "The pass rate is below four-fifths of the reference group's (the "
        "rates are hidden to protect privacy); the difference is statistically significant "
        "(adjusted p {band}) and holds if one more candidate had passed.",
        "flag_amber_hidden": "Watch: a large or significant gap (adjusted p {band}), but not "
        "firmly established; the rates are hidden to protect privacy.",
        "flag_strata": "Strata disagree: see each campaign/zone. The campaigns or zones of this "
        "table do not tell the same story, so the total of all of them is not the verdict.",
        "withdrawals": " Counting withdrawals as drop-out.",
        "effect": "Effect on the pass rate: {pp} percentage points (95% CI {low} to {high}).",
        "effect_hidden": "The size of the effect is not shown: a count behind it is hidden.",
        "unknown": "{n} applicants did not disclose their background; they are reported, "
        "not compared.",
        "unknown_hidden": "Some applicants did not disclose their background (number hidden to "
        "protect privacy); they are reported, not compared.",
        "hidden": "{hidden} of {total} cells of the funnel table are hidden to protect privacy.",
        "retention_na": "Retention figures are not available yet for this briefing.",
        "corps_na": "The corps column is not available until the retention figures are.",
        "benchmark_none": "No population benchmark is known for this zone.",
        "pooled": "Figures for all zones are pooled; each zone's own situation may differ.",
        "pilots_none": "No pilot project covers this zone.",
        "turnover": "Turnover, {group}",
    },
    "nl": {
        "title": "Diversiteit in rekrutering en retentie",
        "period": "Jaar {year}", "all_zones": "Alle zones (samen)",
        "applications": "Kandidaturen", "appointments": "Aanstellingen",
        "non_eu_applications": "Niet-EU-herkomst bij de kandidaten",
        "non_eu_appointments": "Niet-EU-herkomst bij de aanstellingen",
        "synthetic": "SYNTHETISCHE demodata - geen echte cijfers van een zone",
        "synthetic_short": "SYNTHETISCHE demodata",
        "flag_red": "Het slaagpercentage ({focal}) ligt onder vier vijfde van dat van de "
        "referentiegroep ({reference}); het verschil is statistisch significant (gecorrigeerde "
        "p {band}) en blijft overeind als één kandidaat meer geslaagd was.",
        "flag_amber": "Opvolgen: slaagpercentage {focal} tegenover {reference} in de "
        "referentiegroep (gecorrigeerde p {band}); een groot of significant verschil, maar nog "
        "niet stevig aangetoond.",
        "flag_red_hidden": "Het slaagpercentage ligt onder vier vijfde van dat van de "
        "referentiegroep (de percentages zijn verborgen om de privacy te beschermen); het "
        "verschil is statistisch significant (gecorrigeerde p {band}) en blijft overeind als "
        "één kandidaat meer geslaagd was.",
        "flag_amber_hidden": "Opvolgen: een groot of significant verschil (gecorrigeerde p "
        "{band}), maar nog niet stevig aangetoond; de percentages zijn verborgen om de privacy "
        "te beschermen.",
        "flag_strata": "De deelgroepen spreken elkaar tegen: bekijk elke campagne/zone apart. "
        "De campagnes of zones van deze tabel vertellen niet hetzelfde verhaal, dus het totaal "
        "is niet het oordeel.",
        "withdrawals": " Afhakers tellen mee als uitval.",
        "effect": "Effect op het slaagpercentage: {pp} procentpunten (95%-BI {low} tot {high}).",
        "effect_hidden": "De grootte van het effect wordt niet getoond: een onderliggend "
        "aantal is verborgen.",
        "unknown": "{n} kandidaten gaven hun herkomst niet op; zij worden gemeld, niet "
        "vergeleken.",
        "unknown_hidden": "Sommige kandidaten gaven hun herkomst niet op (aantal verborgen om "
        "de privacy te beschermen); zij worden gemeld, niet vergeleken.",
        "hidden": "{hidden} van de {total} cellen van de trechtertabel zijn verborgen om de "
        "privacy te beschermen.",
        "retention_na": "Cijfers over retentie zijn nog niet beschikbaar voor deze briefing.",
        "corps_na": "De kolom korps is pas beschikbaar wanneer de retentiecijfers dat zijn.",
        "benchmark_none": "Voor deze zone is geen bevolkingsreferentie bekend.",
        "pooled": "De cijfers van alle zones zijn samengeteld; de situatie per zone kan "
        "verschillen.",
        "pilots_none": "Geen enkel proefproject betreft deze zone.",
        "turnover": "Verloop, {group}",
    },
    "fr": {
        "title": "Diversité dans le recrutement et la rétention",
        "period": "Année {year}", "all_zones": "Toutes les zones (cumulées)",
        "applications": "Candidatures", "appointments": "Nominations",
        "non_eu_applications": "Origine hors UE parmi les candidats",
        "non_eu_appointments": "Origine hors UE parmi les nominations",
        "synthetic": "Données de démonstration SYNTHÉTIQUES - pas les chiffres réels d'une zone",
        "synthetic_short": "Données SYNTHÉTIQUES",
        "flag_red": "Le taux de réussite ({focal}) est inférieur aux quatre cinquièmes de celui "
        "du groupe de référence ({reference}) ; l'écart est statistiquement significatif "
        "(p corrigée {band}) et tient si un candidat de plus avait réussi.",
        "flag_amber": "À surveiller : taux de réussite {focal} contre {reference} dans le groupe "
        "de référence (p corrigée {band}) ; un écart important ou significatif, mais pas "
        "établi avec certitude.",
        "flag_red_hidden": "Le taux de réussite est inférieur aux quatre cinquièmes de celui du "
        "groupe de référence (les taux sont masqués pour protéger la vie privée) ; l'écart est "
        "statistiquement significatif (p corrigée {band}) et tient si un candidat de plus avait "
        "réussi.",
        "flag_amber_hidden": "À surveiller : un écart important ou significatif (p corrigée "
        "{band}), mais pas établi avec certitude ; les taux sont masqués pour protéger la vie "
        "privée.",
        "flag_strata": "Les strates se contredisent : voir chaque campagne/zone. Les campagnes "
        "ou zones de ce tableau ne racontent pas la même histoire, le total n'est donc pas le "
        "verdict.",
        "withdrawals": " Les désistements comptent comme abandon.",
        "effect": "Effet sur le taux de réussite : {pp} points de pourcentage (IC à 95 % "
        "{low} à {high}).",
        "effect_hidden": "L'ampleur de l'effet n'est pas affichée : un nombre sous-jacent est "
        "masqué.",
        "unknown": "{n} candidats n'ont pas indiqué leur origine ; ils sont signalés, pas "
        "comparés.",
        "unknown_hidden": "Certains candidats n'ont pas indiqué leur origine (nombre masqué pour "
        "protéger la vie privée) ; ils sont signalés, pas comparés.",
        "hidden": "{hidden} cellules sur {total} du tableau de l'entonnoir sont masquées pour "
        "protéger la vie privée.",
        "retention_na": "Les chiffres de rétention ne sont pas encore disponibles pour ce "
        "briefing.",
        "corps_na": "La colonne corps n'est disponible qu'avec les chiffres de rétention.",
        "benchmark_none": "Aucune référence de population n'est connue pour cette zone.",
        "pooled": "Les chiffres de toutes les zones sont cumulés ; la situation de chaque zone "
        "peut différer.",
        "pilots_none": "Aucun projet pilote ne concerne cette zone.",
        "turnover": "Rotation, {group}",
    },
}


def _label(lang: str, value: str) -> str:
    return LABELS[lang].get(value, value)


def _check(user: User, zone: str, period: str, lang: str) -> int:
    if user.role not in BRIEFING_ROLES:
        raise Forbidden("Briefings are for leadership, project staff and administrators.")
    if lang not in LANGUAGES:
        raise ValidationFailed(f"Unknown language {lang!r}; expected nl, fr or en.")
    match = _PERIOD.match(period or "")
    if match is None:
        raise ValidationFailed(f"Unknown period {period!r}; expected year:YYYY.")
    return int(match.group(1))


def _pct(value: Any) -> Any:
    """A gated proportion (0-1) as a percentage with one decimal; hidden stays hidden."""
    if is_suppressed(value) or value is None:
        return value
    return round(float(value) * 100, 1)


def _num(value: Any, lang: str, unit: str = "") -> str:
    return R.format_value(value, unit, lang)


def _totals(report, zone: str, year: int) -> tuple[Any, Any]:
    """Applications (entered at the first stage) and appointments (entered at the last),
    read from the protected release (the published, rounded counts)."""
    release = releases.pool_release(year)
    first, last = report.stages[0], report.stages[-1]

    def value(stage: str) -> Any:
        return release.count(stage, zone=None if zone == ALL else zone)

    return value(first), value(last)


def _share(report, stage: str, group: str) -> Any:
    for row in report.rows:
        if row["stage"] == stage and row["group"] == group:
            return row["share"]
    return 0.0 if stage in report.stages else None


def _flags(reports: list[Any], lang: str) -> list[R.Flag]:
    t = TEXTS[lang]
    found: dict[tuple[str, str], tuple[int, str, str]] = {}
    order = {"RED": 0, "AMBER": 1}
    for report in reports:
        for c in report.comparisons:
            if c["tier"] not in order:
                continue
            key = (c["stage"], c["group"])
            band = formatting.p_value((c.get("reason_params") or {}).get("p_band"), lang)
            rates_hidden = any(is_suppressed(c[k]) or c[k] is None
                               for k in ("focal_rate", "reference_rate"))
            name = ("flag_red" if c["tier"] == "RED" else "flag_amber") + (
                "_hidden" if rates_hidden else "")
            text = t[name].format(
                focal=_num(_pct(c["focal_rate"]), lang, "%"),
                reference=_num(_pct(c["reference_rate"]), lang, "%"), band=band)
            if c.get("reason_code") == "strata_disagree":  # the crude rates are not the verdict
                text = t["flag_strata"]
            if c["view"] == "retention":
                text += t["withdrawals"]
            rank = order[c["tier"]]
            if key not in found or rank < found[key][0]:
                found[key] = (rank, c["tier"].lower(), text)
    stages = reports[0].stages if reports else []
    ranked = sorted(found.items(), key=lambda kv: (kv[1][0], stages.index(kv[0][0])
                                                   if kv[0][0] in stages else 99, kv[0][1]))
    return [R.Flag(_label(lang, stage), _label(lang, group), tier, text)
            for (stage, group), (_rank, tier, text) in ranked[:MAX_FLAGS]]


def _pilots(user: User, zone: str, lang: str) -> tuple[list[R.PilotSummary], list[bytes]]:
    t = TEXTS[lang]
    out, charts = [], []
    for info in pilot_service.pilots_covering(user, zone):
        ev = pilot_service.evaluate(user, info.id, lang)
        effect = ""
        if ev.did is not None:
            pp, low, high = ev.did["pp"], ev.did["pp_low"], ev.did["pp_high"]
            if any(is_suppressed(v) for v in (pp, low, high)):
                effect = t["effect_hidden"]
            else:
                effect = t["effect"].format(pp=_num(pp, lang), low=_num(low, lang),
                                            high=_num(high, lang))
        elif ev.reasons:
            effect = " ".join(ev.reasons)
        out.append(R.PilotSummary(ev.pilot.name, ev.verdict, ev.verdict_text, effect))
        if not charts and ev.series:
            charts.append(pilot_service.gap_chart_png(ev))
    return out, charts


def _retention(user: User, zone: str, lang: str) -> Any:
    """The retention service's report, or None when the zone has no workforce extract."""
    from hrpipeline.services.retention import retention_report

    try:
        return retention_report(user, zone, lang=lang)
    except (NotFound, ServiceUnavailable):  # no workforce extract, or none publishable now
        return None


def representation_chart(rows: list[R.RepresentationRow], lang: str) -> bytes:
    """The representation chart (drawn by ``hrpipeline.charts.briefing``)."""
    from hrpipeline.charts.briefing import representation_chart as draw

    return draw(rows, R.TEXTS[lang], lang)


def build_briefing(user: User, zone: str, period: str, lang: str = "en") -> R.Briefing:
    """The briefing content for one zone code (or ``ALL``) and ``year:YYYY``, all gated."""
    year = _check(user, zone, period, lang)
    zone_obj = resolve_zone(user, zone)  # 404 outside the scope; ALL only for all-zone users
    t = TEXTS[lang]
    decision = funnel_service.funnel_report(user, zone, period, view="decision", lang=lang)
    withdrawal = funnel_service.funnel_report(user, zone, period, view="retention", lang=lang)
    first, last = decision.stages[0], decision.stages[-1]

    applications, appointments = _totals(decision, zone, year)
    headline = [
        R.HeadlineFigure(t["applications"], applications),
        R.HeadlineFigure(t["appointments"], appointments),
        R.HeadlineFigure(t["non_eu_applications"],
                         _pct(_share(decision, first, NON_EU_BACKGROUND)), "%"),
        R.HeadlineFigure(t["non_eu_appointments"],
                         _pct(_share(decision, last, NON_EU_BACKGROUND)), "%"),
    ]

    population = {r["group"]: r["benchmark_share"] for r in decision.representation}
    retention = _retention(user, zone, lang)
    corps = _corps_shares(retention)
    representation = [
        R.RepresentationRow(
            _label(lang, g), _pct(_share(decision, first, g)), _pct(_share(decision, last, g)),
            corps.get(g), _pct(population.get(g)))
        for g in KNOWN_BACKGROUNDS
    ]

    caveats: list[str] = []
    # The footer shares its line with the page number: the short note goes there.
    data_note = t["synthetic_short"] if decision.synthetic else ""
    if decision.synthetic:
        caveats.append(t["synthetic"] + ".")
    if zone_obj is None:
        caveats.append(t["pooled"])
    unknown = decision.quality.get("unknown_at_first_stage", 0)
    if is_suppressed(unknown):
        caveats.append(t["unknown_hidden"])
    elif unknown:
        caveats.append(t["unknown"].format(n=_num(unknown, lang)))
    q = decision.quality
    if q.get("cells_hidden"):
        caveats.append(t["hidden"].format(hidden=_num(q["cells_hidden"], lang),
                                          total=_num(q["cells_shown"], lang)))
    if not decision.benchmark_label:
        caveats.append(t["benchmark_none"])

    attrition, findings = _attrition(retention, lang, year)
    if retention is not None:
        from hrpipeline.services.planner import briefing_lines

        findings += briefing_lines(user, zone, lang)
    if retention is None:
        caveats.append(t["retention_na"])
        caveats.append(t["corps_na"])

    pilots, charts = _pilots(user, zone, lang)
    if not pilots:
        caveats.append(t["pilots_none"])
    if any(not is_suppressed(v) and v is not None for r in representation
           for v in (r.application, r.appointment, r.corps, r.population)):
        charts.insert(0, representation_chart(representation, lang))

    zone_label = zone_obj.name(lang) if zone_obj is not None else t["all_zones"]
    return R.Briefing(
        title=t["title"], zone_label=zone_label, period_label=t["period"].format(year=year),
        language=lang, generated_on=dt.date.today(), data_note=data_note, headline=headline,
        representation=representation, benchmark_source=decision.benchmark_label or "",
        attrition=attrition, flagged_stages=_flags([decision, withdrawal], lang),
        pilots=pilots, retention_findings=findings, caveats=caveats, charts=charts[:2],
        rounding_base=policy().k,
    )


def _corps_shares(retention: Any) -> dict[str, Any]:
    """Share (%) of each group in the corps on the latest date of the gated retention report."""
    if retention is None:
        return {}
    rows = [r for r in getattr(retention, "representation", None) or []
            if isinstance(r, dict) and r.get("group") in KNOWN_BACKGROUNDS and "share" in r
            and r.get("rank") in (None, "all", "")]
    if not rows:
        return {}
    latest = max(str(r.get("date")) for r in rows)
    return {r["group"]: _pct(_gated(r["share"])) for r in rows if str(r.get("date")) == latest}


def _attrition(retention: Any, lang: str, year: int | None = None
               ) -> tuple[list[R.AttritionRow], list[str]]:
    """Turnover of the briefing's year (never the window's average: a "Year 2025" briefing
    showed the 2015–2026 average, issue 16 item 10) and first-year attrition (latest cohort
    with a value) per group, and the findings, from the gated retention report; unknown shapes
    give an empty section, never raw numbers."""
    if retention is None:
        return [], []
    turnover = [r for r in getattr(retention, "turnover", None) or [] if isinstance(r, dict)]
    first = [r for r in getattr(retention, "first_year", None) or [] if isinstance(r, dict)]
    years = [str(r.get("period")) for r in turnover
             if str(r.get("period", ""))[:4].isdigit() and "annual average" not in
             str(r.get("period"))]
    wanted = [p for p in years if year is not None and p.startswith(str(year))]
    last_period = wanted[0] if wanted else (years[-1] if years and year is None else None)
    rows = []
    for g in KNOWN_BACKGROUNDS:
        t_row = next((r for r in turnover if r.get("period") == last_period
                      and r.get("group") == g), None)
        f_rows = [r for r in first if r.get("group") == g and r.get("attrition") is not None]
        f_row = max(f_rows, key=lambda r: str(r.get("cohort")), default=None)
        if t_row is None and f_row is None:
            continue
        rows.append(R.AttritionRow(
            _label(lang, g), _pct(_gated(t_row.get("turnover"))) if t_row else None,
            _pct(_gated(f_row.get("attrition"))) if f_row else None))
    findings = [str(f) for f in getattr(retention, "findings", None) or []
                if isinstance(f, str)]
    return rows, findings


def _gated(value: Any) -> Any:
    if is_suppressed(value) or value is None or isinstance(value, int | float):
        return value
    return SUPPRESSED if str(value) == R.SYMBOL else None


def briefing_pdf(user: User, zone: str, period: str, lang: str = "en") -> bytes:
    """The briefing as a PDF; the download is audit-logged (committed here)."""
    briefing = build_briefing(user, zone, period, lang)
    body = R.render_pdf(briefing)
    _log(user, zone, period, lang, "pdf")
    return body


def briefing_html(user: User, zone: str, period: str, lang: str = "en") -> str:
    briefing = build_briefing(user, zone, period, lang)
    body = R.render_html(briefing)
    _log(user, zone, period, lang, "html")
    return body


def _log(user: User, zone: str, period: str, lang: str, fmt: str) -> None:
    from hrpipeline.audit import audit
    from hrpipeline.extensions import db

    zone_obj = resolve_zone(user, zone)
    audit("briefing_download", user=user if getattr(user, "id", None) is not None else None,
          zone_id=zone_obj.id if zone_obj is not None else None, format=fmt, period=period,
          language=lang, zone=zone,
          **({} if getattr(user, "id", None) is not None else {"username": "cli"}))
    db.session.commit()
