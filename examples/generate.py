"""Regenerate the example extracts (synthetic, no real people): ``python examples/generate.py``."""

from __future__ import annotations

import datetime as dt
import pathlib

import numpy as np
import openpyxl

HERE = pathlib.Path(__file__).parent
RNG = np.random.default_rng(2026)

STAGES = {
    "nl": ["Sollicitatie", "Cognitieve proef", "Persoonlijkheidstest", "Fysieke proef",
           "Selectiecommissie", "Medisch onderzoek", "Screening", "Politieschool", "Benoemd"],
    "fr": ["Candidature", "Épreuve cognitive", "Test de personnalité", "Épreuve physique",
           "Commission de sélection", "Examen médical", "Enquête de moralité",
           "École de police", "Nommé"],
    "en": ["application", "cognitive_test", "personality_test", "physical_test", "interview",
           "medical", "screening", "academy", "appointed"],
}
OUTCOMES = {
    "nl": ("geslaagd", "niet geslaagd", "afgehaakt", "lopend"),
    "fr": ("réussi", "échoué", "désisté", "en cours"),
    "en": ("passed", "failed", "withdrew", "pending"),
}
GROUPS = {
    "nl": ("Belgische herkomst", "EU", "Maghreb", "Turkije", "Sub-Sahara", "niet opgegeven"),
    "fr": ("origine belge", "UE", "Maghreb", "Turquie", "Afrique subsaharienne",
           "non communiqué"),
    "en": ("belgian_origin", "eu_background", "non_eu_background", "non_eu_background",
           "non_eu_background", "unknown"),
}
GENDER = {"nl": ("V", "M"), "fr": ("F", "H"), "en": ("female", "male")}


def funnel_rows(lang: str, n_candidates: int, campaign: str, start: dt.date):
    rows = []
    for i in range(n_candidates):
        group = RNG.choice(GROUPS[lang], p=[0.6, 0.12, 0.12, 0.06, 0.05, 0.05])
        gender = RNG.choice(GENDER[lang])
        for s, stage in enumerate(STAGES[lang]):
            r = RNG.random()
            outcome = (OUTCOMES[lang][0] if r < 0.7 or s == 8 else
                       OUTCOMES[lang][1] if r < 0.9 else OUTCOMES[lang][2])
            date = start + dt.timedelta(days=21 * s)
            rows.append([f"{lang.upper()}{i + 1:04d}", campaign, stage, outcome,
                         date.strftime("%d/%m/%Y") if lang != "en" else date, group, gender])
            if outcome != OUTCOMES[lang][0]:
                break
    return rows


def write_csv(path, header, rows, encoding, sep=";"):
    lines = [sep.join(header)] + [sep.join(str(c) for c in r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))


def write_xlsx(path, header, rows, title):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = title
    ws.append(header)
    for r in rows:
        ws.append(r)
    book.save(path)


def main() -> None:
    write_csv(HERE / "funnel_nl.csv",
              ["Kandidaat", "Wervingscampagne", "Fase", "Uitkomst", "Datum", "Herkomst",
               "Geslacht"], funnel_rows("nl", 90, "INP 2024-1 – voorjaar", dt.date(2024, 2, 5)), "cp1252")
    write_csv(HERE / "funnel_fr.csv",
              ["Candidat", "Campagne", "Étape", "Résultat", "Date", "Origine", "Sexe"],
              funnel_rows("fr", 90, "INP 2024-2", dt.date(2024, 3, 4)), "utf-8-sig")
    en = funnel_rows("en", 90, "INP 2023-2", dt.date(2023, 9, 4))
    write_xlsx(HERE / "funnel_en.xlsx",
               ["Candidate", "Campaign", "Stage", "Outcome", "Stage date",
                "Migration background", "Gender"], en, "Funnel")

    wf_nl, wf_fr = [], []
    reasons_nl = ("werkdruk", "loopbaan", "werk-privé", "teamsfeer", "woon-werkverkeer", "")
    reasons_fr = ("charge de travail", "carrière", "rémunération", "ambiance", "santé", "")
    for i in range(150):
        hire = dt.date(2008, 1, 1) + dt.timedelta(days=int(RNG.integers(0, 5800)))
        left = RNG.random() < 0.3
        exit_date = hire + dt.timedelta(days=int(RNG.integers(200, 2500))) if left else None
        if exit_date and exit_date > dt.date(2024, 12, 31):
            exit_date = None
        g = int(RNG.choice(6, p=[0.6, 0.12, 0.12, 0.06, 0.05, 0.05]))
        rank_nl = RNG.choice(["inspecteur", "hoofdinspecteur", "commissaris", "agent"],
                             p=[0.7, 0.15, 0.05, 0.1])
        wf_nl.append([
            f"P{i + 1:05d}", GROUPS["nl"][g], RNG.choice(GENDER["nl"]), rank_nl,
            hire.strftime("%d/%m/%Y"), exit_date.strftime("%d/%m/%Y") if exit_date else "",
            RNG.choice(["vrijwillig", "mobiliteit", "pensioen"]) if exit_date else "",
            RNG.choice(reasons_nl) if exit_date else "", ""])
        wf_fr.append([
            f"M{i + 1:05d}", GROUPS["fr"][g], RNG.choice(GENDER["fr"]),
            RNG.choice(["inspecteur", "inspecteur principal", "commissaire"], p=[.75, .2, .05]),
            hire, exit_date,
            RNG.choice(["démission", "mobilité", "retraite"]) if exit_date else None,
            RNG.choice(reasons_fr) or None if exit_date else None,
            "Horaires difficiles à combiner" if exit_date and RNG.random() < 0.3 else None])
    write_csv(HERE / "workforce_nl.csv",
              ["Personeelsnummer", "Herkomst", "Geslacht", "Graad", "Datum in dienst",
               "Datum uit dienst", "Type vertrek", "Reden vertrek", "Opmerking"], wf_nl,
              "cp1252")
    write_xlsx(HERE / "workforce_fr.xlsx",
               ["Matricule", "Origine", "Sexe", "Grade", "Date d'entrée", "Date de sortie",
                "Type de départ", "Motif de départ", "Commentaire"], wf_fr, "Personnel")

    counts = []
    for stage in STAGES["nl"][:5]:
        for group in ("Belgische herkomst", "EU", "niet-EU", "niet opgegeven"):
            base = {"Belgische herkomst": 1200, "EU": 180, "niet-EU": 260,
                    "niet opgegeven": 40}[group]
            n = int(base * 0.75 ** STAGES["nl"].index(stage))
            cells = [n * 7 // 10, n * 2 // 10, n // 10, 0]
            counts.append(["INP 2023-1", stage, group] + [
                "<5" if 0 < c < 5 else ("-" if c == 0 else f"{c:,}".replace(",", "."))
                for c in cells])
    write_csv(HERE / "counts_nl.csv",
              ["Campagne", "Fase", "Herkomst", "Geslaagd", "Niet geslaagd", "Afgehaakt",
               "Lopend"], counts, "cp1252")


if __name__ == "__main__":
    main()
