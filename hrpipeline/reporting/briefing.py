"""Leadership briefing: content model and renderers (PDF with reportlab, HTML with Jinja2).

The lead's service fills a ``Briefing`` with numbers that have ALREADY passed the suppression
gate; values may be ``SUPPRESSED`` (from ``hrpipeline.disclosure``). This module only
formats and lays out: every hidden value prints as the one symbol ``x`` (never 0, never blank),
with the legend "x = hidden to protect privacy" on every page. A true zero prints as ``0``.
``None`` means "not available" and prints as an en dash.

Conventions for values: ``int`` counts, ``float`` with one decimal, ``str`` printed as given.
Shares and rates in ``RepresentationRow`` and ``AttritionRow`` are percentages (0-100).
Numbers follow the language's conventions (decimal comma and "12,5 %" in NL/FR).

Fixed texts live in ``TEXTS`` (one dict, nl/fr/en) so they can later move into the
Flask-Babel catalogues. Reportlab was chosen over WeasyPrint because it installs from PyPI alone
(no Pango/Cairo system libraries); see ``docs/pilots-and-briefings.md``.

Example::

    >>> b = Briefing(title="Diversiteit in de rekrutering", zone_label="PZ Gent",
    ...              period_label="2022-2024", language="nl", generated_on=date(2025, 3, 1),
    ...              headline=[HeadlineFigure("Aanwervingen", 120)])
    >>> pdf = render_pdf(b)                             # doctest: +SKIP
    >>> html = render_html(b)                           # doctest: +SKIP
"""

from __future__ import annotations

import base64
import io
import pathlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from hrpipeline.disclosure.values import SYMBOL, is_suppressed

NOT_AVAILABLE = "\u2013"  # en dash: "not available", distinct from hidden

TEMPLATES = pathlib.Path(__file__).resolve().parents[1] / "templates"
TEMPLATE_NAME = "briefing.html"

Value = Any  # int | float | str | SUPPRESSED | None


# --- content model ------------------------------------------------------------------------
@dataclass
class HeadlineFigure:
    label: str
    value: Value
    unit: str = ""  # "%", "pp" or a word ("candidates"); printed after the number
    note: str = ""


@dataclass
class RepresentationRow:
    """Share (%) of one background group at each point of the pipeline."""

    group_label: str
    application: Value
    appointment: Value
    corps: Value
    population: Value  # benchmark share; its source is ``Briefing.benchmark_source``


@dataclass
class AttritionRow:
    group_label: str
    turnover: Value  # % leavers / average headcount over the period
    first_year_attrition: Value  # % of recruits leaving within a year


@dataclass
class Flag:
    stage_label: str
    group_label: str
    tier: str  # "red", "amber", "grey" (hrpipeline.analysis.impact tiers)
    reason: str


@dataclass
class PilotSummary:
    name: str
    verdict_code: str  # improved / worsened / no_evidence / too_few (analysis.pilot)
    verdict_text: str
    effect_text: str = ""


@dataclass
class Briefing:
    title: str
    zone_label: str
    period_label: str
    language: str  # "nl", "fr" or "en"
    generated_on: date
    data_note: str = ""  # e.g. "synthetic demo data"
    headline: list[HeadlineFigure] = field(default_factory=list)
    representation: list[RepresentationRow] = field(default_factory=list)
    benchmark_source: str = ""
    attrition: list[AttritionRow] = field(default_factory=list)
    flagged_stages: list[Flag] = field(default_factory=list)
    pilots: list[PilotSummary] = field(default_factory=list)
    retention_findings: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    charts: list[bytes] = field(default_factory=list)  # PNG images
    rounding_base: int = 5  # k: recruitment counts are rounded to a multiple of it

    def __post_init__(self) -> None:
        if self.language not in TEXTS:
            raise ValueError(f"language must be one of {sorted(TEXTS)}, got {self.language!r}")


# --- fixed texts --------------------------------------------------------------------------
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "key_figures": "Key figures",
        "representation": "Representation by migration background",
        "group": "Group",
        "application": "Applications",
        "appointment": "Appointments",
        "corps": "Corps",
        "population": "Population",
        "benchmark": "Population benchmark: {source}.",
        "shares_note": "Shares in % of each column.",
        "attrition": "Retention",
        "turnover": "Turnover",
        "first_year": "First-year attrition",
        "flagged": "Selection stages to watch",
        "stage": "Stage",
        "tier": "Signal",
        "reason": "Why",
        "no_flags": "No stage is flagged for this period.",
        "pilots": "Pilot projects",
        "pilot": "Pilot",
        "verdict": "Result",
        "effect": "Effect",
        "retention_findings": "Retention findings",
        "caveats": "Caveats",
        "charts": "Charts",
        "legend": "x = hidden to protect privacy",
        "legend_long": "x = hidden to protect privacy (too few people to publish safely); "
        "\u2013 = not available. Recruitment counts are rounded to a multiple of {k} and rates "
        "are computed from the rounded counts.",
        "page": "Page {n} of {total}",
        "generated": "Generated on {date}",
        "none": "None.",
        "tier_red": "RED",
        "tier_amber": "AMBER",
        "tier_grey": "GREY",
        "tier_green": "GREEN",
        "tier_red_meaning": "large, significant and robust gap",
        "tier_amber_meaning": "watch: large but uncertain gap",
        "tier_grey_meaning": "too few to tell",
        "tier_green_meaning": "no disproportionate drop-out (ratio shown to be at least 0.8)",
        "verdict_improved": "Improved",
        "verdict_worsened": "Worsened",
        "verdict_no_evidence": "No evidence of change",
        "verdict_too_few": "Too few to tell",
    },
    "nl": {
        "key_figures": "Kerncijfers",
        "representation": "Vertegenwoordiging naar migratieachtergrond",
        "group": "Groep",
        "application": "Kandidaturen",
        "appointment": "Aanstellingen",
        "corps": "Korps",
        "population": "Bevolking",
        "benchmark": "Bevolkingsreferentie: {source}.",
        "shares_note": "Aandelen in % per kolom.",
        "attrition": "Retentie",
        "turnover": "Verloop",
        "first_year": "Uitstroom in het eerste jaar",
        "flagged": "Selectiestappen om op te volgen",
        "stage": "Stap",
        "tier": "Signaal",
        "reason": "Waarom",
        "no_flags": "Voor deze periode is geen enkele stap gemarkeerd.",
        "pilots": "Proefprojecten",
        "pilot": "Proefproject",
        "verdict": "Resultaat",
        "effect": "Effect",
        "retention_findings": "Bevindingen over retentie",
        "caveats": "Kanttekeningen",
        "charts": "Grafieken",
        "legend": "x = verborgen om de privacy te beschermen",
        "legend_long": "x = verborgen om de privacy te beschermen (te weinig personen om veilig "
        "te publiceren); \u2013 = niet beschikbaar. Aantallen in de rekrutering zijn afgerond op "
        "een veelvoud van {k} en percentages zijn berekend op de afgeronde aantallen.",
        "page": "Pagina {n} van {total}",
        "generated": "Aangemaakt op {date}",
        "none": "Geen.",
        "tier_red": "ROOD",
        "tier_amber": "ORANJE",
        "tier_grey": "GRIJS",
        "tier_green": "GROEN",
        "tier_red_meaning": "groot, significant en robuust verschil",
        "tier_amber_meaning": "opvolgen: groot maar onzeker verschil",
        "tier_grey_meaning": "te weinig gegevens om te oordelen",
        "tier_green_meaning": "geen onevenredige uitval (verhouding aantoonbaar minstens 0,8)",
        "verdict_improved": "Verbeterd",
        "verdict_worsened": "Verslechterd",
        "verdict_no_evidence": "Geen aanwijzing voor verandering",
        "verdict_too_few": "Te weinig gegevens",
    },
    "fr": {
        "key_figures": "Chiffres clés",
        "representation": "Représentation selon l'origine migratoire",
        "group": "Groupe",
        "application": "Candidatures",
        "appointment": "Nominations",
        "corps": "Corps",
        "population": "Population",
        "benchmark": "Référence de population : {source}.",
        "shares_note": "Parts en % de chaque colonne.",
        "attrition": "Rétention",
        "turnover": "Rotation",
        "first_year": "Départs la première année",
        "flagged": "Étapes de sélection à surveiller",
        "stage": "Étape",
        "tier": "Signal",
        "reason": "Pourquoi",
        "no_flags": "Aucune étape n'est signalée pour cette période.",
        "pilots": "Projets pilotes",
        "pilot": "Projet pilote",
        "verdict": "Résultat",
        "effect": "Effet",
        "retention_findings": "Constats sur la rétention",
        "caveats": "Réserves",
        "charts": "Graphiques",
        "legend": "x = masqué pour protéger la vie privée",
        "legend_long": "x = masqué pour protéger la vie privée (trop peu de personnes pour "
        "publier sans risque) ; \u2013 = non disponible. Les effectifs du recrutement sont "
        "arrondis à un multiple de {k} et les taux sont calculés sur les effectifs arrondis.",
        "page": "Page {n} sur {total}",
        "generated": "Généré le {date}",
        "none": "Aucun.",
        "tier_red": "ROUGE",
        "tier_amber": "ORANGE",
        "tier_grey": "GRIS",
        "tier_green": "VERT",
        "tier_red_meaning": "écart important, significatif et robuste",
        "tier_amber_meaning": "à surveiller : écart important mais incertain",
        "tier_grey_meaning": "trop peu de données pour conclure",
        "tier_green_meaning": "pas d'abandon disproportionné (rapport d'au moins 0,8 démontré)",
        "verdict_improved": "Amélioration",
        "verdict_worsened": "Détérioration",
        "verdict_no_evidence": "Pas d'indice de changement",
        "verdict_too_few": "Trop peu de données",
    },
}

MONTHS: dict[str, tuple[str, ...]] = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
}

# Okabe-Ito colours (colour-blind safe); the tier word is always printed too.
TIER_COLOURS: dict[str, tuple[str, str]] = {  # tier -> (background, text)
    "red": ("#D55E00", "#FFFFFF"),
    "amber": ("#E69F00", "#000000"),
    "grey": ("#BBBBBB", "#000000"),
    "green": ("#009E73", "#FFFFFF"),
}
VERDICT_COLOURS: dict[str, tuple[str, str]] = {
    "improved": ("#009E73", "#FFFFFF"),
    "worsened": ("#D55E00", "#FFFFFF"),
    "no_evidence": ("#BBBBBB", "#000000"),
    "too_few": ("#E5E5E5", "#000000"),
}
NAVY = "#1F3A5F"
ZEBRA = "#F2F5F9"


# --- formatting ---------------------------------------------------------------------------
def _hidden_check() -> Callable[[Any], bool]:
    return is_suppressed


def format_value(value: Value, unit: str = "", language: str = "en") -> str:
    """One value as printed: hidden -> ``x``, None -> en dash, numbers in local style.

    Examples: ``format_value(12.5, "%", "nl") == "12,5 %"``; ``format_value(1234, "", "fr")``
    gives ``"1 234"`` (no-break space); ``format_value(SUPPRESSED, "%") == "x"``.
    """
    if _hidden_check()(value) or (isinstance(value, str) and value == SYMBOL):
        return SYMBOL
    if value is None:
        return NOT_AVAILABLE
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        text = f"{value:,}"
        if language == "nl":
            text = text.replace(",", ".")
        elif language == "fr":
            text = text.replace(",", "\u00a0")
    elif isinstance(value, float):
        text = f"{value:,.1f}"
        if language == "nl":
            text = text.replace(",", "_").replace(".", ",").replace("_", ".")
        elif language == "fr":
            text = text.replace(",", "\u00a0").replace(".", ",")
    else:
        return str(value) if not unit else f"{value} {unit}"
    if not unit:
        return text
    if unit == "%" and language == "en":
        return f"{text}%"
    return f"{text}\u00a0{unit}"


def format_date(day: date, language: str) -> str:
    month = MONTHS[language][day.month - 1]
    return f"{month} {day.day}, {day.year}" if language == "en" else f"{day.day} {month} {day.year}"


def _view(briefing: Briefing) -> dict[str, Any]:
    """Everything both renderers print, as formatted strings (one source of truth)."""
    lang = briefing.language
    t = {**TEXTS[lang],
         "legend_long": TEXTS[lang]["legend_long"].format(k=briefing.rounding_base)}

    def pct(v: Value) -> str:
        return format_value(v, "%", lang)

    return {
        "t": t,
        "lang": lang,
        "title": briefing.title,
        "zone": briefing.zone_label,
        "period": briefing.period_label,
        "generated": t["generated"].format(date=format_date(briefing.generated_on, lang)),
        "data_note": briefing.data_note,
        "headline": [
            {"label": h.label, "value": format_value(h.value, h.unit, lang), "note": h.note}
            for h in briefing.headline
        ],
        "representation": [
            [r.group_label, pct(r.application), pct(r.appointment), pct(r.corps),
             pct(r.population)]
            for r in briefing.representation
        ],
        "benchmark": (t["benchmark"].format(source=briefing.benchmark_source)
                      if briefing.benchmark_source else ""),
        "attrition": [
            [r.group_label, pct(r.turnover), pct(r.first_year_attrition)]
            for r in briefing.attrition
        ],
        "flags": [
            {
                "stage": f.stage_label,
                "group": f.group_label,
                "tier": f.tier,
                "tier_label": t.get(f"tier_{f.tier}", f.tier.upper()),
                # Capitalised because it opens the sentence in the "why" column.
                "tier_meaning": t.get(f"tier_{f.tier}_meaning", "")[:1].upper()
                + t.get(f"tier_{f.tier}_meaning", "")[1:],
                "colours": TIER_COLOURS.get(f.tier, TIER_COLOURS["grey"]),
                "reason": f.reason,
            }
            for f in briefing.flagged_stages
        ],
        "pilots": [
            {
                "name": p.name,
                "code": p.verdict_code,
                "label": t.get(f"verdict_{p.verdict_code}", p.verdict_code),
                "colours": VERDICT_COLOURS.get(p.verdict_code, VERDICT_COLOURS["too_few"]),
                "text": p.verdict_text,
                "effect": p.effect_text,
            }
            for p in briefing.pilots
        ],
        "retention_findings": list(briefing.retention_findings),
        "caveats": list(briefing.caveats),
        "charts": [base64.b64encode(png).decode("ascii") for png in briefing.charts],
    }


# --- HTML ---------------------------------------------------------------------------------
def render_html(briefing: Briefing) -> str:
    """Standalone printable HTML (``templates/briefing.html``), autoescaped, no Flask needed."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    return env.get_template(TEMPLATE_NAME).render(**_view(briefing))


# --- PDF ----------------------------------------------------------------------------------
_FONTS: dict[str, str] = {}


def _fonts() -> dict[str, str]:
    """Register DejaVu Sans (shipped with matplotlib, full Unicode) or fall back to Helvetica.

    Helvetica covers Latin-1 (all Dutch and French letters) but not e.g. the minus sign or the
    narrow no-break space; DejaVu is embedded as a subset, so the PDF stays self-contained.
    """
    if _FONTS:
        return _FONTS
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    try:
        import matplotlib

        ttf = pathlib.Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        pdfmetrics.registerFont(TTFont("Briefing", str(ttf / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("Briefing-Bold", str(ttf / "DejaVuSans-Bold.ttf")))
        pdfmetrics.registerFont(TTFont("Briefing-Italic", str(ttf / "DejaVuSans-Oblique.ttf")))
        pdfmetrics.registerFont(
            TTFont("Briefing-BoldItalic", str(ttf / "DejaVuSans-BoldOblique.ttf"))
        )
        pdfmetrics.registerFontFamily("Briefing", normal="Briefing", bold="Briefing-Bold",
                                      italic="Briefing-Italic", boldItalic="Briefing-BoldItalic")
        _FONTS.update(regular="Briefing", bold="Briefing-Bold", italic="Briefing-Italic")
    except Exception:  # noqa: BLE001 - any font problem: use the built-in Latin-1 font
        _FONTS.update(regular="Helvetica", bold="Helvetica-Bold", italic="Helvetica-Oblique")
    return _FONTS


def _p(text: str) -> str:
    """Escape user text for reportlab's Paragraph mini-markup."""
    return escape(text).replace("\n", "<br/>")


def render_pdf(briefing: Briefing) -> bytes:
    """A4 PDF with reportlab platypus: title block, key figures, tables, flags, pilots,
    findings, caveats, charts; page numbers and the suppression legend in every footer.

    Page 1 holds the key figures and tables; the rest follows on page 2 onwards, so a
    typical briefing is 2-3 pages.
    """
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas as rl_canvas
    from reportlab.platypus import (
        Image,
        KeepTogether,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    v = _view(briefing)
    t = v["t"]
    fonts = _fonts()
    navy = colors.HexColor(NAVY)
    muted = colors.HexColor("#555555")
    width = A4[0] - 4 * cm

    base = ParagraphStyle("base", fontName=fonts["regular"], fontSize=9.5, leading=13)
    styles = {
        "title": ParagraphStyle("title", parent=base, fontName=fonts["bold"], fontSize=20,
                                leading=24, textColor=colors.white),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=11, leading=15,
                                   textColor=colors.white),
        "h2": ParagraphStyle("h2", parent=base, fontName=fonts["bold"], fontSize=13,
                             leading=16, textColor=navy, spaceBefore=12, spaceAfter=6),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor=muted),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9, leading=11.5),
        "cell_bold": ParagraphStyle("cell_bold", parent=base, fontName=fonts["bold"],
                                    fontSize=9, leading=11.5),
        "head": ParagraphStyle("head", parent=base, fontName=fonts["bold"], fontSize=9,
                               leading=11.5, textColor=colors.white),
        "figure": ParagraphStyle("figure", parent=base, fontName=fonts["bold"], fontSize=20,
                                 leading=24, textColor=navy, alignment=TA_CENTER),
        "figure_label": ParagraphStyle("figure_label", parent=base, fontSize=8.5, leading=11,
                                       alignment=TA_CENTER),
        "figure_note": ParagraphStyle("figure_note", parent=base, fontSize=7.5, leading=9.5,
                                      textColor=muted, alignment=TA_CENTER),
        "bullet": ParagraphStyle("bullet", parent=base, leftIndent=12, bulletIndent=2,
                                 spaceAfter=3),
        "note": ParagraphStyle("note", parent=base, fontName=fonts["bold"], fontSize=9,
                               leading=12, textColor=colors.black),
    }

    def para(text: str, style: str = "cell") -> Paragraph:
        return Paragraph(_p(text), styles[style])

    def data_table(header: list[str], rows: list[list[str]], col_widths: list[float]) -> Table:
        body = [[para(h, "head") for h in header]]
        for row in rows:
            body.append([para(row[0], "cell_bold")] + [para(c) for c in row[1:]])
        table = Table(body, colWidths=col_widths, repeatRows=1, hAlign="LEFT")
        style = [
            ("BACKGROUND", (0, 0), (-1, 0), navy),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 4),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ("LINEBELOW", (0, -1), (-1, -1), 0.5, navy),
        ]
        for i in range(1, len(body)):
            if i % 2 == 0:
                style.append(("BACKGROUND", (0, i), (-1, i), colors.HexColor(ZEBRA)))
        table.setStyle(TableStyle(style))
        return table

    def numeric_right(table: Table, first_numeric_col: int) -> None:
        # Header too, so column titles sit over their right-aligned numbers.
        for row in table._cellvalues:
            for cell in row[first_numeric_col:]:
                cell.style = ParagraphStyle("num", parent=cell.style, alignment=2)

    def badge(label: str, colours: tuple[str, str]) -> Table:
        bg, fg = colours
        style = ParagraphStyle("badge", parent=base, fontName=fonts["bold"], fontSize=8,
                               leading=10, alignment=TA_CENTER, textColor=colors.HexColor(fg))
        cell = Table([[Paragraph(_p(label), style)]], colWidths=[2.6 * cm])
        cell.setStyle(TableStyle([
            ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor(bg)),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("ROUNDEDCORNERS", [3, 3, 3, 3]),
        ]))
        return cell

    def bullets(items: list[str]) -> list[Any]:
        if not items:
            return [para(t["none"], "cell")]
        return [Paragraph(_p(item), styles["bullet"], bulletText="\u2022") for item in items]

    story: list[Any] = []
    # Title block: a navy band with title, zone, period and date.
    band = Table(
        [[para(v["title"], "title")],
         [para(f"{v['zone']}  \u00b7  {v['period']}", "subtitle")],
         [Paragraph(_p(v["generated"]), ParagraphStyle("gen", parent=styles["small"],
                                                       textColor=colors.HexColor("#DDE5EE")))]],
        colWidths=[width],
    )
    band.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, -1), navy),
        ("LEFTPADDING", (0, 0), (-1, -1), 14),
        ("TOPPADDING", (0, 0), (-1, 0), 14),
        ("BOTTOMPADDING", (0, -1), (-1, -1), 12),
    ]))
    story.append(band)
    if v["data_note"]:
        note = Table([[para(v["data_note"].upper(), "note")]], colWidths=[width])
        note.setStyle(TableStyle([
            ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#FFF3D6")),
            ("LINEBEFORE", (0, 0), (0, -1), 3, colors.HexColor("#E69F00")),
            ("LEFTPADDING", (0, 0), (-1, -1), 10),
        ]))
        story += [Spacer(1, 6), note]

    # Key figures: boxes, up to four per row.
    if v["headline"]:
        story.append(Paragraph(_p(t["key_figures"]), styles["h2"]))
        per_row = min(4, len(v["headline"]))
        box_w = width / per_row
        cells = [
            [para(h["value"], "figure"), para(h["label"], "figure_label")]
            + ([para(h["note"], "figure_note")] if h["note"] else [])
            for h in v["headline"]
        ]
        grid: list[list[Any]] = []
        for i in range(0, len(cells), per_row):
            row = cells[i:i + per_row]
            grid.append(row + [""] * (per_row - len(row)))
        boxes = Table(grid, colWidths=[box_w] * per_row, hAlign="LEFT")
        box_style = [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 8),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
        ]
        for r, row in enumerate(grid):
            for c, content in enumerate(row):
                if content != "":
                    box_style += [
                        ("BACKGROUND", (c, r), (c, r), colors.HexColor(ZEBRA)),
                        ("LINEABOVE", (c, r), (c, r), 3, navy),
                        ("BOX", (c, r), (c, r), 2, colors.white),
                    ]
        boxes.setStyle(TableStyle(box_style))
        story.append(boxes)

    if v["representation"]:
        header = [t["group"], t["application"], t["appointment"], t["corps"], t["population"]]
        table = data_table(header, v["representation"], [5.0 * cm] + [(width - 5 * cm) / 4] * 4)
        numeric_right(table, 1)
        notes = " ".join(x for x in (t["shares_note"], v["benchmark"]) if x)
        story.append(KeepTogether([Paragraph(_p(t["representation"]), styles["h2"]), table,
                                   Spacer(1, 3), para(notes, "small")]))

    if v["attrition"]:
        header = [t["group"], t["turnover"], t["first_year"]]
        table = data_table(header, v["attrition"], [5.0 * cm] + [(width - 5 * cm) / 2] * 2)
        numeric_right(table, 1)
        story.append(KeepTogether([Paragraph(_p(t["attrition"]), styles["h2"]), table]))

    # Page 2 onwards: the findings.
    story.append(PageBreak())
    story.append(Paragraph(_p(t["flagged"]), styles["h2"]))
    if v["flags"]:
        body: list[list[Any]] = [[para(t["stage"], "head"), para(t["group"], "head"),
                                  para(t["tier"], "head"), para(t["reason"], "head")]]
        for f in v["flags"]:
            body.append([
                para(f["stage"], "cell_bold"),
                para(f["group"]),
                badge(f["tier_label"], f["colours"]),
                para(f"{f['tier_meaning']}. {f['reason']}" if f["tier_meaning"] else f["reason"]),
            ])
        table = Table(body, colWidths=[3.2 * cm, 3.9 * cm, 2.9 * cm, width - 10.0 * cm],
                      repeatRows=1, hAlign="LEFT")
        style = [
            ("BACKGROUND", (0, 0), (-1, 0), navy),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 4),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ("LINEBELOW", (0, -1), (-1, -1), 0.5, navy),
        ]
        style += [("BACKGROUND", (0, i), (-1, i), colors.HexColor(ZEBRA))
                  for i in range(2, len(body), 2)]
        table.setStyle(TableStyle(style))
        story.append(table)
    else:
        story.append(para(t["no_flags"]))

    if v["pilots"]:
        story.append(Paragraph(_p(t["pilots"]), styles["h2"]))
        body = [[para(t["pilot"], "head"), para(t["verdict"], "head"),
                 para(t["effect"], "head")]]
        for p in v["pilots"]:
            detail = p["text"] + (f"\n{p['effect']}" if p["effect"] else "")
            body.append([para(p["name"], "cell_bold"), badge(p["label"], p["colours"]),
                         para(detail)])
        table = Table(body, colWidths=[4.4 * cm, 2.9 * cm, width - 7.3 * cm], repeatRows=1,
                      hAlign="LEFT")
        style = [
            ("BACKGROUND", (0, 0), (-1, 0), navy),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 4),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ("LINEBELOW", (0, -1), (-1, -1), 0.5, navy),
        ]
        style += [("BACKGROUND", (0, i), (-1, i), colors.HexColor(ZEBRA))
                  for i in range(2, len(body), 2)]
        table.setStyle(TableStyle(style))
        story.append(table)

    if v["retention_findings"]:
        story.append(Paragraph(_p(t["retention_findings"]), styles["h2"]))
        story += bullets(v["retention_findings"])

    for png in briefing.charts:
        reader = ImageReader(io.BytesIO(png))
        w, h = reader.getSize()
        img_w = min(width, 16 * cm)
        story.append(KeepTogether([Spacer(1, 8),
                                   Image(io.BytesIO(png), width=img_w, height=img_w * h / w)]))

    story.append(Paragraph(_p(t["caveats"]), styles["h2"]))
    story += bullets(v["caveats"])
    story += [Spacer(1, 10), para(t["legend_long"], "small")]

    footer_left = t["legend"] + (f"  \u00b7  {v['data_note']}" if v["data_note"] else "")
    header_text = f"{v['title']}  \u00b7  {v['zone']}  \u00b7  {v['period']}"

    class NumberedCanvas(rl_canvas.Canvas):
        """Defers page decoration until the page count is known ("Page n of N")."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._states: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab API
            self._states.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._states)
            for state in self._states:
                self.__dict__.update(state)
                self._decorate(total)
                super().showPage()
            super().save()

        def _decorate(self, total: int) -> None:
            page = self.getPageNumber()
            self.setStrokeColor(colors.HexColor("#CCCCCC"))
            self.setLineWidth(0.5)
            self.line(2 * cm, 1.6 * cm, A4[0] - 2 * cm, 1.6 * cm)
            self.setFont(fonts["regular"], 8)
            self.setFillColor(muted)
            self.drawString(2 * cm, 1.1 * cm, footer_left)
            self.drawRightString(A4[0] - 2 * cm, 1.1 * cm,
                                 t["page"].format(n=page, total=total))
            if page > 1:
                self.drawString(2 * cm, A4[1] - 1.3 * cm, header_text[:110])

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=1.8 * cm,
        bottomMargin=2.2 * cm, title=briefing.title, author=briefing.zone_label,
        subject=briefing.period_label, lang=briefing.language,
    )
    doc.build(story, canvasmaker=NumberedCanvas)
    return buf.getvalue()
