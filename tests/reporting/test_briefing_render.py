"""Rendering tests for the leadership briefing (PDF via reportlab, HTML via Jinja2).

The PDF text is read back with pypdf; page 1 is rasterised with poppler's ``pdftoppm`` when it
is installed (always required when ``CI`` is set).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from datetime import date

import pytest
from pypdf import PdfReader

from hrpipeline.reporting import briefing as B

try:
    from hrpipeline.disclosure import SUPPRESSED
except ImportError:  # the suppression gate is built in parallel

    class _Suppressed:
        def __repr__(self) -> str:
            return "SUPPRESSED"

    SUPPRESSED = _Suppressed()


def _chart() -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3), dpi=100)
    FigureCanvasAgg(fig)
    fig.add_subplot(1, 1, 1).plot([2021, 2022, 2023], [-20, -12, -5], color="#0072B2")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def make_briefing(language: str) -> B.Briefing:
    nl = language == "nl"
    return B.Briefing(
        title="Diversiteit in rekrutering" if nl else "Diversité dans le recrutement",
        zone_label="PZ Gent" if nl else "ZP Charleroi",
        period_label="2022-2024",
        language=language,
        generated_on=date(2025, 3, 14),
        data_note="synthetische demodata" if nl else "données de démonstration synthétiques",
        headline=[
            B.HeadlineFigure("Kandidaturen" if nl else "Candidatures", 1234),
            B.HeadlineFigure("Aanstellingen" if nl else "Nominations", 87),
            B.HeadlineFigure("Niet-EU aangesteld" if nl else "Hors UE nommés", SUPPRESSED, "%"),
            B.HeadlineFigure("Klachten" if nl else "Plaintes", 0),
        ],
        representation=[
            B.RepresentationRow("Belgische herkomst" if nl else "Origine belge",
                                61.2, 70.1, 78.0, 65.3),
            B.RepresentationRow("Niet-EU" if nl else "Hors UE", 26.0, SUPPRESSED, 12.4, 21.5),
            B.RepresentationRow("Onbekend" if nl else "Inconnu", 3.0, 2.1, 2.1, None),
        ],
        benchmark_source="Statbel 2024",
        attrition=[
            B.AttritionRow("Belgische herkomst" if nl else "Origine belge", 5.9, 7.2),
            B.AttritionRow("Niet-EU" if nl else "Hors UE", 8.8, SUPPRESSED),
        ],
        flagged_stages=[
            B.Flag("Fysieke proef" if nl else "Épreuve physique", "Niet-EU", "red",
                   "ratio 0,62"),
            B.Flag("Interview", "EU", "amber", "ratio 0,75"),
            B.Flag("Screening", "EU", "grey", "n < 20"),
        ],
        pilots=[B.PilotSummary("Voorbereiding fysieke proef" if nl else "Préparation physique",
                               "improved", "Het verschil werd kleiner." if nl
                               else "L'écart s'est réduit.",
                               "+12 pp <script>alert(1)</script> & co")],
        retention_findings=["Vrijwillig vertrek: werkdruk & woon-werkverkeer." if nl
                            else "Départs volontaires : charge de travail & trajet."],
        caveats=["Kleine aantallen zijn onzeker." if nl else "Les petits effectifs sont "
                 "incertains, même à Liège ou à Mons (é, è, à, ç, ë)."],
        charts=[_chart()],
    )


def _lines(pdf: bytes) -> tuple[list[str], list[str]]:
    reader = PdfReader(io.BytesIO(pdf))
    pages = [p.extract_text() or "" for p in reader.pages]
    lines = [ln.strip().replace("\u00a0", " ").replace("\u202f", " ")
             for page in pages for ln in page.splitlines()]
    return pages, [ln for ln in lines if ln]


def _after(lines: list[str], label: str, count: int) -> list[str]:
    return lines[lines.index(label) + 1: lines.index(label) + 1 + count]


@pytest.fixture(scope="module", params=["nl", "fr"])
def rendered(request):
    briefing = make_briefing(request.param)
    return briefing, B.render_pdf(briefing)


def test_pdf_text_numbers_titles_and_hidden_values(rendered):
    briefing, pdf = rendered
    lang = briefing.language
    t = B.TEXTS[lang]
    pages, lines = _lines(pdf)
    assert pdf.startswith(b"%PDF") and 2 <= len(pages) <= 4
    text = "\n".join(lines)

    # Headline numbers in local style: a true zero prints as 0.
    assert ("1.234" if lang == "nl" else "1 234") in lines  # narrow no-break space in French
    assert "87" in lines and "0" in lines
    # Section titles in this language, not in the other one.
    for key in ("key_figures", "representation", "attrition", "flagged", "pilots",
                "retention_findings", "caveats"):
        assert t[key] in text, key
    other = B.TEXTS["fr" if lang == "nl" else "nl"]
    assert other["key_figures"] not in text and other["caveats"] not in text
    # Tier words in this language.
    for tier in ("red", "amber", "grey"):
        assert t[f"tier_{tier}"] in text
    assert t["verdict_improved"] in text

    # Hidden values print as "x", never as 0, and keep their column.
    hidden_headline = briefing.headline[2].label
    assert lines[lines.index(hidden_headline) - 1] == "x"
    focal = briefing.representation[1].group_label
    # One formatting module (CLDR, hrpipeline.formatting): "26,0%" in Dutch, "26,0 %" in French.
    pct = "%" if lang == "nl" else " %"
    assert _after(lines, focal, 4) == [f"26,0{pct}", "x", f"12,4{pct}", f"21,5{pct}"]
    assert _after(lines, briefing.representation[2].group_label, 4)[-1] == "\u2013"  # n/a
    attr = lines[lines.index(t["first_year"]):]
    assert _after(attr, focal, 2) == [f"8,8{pct}", "x"]
    for token in ("0 %", "0%", "0,0 %", "0,0%", "0.0%"):
        assert token not in lines
    # The legend is on every page; page numbers use the language's wording.
    for n, page in enumerate(pages, start=1):
        assert t["legend"] in page
        assert t["page"].format(n=n, total=len(pages)) in page
    assert briefing.data_note in text
    # Escaped, not interpreted: the literal markup survives in the PDF text.
    assert "<script>alert(1)</script> & co" in text
    if lang == "fr":
        assert "(é, è, à, ç, ë)" in text


def test_pdf_page_one_renders_non_blank(rendered, tmp_path):
    _, pdf = rendered
    if shutil.which("pdftoppm") is None:
        if os.environ.get("CI"):
            pytest.fail("pdftoppm (poppler-utils) is required in CI")
        pytest.skip("pdftoppm not installed")
    path = tmp_path / "briefing.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(path),
                    str(tmp_path / "page")], check=True, timeout=60)
    png = next(tmp_path.glob("page*.png"))
    from PIL import Image

    with Image.open(png) as img:
        grey = img.convert("L")
        lo, hi = grey.getextrema()
        histogram = grey.histogram()
    assert hi - lo > 100  # dark text/band on a light page
    assert max(histogram) / sum(histogram) < 0.95  # not (nearly) a single colour


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_html_same_content_and_escaped(lang):
    briefing = make_briefing(lang)
    html = B.render_html(briefing)
    t = B.TEXTS[lang]
    assert html.startswith("<!doctype html>") and f'<html lang="{lang}">' in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    for key in ("key_figures", "representation", "attrition", "flagged", "pilots",
                "retention_findings", "caveats"):
        assert _escaped(t[key]) in html, key
    thousand = "1.234" if lang == "nl" else "1\u202f234"
    assert thousand in html
    cells = re.findall(r'<td class="num">([^<]*)</td>', html)
    pct = "%" if lang == "nl" else "\u00a0%"
    assert cells[:8] == [f"61,2{pct}", f"70,1{pct}", f"78,0{pct}", f"65,3{pct}",
                         f"26,0{pct}", "x", f"12,4{pct}", f"21,5{pct}"]
    values = re.findall(r'<span class="value">([^<]*)</span>', html)
    assert values == [thousand, "87", "x", "0"]
    assert _escaped(t["legend_long"].format(k=5)) in html
    assert html.count("data:image/png;base64,") == 1


def _escaped(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


@pytest.mark.parametrize(
    ("value", "unit", "lang", "expected"),
    [
        (SUPPRESSED, "%", "nl", "x"),
        (SUPPRESSED, "", "en", "x"),
        (0, "", "fr", "0"),
        (0.0, "%", "en", "0.0%"),
        (None, "%", "nl", "\u2013"),
        (12.5, "%", "nl", "12,5%"),
        (12.5, "%", "fr", "12,5\u00a0%"),
        (12.5, "%", "en", "12.5%"),
        (1234567, "", "nl", "1.234.567"),
        (1234.5, "pp", "nl", "1.234,5\u00a0pp"),
        (1234, "", "fr", "1\u202f234"),
        ("n.v.t.", "", "nl", "n.v.t."),
    ],
)
def test_format_value(value, unit, lang, expected):
    assert B.format_value(value, unit, lang) == expected


def test_every_language_has_every_text_and_rejects_others():
    keys = set(B.TEXTS["en"])
    assert set(B.TEXTS["nl"]) == keys and set(B.TEXTS["fr"]) == keys
    with pytest.raises(ValueError):
        B.Briefing(title="t", zone_label="z", period_label="p", language="de",
                   generated_on=date(2025, 1, 1))
