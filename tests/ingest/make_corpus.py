"""Regenerate the bad-input corpus: ``python -m tests.ingest.make_corpus``.

Each file is small and has exactly one kind of defect; ``test_corpus.py`` lists the error code
each must produce. The zip bomb and the over-size file are generated inside the tests.
"""

from __future__ import annotations

import io
import pathlib
import zipfile

from tests.ingest.helpers import FUNNEL_HEADER_NL, GOOD_FUNNEL_ROWS, xlsx

CORPUS = pathlib.Path(__file__).parent / "corpus"
WF_HEADER = "Personeelsnummer;Herkomst;Geslacht;Graad;Datum in dienst;Datum uit dienst;" \
            "Type vertrek;Reden vertrek;Opmerking"
WF_OK = "P001;Belgische herkomst;V;inspecteur;1/09/2015;;;;"


def _funnel(rows, header=FUNNEL_HEADER_NL, encoding="cp1252") -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)


def _wf(rows) -> bytes:
    return ("\r\n".join([WF_HEADER, *rows]) + "\r\n").encode("cp1252")


def build() -> dict[str, bytes]:
    g = GOOD_FUNNEL_ROWS
    files: dict[str, bytes] = {
        "empty.csv": b"",
        "header_only.csv": _funnel([]),
        "blank_lines_only.csv": b"\r\n;;;\r\n\r\n",
        "wrong_delimiter.csv": _funnel([r.replace(";", "|") for r in g],
                                       FUNNEL_HEADER_NL.replace(";", "|")),
        "mixed_encoding.csv": _funnel(g[:2], encoding="utf-8")
        + "K009;INP 2024-1;Sollicitatie;geslaagd;2024-02-01;Belge;é\r\n".encode("cp1252")
        + "K010;INP 2024-1;Sollicitatie;réussi;2024-02-01;Belge;V\r\n".encode(),
        "missing_column.csv": _funnel([";".join(r.split(";")[:3] + r.split(";")[4:]) for r in g],
                                      "Kandidaat;Wervingscampagne;Fase;Datum;Herkomst;Geslacht"),
        "duplicate_header.csv": _funnel(g, FUNNEL_HEADER_NL + ";Fase"),
        "ambiguous_columns.csv": _funnel([r + ";Sollicitatie" for r in g],
                                         FUNNEL_HEADER_NL + ";Étape"),
        "ragged_row.csv": _funnel(g[:2] + [g[2] + ";extra;cells"]),
        "unknown_stage.csv": _funnel(g + ["K005;INP 2024-1;Kookproef;geslaagd;2024-02-01;EU;M"]),
        "unknown_background.csv": _funnel(
            g + ["K005;INP 2024-1;Sollicitatie;geslaagd;2024-02-01;Marsmannetje;M"]),
        "unknown_outcome.csv": _funnel(
            g + ["K005;INP 2024-1;Sollicitatie;misschien;2024-02-01;EU;M"]),
        "bad_date.csv": _funnel(g + ["K005;INP 2024-1;Sollicitatie;geslaagd;31/02/2024;EU;M"]),
        "future_date.csv": _funnel(g + ["K005;INP 2024-1;Sollicitatie;geslaagd;01/02/2091;EU;M"]),
        "duplicate_rows.csv": _funnel(g + [g[0]]),
        "duplicate_stage.csv": _funnel(
            g + ["K001;INP 2024-1;Sollicitatie;niet geslaagd;1/02/2024;Belgische herkomst;V"]),
        "impossible_sequence.csv": _funnel(
            g + ["K001;INP 2024-1;Fysieke proef;geslaagd;2024-04-01;Belgische herkomst;V"]),
        "no_campaign_year.csv": _funnel(
            [r.replace("INP 2024-1", "Inspecteurs voorjaar").replace(r.split(";")[4], "")
             for r in g]),
        "pii_column_naam.csv": _funnel([r + ";Jan Peeters" for r in g], FUNNEL_HEADER_NL + ";Naam"),
        "pii_column_nom.csv": _funnel([r + ";Dupont" for r in g], FUNNEL_HEADER_NL + ";Nom"),
        "pii_column_email.csv": _funnel([r + ";x@y.be" for r in g], FUNNEL_HEADER_NL + ";E-mail"),
        "pii_column_telefoon.csv": _funnel([r + ";" for r in g], FUNNEL_HEADER_NL + ";Telefoon"),
        "pii_column_rijksregister.csv": _funnel([r + ";" for r in g],
                                                FUNNEL_HEADER_NL + ";Rijksregisternummer"),
        "pii_email_in_ref.csv": _funnel(
            g + ["jan.peeters@example.be;INP 2024-1;Sollicitatie;geslaagd;2024-02-01;EU;M"]),
        "pii_national_register_value.csv": _funnel(
            g + ["85.07.30-033.28;INP 2024-1;Sollicitatie;geslaagd;2024-02-01;EU;M"]),
        "pii_phone_in_comment.csv": _wf(
            [WF_OK, "P002;Maghreb;M;inspecteur;1/09/2016;30/06/2023;vrijwillig;werkdruk;"
                    "bel me gerust op 0470 12 34 56"]),
        "formula_injection.csv": _funnel(
            g + ['K005;=HYPERLINK("http://evil.example/x");Sollicitatie;geslaagd;'
                 '2024-02-01;EU;M']),
        "formula_injection_minus.csv": _funnel(
            g + ["K005;INP 2024-1;Sollicitatie;geslaagd;2024-02-01;EU;-cmd|' /C calc'!A0"]),
        "exit_before_hire.csv": _wf(
            [WF_OK, "P002;Maghreb;M;inspecteur;1/09/2016;30/06/2014;vrijwillig;werkdruk;"]),
        "workforce_missing_hire.csv": _wf(
            [WF_OK, "P002;Maghreb;M;inspecteur;;30/06/2020;vrijwillig;werkdruk;"]),
        "workforce_bad_rank.csv": _wf(
            [WF_OK, "P002;Maghreb;M;generaal;1/09/2016;;;;"]),
        "workforce_exit_type_without_date.csv": _wf(
            [WF_OK, "P002;Maghreb;M;inspecteur;1/09/2016;;vrijwillig;;"]),
        "counts_text_in_count.csv": (
            "Campagne;Fase;Herkomst;Geslaagd;Niet geslaagd;Afgehaakt\r\n"
            "INP 2024-1;Sollicitatie;Belgische herkomst;120;30;5\r\n"
            "INP 2024-1;Sollicitatie;Maghreb;veel;7;<5\r\n").encode("cp1252"),
        "counts_decimal_count.csv": (
            "Campagne;Fase;Herkomst;Geslaagd;Niet geslaagd\r\n"
            "INP 2024-1;Sollicitatie;Belgische herkomst;12,5;30\r\n").encode("cp1252"),
        "legacy.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
        "empty.xlsx": b"",
        "corrupt.xlsx": xlsx([["Kandidaat", "Campagne"], ["K1", "INP 2024"]])[:700],
        "not_a_workbook.xlsx": _zip({"hello.txt": b"hi"}),
        "xlsx_formula.xlsx": xlsx([
            ["candidate", "campaign", "stage", "outcome", "stage date", "origin"],
            ["K1", "INP 2024-1", "application", "passed", "2024-02-01", "belgian"],
            ["K2", '=HYPERLINK("http://evil.example","x")', "application", "passed",
             "2024-02-01", "EU"],
        ]),
    }
    return files


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_bomb_xlsx(size: int = 40 * 1024 * 1024) -> bytes:
    """A workbook-shaped archive whose sheet inflates ~1000×; built in memory for the tests."""
    return _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
                 "xl/worksheets/sheet1.xml": b" " * size})


if __name__ == "__main__":
    CORPUS.mkdir(exist_ok=True)
    for name, data in build().items():
        (CORPUS / name).write_bytes(data)
    print(f"{len(build())} files written to {CORPUS}")
