"""SYNTHETIC demo data set: five zones, three campaigns, ~20,000 funnel rows, ~3,000 officers.

Everything here is invented (``numpy.random.default_rng(seed)``, deterministic for a seed) and
must always be labelled synthetic. The module is pure (pandas/numpy only): the ``flask demo``
command (``hrpipeline.services.demo``) loads the frames through the normal ingest path.
Full description: ``docs/demo-data.md``.

Calibration (loose, on published shapes):

* Stage retention ``passed / (passed + failed + withdrew)`` of the reference group
  ``belgian_origin``: application 0.88, cognitive 0.45, personality 0.60, physical 0.75,
  interview 0.60, medical 0.90, screening 0.92, academy 0.85; withdrawals 2-6 % per stage,
  more at later stages (``STAGE_PARAMS``).
* Real impact ratios at one assessment stage are 0.65-0.85 (College of Policing figures in
  ``tests/data/uk_police_assessment_pass_rates_by_ethnicity_published.csv``); the demo plants
  0.60, a clear case.
* Zone benchmarks (population 18-34) lean on the Statbel origin aggregates of 1 Jan 2023
  (``STATBEL_REGIONAL_2023``): Brussels zones far more foreign-origin than Flemish/Walloon ones,
  Antwerp and Charleroi in between; the EU / non-EU split is an assumption.

Planted effects (the analyses must find these and nothing else):

1. **Disproportionate drop-out at exactly two stages** for ``non_eu_background``:
   ``cognitive_test`` and ``interview``. The decision pass probability
   ``P(passed | passed or failed)`` is ``PLANTED_STAGE_RATIO`` (0.6) times the ``belgian_origin``
   one, in every zone and campaign. At every other stage, and for ``eu_background`` and
   ``unknown`` at every stage, pass and withdrawal probabilities are identical to the reference.
   Withdrawal probabilities are identical for all groups at all stages. Outcome counts are
   fixed per zone x campaign x stage x group cell by randomised rounding (``_quota``), so a
   planted rate is realised in every cell and no unplanted gap appears by chance; who passes,
   dates, group mix and cell sizes stay random.
2. **Pilot** ("Anonymised first screening", zones GNT and CRL from 2025-01-01, comparison zones
   ANT and BXN): interviews on or after the start date in pilot zones use ratio
   ``PILOT_STAGE_RATIO`` (0.8), i.e. the interview gap halves. In practice only campaign 2025-1
   is affected; pooled over everything the interview ratio stays well below 0.8.
3. **First-years resignation gap**: ``non_eu_background`` officers have a voluntary-exit hazard
   ``FIRST_YEARS_HAZARD_RATIO`` (3x) that of the other groups during their first 2 years of
   service; ``eu_background`` has none. Other exit types are the same for all groups.
4. Secondary, untested pattern: ``non_eu_background`` voluntary leavers cite ``team_climate``
   and ``discrimination`` more often (``VOLUNTARY_REASONS_NON_EU``).

Example::

    >>> data = generate_demo()
    >>> sorted(data.funnel["campaign"].unique())
    ['2024-1', '2024-2', '2025-1']
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hrpipeline.domain import (
    AGE_BANDS,
    BACKGROUNDS,
    BELGIAN_ORIGIN,
    DEFAULT_STAGES,
    DEMO_ZONES,
    EU_BACKGROUND,
    EXIT_REASONS,
    EXIT_TYPES,
    GENDERS,
    KNOWN_BACKGROUNDS,
    NON_EU_BACKGROUND,
    RANKS,
    UNKNOWN,
)

DEFAULT_SEED = 20261124
REFERENCE_DATE = dt.date(2026, 6, 30)
SYNTHETIC_LABEL = "SYNTHETIC demo data - not real"
BENCHMARK_SOURCE = (
    "Synthetic demo benchmark, calibrated on Statbel origin statistics \u2014 not real data"
)
BENCHMARK_SCOPE = "18-34"
BENCHMARK_REFERENCE_DATE = dt.date(2025, 1, 1)

FUNNEL_COLUMNS: tuple[str, ...] = (
    "zone", "candidate_ref", "campaign", "campaign_year", "stage", "outcome", "stage_date",
    "migration_background", "gender", "age_band",
)
WORKFORCE_COLUMNS: tuple[str, ...] = (
    "zone", "officer_ref", "migration_background", "gender", "rank", "hire_date", "exit_date",
    "exit_type", "exit_reason", "exit_comment",
)
BENCHMARK_COLUMNS: tuple[str, ...] = (
    "zone", "migration_background", "share", "count", "population_scope", "reference_date",
    "source",
)

# --- funnel parameters ----------------------------------------------------------------------
#: Per stage: (withdrawal probability, retention target passed/entered) for the reference group.
#: The pass probability among those who did not withdraw is retention / (1 - withdrawal).
STAGE_PARAMS: dict[str, tuple[float, float]] = {
    "application": (0.03, 0.88),
    "cognitive_test": (0.02, 0.45),
    "personality_test": (0.03, 0.60),
    "physical_test": (0.03, 0.75),
    "interview": (0.05, 0.60),
    "medical": (0.04, 0.90),
    "screening": (0.05, 0.92),
    "academy": (0.06, 0.85),
}
PLANTED_STAGES: tuple[str, ...] = ("cognitive_test", "interview")
PLANTED_GROUP = NON_EU_BACKGROUND
PLANTED_STAGE_RATIO = 0.6
PILOT_STAGE_RATIO = 0.8
#: Zone x campaign "committee effect" at a pilot's target stage, on the log-odds scale (see
#: ``_PilotStageSpread``): selection committees differ between zones and campaigns. Exact quotas
#: there made the pilot's zone x campaign counts far less variable than real ones (Pearson
#: X^2/df of the pilot model about 0.05, where independent decisions give about 1), so the
#: pilot evaluation's dispersion estimate had nothing to find; with the shift it is about 2.
PILOT_STAGE_SHIFT = 0.4

#: Days from entering a stage to entering the next one: (min, max), uniform. The academy lasts
#: about a year. Bounded so that campaigns 2024-1 and 2024-2 are complete by the reference date.
STAGE_GAPS: dict[str, tuple[int, int]] = {
    "application": (14, 30),
    "cognitive_test": (7, 21),
    "personality_test": (7, 21),
    "physical_test": (14, 35),
    "interview": (7, 28),
    "medical": (14, 45),
    "screening": (14, 60),
    "academy": (330, 390),
}
APPLICATION_SPREAD_DAYS = 45

#: campaign -> (start date, relative size)
CAMPAIGNS: dict[str, tuple[dt.date, float]] = {
    "2024-1": (dt.date(2024, 2, 1), 1.00),
    "2024-2": (dt.date(2024, 9, 2), 0.85),
    "2025-1": (dt.date(2025, 2, 3), 1.10),
}
#: Mean applicants per zone in a campaign of relative size 1.
APPLICANTS: dict[str, int] = {"ANT": 670, "GNT": 400, "CRL": 355, "BXN": 500, "BXI": 455}
#: Applicant shares per zone: belgian_origin, eu_background, non_eu_background, unknown.
APPLICANT_SHARES: dict[str, tuple[float, float, float, float]] = {
    "ANT": (0.60, 0.09, 0.27, 0.04),
    "GNT": (0.72, 0.08, 0.16, 0.04),
    "CRL": (0.60, 0.14, 0.22, 0.04),
    "BXN": (0.33, 0.13, 0.50, 0.04),
    "BXI": (0.40, 0.18, 0.38, 0.04),
}
APPLICANT_GENDER = (0.31, 0.675, 0.005, 0.01)  # GENDERS order
APPLICANT_AGE = (0.52, 0.36, 0.09, 0.02, 0.01)  # AGE_BANDS order

# --- workforce parameters -------------------------------------------------------------------
WINDOW_START = dt.date(2015, 1, 1)  # the extract holds everyone in service on or after this date
#: Mean hires per year around 2010 per zone; hiring grows over time (see ``_hire_years``).
HIRES_PER_YEAR: dict[str, float] = {"ANT": 32.0, "GNT": 16.0, "CRL": 13.0, "BXN": 23.0, "BXI": 21.0}
#: Share of recent hires (2025) per zone: eu_background, non_eu_background; older cohorts less.
RECENT_HIRE_SHARES: dict[str, tuple[float, float]] = {
    "ANT": (0.06, 0.16),
    "GNT": (0.05, 0.10),
    "CRL": (0.10, 0.13),
    "BXN": (0.10, 0.28),
    "BXI": (0.12, 0.22),
}
UNKNOWN_OFFICER_SHARE = 0.03
FIRST_YEARS = 2.0
FIRST_YEARS_HAZARD_RATIO = 3.0
#: Annual hazards by exit type; ``voluntary`` by years of service: (<2, 2-5, >=5).
VOLUNTARY_HAZARD = (0.035, 0.020, 0.010)
INVOLUNTARY_HAZARD = (0.020, 0.003)  # first year (probation), later
MOBILITY_HAZARD = 0.015  # after 2 years; Brussels zones x MOBILITY_BRUSSELS
MOBILITY_BRUSSELS = 1.6
#: (years of service, annual hazard): late entrants retire earlier, most after ~30 years.
RETIREMENT_HAZARD: tuple[tuple[float, float], ...] = ((25.0, 0.04), (30.0, 0.25))
OTHER_HAZARD = 0.002

VOLUNTARY_REASONS: dict[str, float] = {
    "workload": 0.16, "career": 0.16, "pay": 0.09, "work_life_balance": 0.16,
    "team_climate": 0.08, "discrimination": 0.02, "leadership": 0.10, "commute": 0.08,
    "family": 0.08, "health": 0.03, "other": 0.02, "unknown": 0.02,
}
VOLUNTARY_REASONS_NON_EU: dict[str, float] = {
    **VOLUNTARY_REASONS, "team_climate": 0.16, "discrimination": 0.10,
}
OTHER_TYPE_REASONS: dict[str, dict[str, float]] = {
    "involuntary": {"other": 0.6, "health": 0.25, "unknown": 0.15},
    "retirement": {"other": 0.9, "health": 0.1},
    "mobility": {"career": 0.35, "commute": 0.35, "family": 0.15, "leadership": 0.10,
                 "other": 0.05},
    "other": {"health": 0.5, "family": 0.2, "other": 0.3},
}
COMMENT_SHARE = 0.5  # of voluntary exits

# --- benchmarks -----------------------------------------------------------------------------
#: Statbel origin aggregates, 1 Jan 2023 (share of population, %), as published; see
#: ``tests/data/statbel_population_by_origin_published_aggregates.csv`` for the URLs.
STATBEL_REGIONAL_2023: dict[str, dict[str, float]] = {
    "Flemish Region": {"foreign_background": 15.8, "non_belgian": 11.0},
    "Walloon Region": {"foreign_background": 24.4, "non_belgian": 11.0},
    "Brussels-Capital Region": {"foreign_background": 39.7, "non_belgian": 36.9},
}
ZONE_REGION: dict[str, str] = {
    "ANT": "Flemish Region", "GNT": "Flemish Region", "CRL": "Walloon Region",
    "BXN": "Brussels-Capital Region", "BXI": "Brussels-Capital Region",
}
#: Population aged 18-34 (synthetic, order of magnitude of the real municipalities).
ZONE_POPULATION_18_34: dict[str, int] = {
    "ANT": 138_000, "GNT": 82_000, "CRL": 46_000, "BXN": 54_000, "BXI": 63_000,
}
#: Synthetic zone shares (belgian_origin, eu_background, non_eu_background), 18-34. Cities and
#: young adults are more diverse than their region: the Flemish region is ~73 % Belgian
#: background (100 - 15.8 - 11), Wallonia ~65 %, Brussels ~23 %.
ZONE_BENCHMARK_SHARES: dict[str, tuple[float, float, float]] = {
    "ANT": (0.48, 0.12, 0.40),
    "GNT": (0.64, 0.12, 0.24),
    "CRL": (0.52, 0.19, 0.29),
    "BXN": (0.17, 0.21, 0.62),
    "BXI": (0.24, 0.33, 0.43),
}

#: Synthetic share of each group's residents aged 18-34 who are Belgian nationals (an
#: assumption in the spirit of Statbel 2023: in Brussels 36.9 of the 76.6 % residents of
#: foreign origin are non-Belgians; EU citizens naturalise less often than others). The
#: eligible pool (police candidates must be Belgian) keeps only the nationals.
NATIONAL_FRACTION: dict[str, float] = {
    "belgian_origin": 1.0, "eu_background": 0.45, "non_eu_background": 0.70,
}
ELIGIBLE_SCOPE = "18-34:nat"

PILOTS: tuple[dict[str, Any], ...] = (
    {
        "name": "Anonymised first screening",
        "zones": ["GNT", "CRL"],
        "comparison_zones": ["ANT", "BXN"],
        "target": "interview",
        "start_date": dt.date(2025, 1, 1),
        "end_date": None,
        "description": (
            "SYNTHETIC demo pilot: selection committees see anonymised files and use a "
            "structured interview grid. Planted effect: from the start date, the interview "
            "pass-rate gap for candidates with a non-EU background roughly halves in the pilot "
            "zones (impact ratio 0.6 -> 0.8); the comparison zones keep the gap."
        ),
    },
)

# The parameter tables must speak the shared vocabulary; fail at import, not in the database.
assert {r for t in (VOLUNTARY_REASONS, *OTHER_TYPE_REASONS.values()) for r in t} <= set(
    EXIT_REASONS)
assert set(OTHER_TYPE_REASONS) | {"voluntary"} == set(EXIT_TYPES)
assert set(STAGE_PARAMS) | {DEFAULT_STAGES[-1]} == set(DEFAULT_STAGES)
assert {"agent", "inspector", "chief_inspector", "commissioner", "chief_commissioner"} == set(RANKS)


@dataclass(frozen=True)
class DemoData:
    """The synthetic demo data set (every frame is invented; see the module docstring)."""

    zones: pd.DataFrame
    funnel: pd.DataFrame
    workforce: pd.DataFrame
    reference_date: dt.date
    benchmarks: pd.DataFrame
    pilots: list[dict[str, Any]] = field(default_factory=list)
    seed: int = DEFAULT_SEED
    label: str = SYNTHETIC_LABEL


# --- helpers --------------------------------------------------------------------------------
def _zone_languages() -> dict[str, str]:
    return {code: language for code, _, _, _, language in DEMO_ZONES}


def _add_days(start: dt.date, days: np.ndarray) -> list[dt.date]:
    return [start + dt.timedelta(days=int(d)) for d in days]


def _choice(rng: np.random.Generator, values: tuple[str, ...] | list[str], probs, n: int):
    p = np.asarray(probs, dtype=float)
    return rng.choice(np.asarray(values, dtype=object), size=n, p=p / p.sum())


def _quota(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """Mask with ``floor(n * p + U)`` randomly placed True values, U ~ Uniform(0, 1).

    Randomised rounding keeps the expected count at ``n * p`` (as a binomial draw would) but
    removes the binomial noise, so a planted rate is realised in every cell up to rounding and
    no unplanted gap appears by chance (systematic sampling; Cochran 1977, *Sampling
    Techniques*, ch. 8). Example: n=10, p=0.45 gives 4 or 5 passes, never 1 or 8.
    """
    k = int(np.floor(n * p + rng.random()))
    mask = np.zeros(n, dtype=bool)
    mask[rng.permutation(n)[:k]] = True
    return mask


class _PilotStageSpread:
    """Pass counts at each pilot's target stage for its focal and reference groups in its
    pilot and comparison zones: over-dispersed per zone and campaign, exact per arm.

    Within an arm (the pilot zones, or the comparison zones), campaign, group and planted
    probability ``p``, every zone but the last generated gets the quota at ``p`` moved by
    ``PILOT_STAGE_SHIFT`` up or down (random sign) on the log-odds scale; the last zone takes
    the quota minus what the others got above theirs (clipped to 0..n). So single zone x
    campaign cells vary more than binomial counts would, while every arm and campaign pooled
    keeps the planted rate up to rounding, as everywhere in the demo (the planted pilot effect
    still holds). Drawn from its own stream; everything else follows the funnel stream.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.owed: dict[tuple, float] = {}
        self.order = {code: i for i, (code, *_rest) in enumerate(DEMO_ZONES)}

    def touches(self, zone: str) -> bool:
        return any(zone in (*p["zones"], *p["comparison_zones"]) for p in PILOTS)

    def arm(self, stage: str, zone: str, group: str) -> tuple[int, tuple[str, ...]] | None:
        """(pilot index, arm zones) when the cell gets the spread, else None."""
        if group not in (PLANTED_GROUP, BELGIAN_ORIGIN):
            return None
        for i, pilot in enumerate(PILOTS):
            for zones in (pilot["zones"], pilot["comparison_zones"]):
                if stage == pilot["target"] and zone in zones:
                    return i, tuple(zones)
        return None

    def mask(self, arm: tuple[int, tuple[str, ...]], zone: str, campaign: str, group: str,
             n: int, p: float) -> np.ndarray:
        key = (arm, campaign, group, round(p, 12))
        owed = self.owed.get(key, 0.0)
        if zone == max(arm[1], key=self.order.__getitem__):  # the last zone generated
            k = int(np.clip(np.floor(n * p - owed + self.rng.random()), 0, n))
        else:
            shift = PILOT_STAGE_SHIFT * (1.0 if self.rng.random() < 0.5 else -1.0)
            q = 1.0 / (1.0 + np.exp(-(np.log(p / (1.0 - p)) + shift)))
            k = int(np.floor(n * q + self.rng.random()))
            self.owed[key] = owed + k - n * p
        out = np.zeros(n, dtype=bool)
        out[self.rng.permutation(n)[:k]] = True
        return out


def _pass_probability(stage: str, group: np.ndarray, zone: str, dates: np.ndarray) -> np.ndarray:
    """P(passed | did not withdraw) per candidate; only the planted cells differ."""
    withdraw, retention = STAGE_PARAMS[stage]
    base = retention / (1.0 - withdraw)
    prob = np.full(group.shape, base)
    if stage in PLANTED_STAGES:
        ratio = np.full(group.shape, PLANTED_STAGE_RATIO)
        for pilot in PILOTS:
            if stage == pilot["target"] and zone in pilot["zones"]:
                start = np.datetime64(pilot["start_date"])
                end = np.datetime64(pilot["end_date"] or dt.date.max)
                in_pilot = (dates >= start) & (dates <= end)
                ratio[in_pilot] = PILOT_STAGE_RATIO
        focal = group == PLANTED_GROUP
        prob[focal] = base * ratio[focal]
    return prob


# --- funnel ---------------------------------------------------------------------------------
def _campaign_funnel(rng: np.random.Generator, zone: str, campaign: str,
                     spread: _PilotStageSpread | None = None) -> pd.DataFrame:
    """One zone's campaign; ``spread`` gives the pilot-stage counts (none: exact quotas
    everywhere)."""
    start, size = CAMPAIGNS[campaign]
    n = int(rng.poisson(APPLICANTS[zone] * size))
    group = _choice(rng, BACKGROUNDS, APPLICANT_SHARES[zone], n)
    gender = _choice(rng, GENDERS, APPLICANT_GENDER, n)
    age = _choice(rng, AGE_BANDS, APPLICANT_AGE, n)
    refs = np.array([f"C-{zone}-{campaign}-{i:05d}" for i in range(1, n + 1)], dtype=object)

    # Entry day (days since campaign start) of every stage, drawn up front so that the dates
    # do not depend on outcomes (pending is then unrelated to group).
    stages = DEFAULT_STAGES
    offsets = np.empty((n, len(stages)), dtype=np.int64)
    offsets[:, 0] = rng.integers(0, APPLICATION_SPREAD_DAYS + 1, n)
    for s, stage in enumerate(stages[:-1]):
        lo, hi = STAGE_GAPS[stage]
        offsets[:, s + 1] = offsets[:, s] + rng.integers(lo, hi + 1, n)
    start64 = np.datetime64(start)
    dates = start64 + offsets.astype("timedelta64[D]")
    ref64 = np.datetime64(REFERENCE_DATE)

    parts: list[pd.DataFrame] = []
    alive = np.ones(n, dtype=bool)
    for s, stage in enumerate(stages):
        idx = np.flatnonzero(alive & (dates[:, s] <= ref64))
        alive[:] = False
        if idx.size == 0:
            break
        if stage == stages[-1]:
            outcome = np.full(idx.size, "passed", dtype=object)
        else:
            withdraw, _ = STAGE_PARAMS[stage]
            p_pass = _pass_probability(stage, group[idx], zone, dates[idx, s])
            outcome = np.full(idx.size, "failed", dtype=object)
            # One cell per group and pass probability: its outcome counts are fixed by quota.
            for g in sorted(set(group[idx])):
                in_group = group[idx] == g
                for prob in np.unique(p_pass[in_group]):
                    cell = np.flatnonzero(in_group & (p_pass == prob))
                    gone = _quota(rng, cell.size, withdraw)
                    outcome[cell[gone]] = "withdrew"
                    rest = cell[~gone]
                    passed = _quota(rng, rest.size, float(prob))
                    arm = spread.arm(stage, zone, g) if spread is not None else None
                    if arm is not None:  # (the quota above still keeps the stream in step)
                        passed = spread.mask(arm, zone, campaign, g, rest.size, float(prob))
                    outcome[rest[passed]] = "passed"
            # Still running: the decision falls after the extract date.
            outcome[dates[idx, s + 1] > ref64] = "pending"
            alive[idx[outcome == "passed"]] = True
        parts.append(pd.DataFrame({
            "zone": zone,
            "candidate_ref": refs[idx],
            "campaign": campaign,
            "campaign_year": int(campaign[:4]),
            "stage": stage,
            "outcome": outcome,
            "stage_date": dates[idx, s],
            "migration_background": group[idx],
            "gender": gender[idx],
            "age_band": age[idx],
            "_order": s,
        }))
    return pd.concat(parts, ignore_index=True)


def _funnel(rng: np.random.Generator, spread: _PilotStageSpread | None = None) -> pd.DataFrame:
    """Every zone's campaigns. A campaign with pilot-stage cells is drawn from a copy of the
    stream, and the stream itself advanced as without the spread: so every other campaign,
    and every row before the pilot's stage, is what it was with exact quotas everywhere (the
    benchmarks on demo data stay comparable)."""
    frames = []
    for code, *_ in DEMO_ZONES:
        for campaign in CAMPAIGNS:
            if spread is None or not spread.touches(code):
                frames.append(_campaign_funnel(rng, code, campaign))
                continue
            twin = np.random.default_rng()
            twin.bit_generator.state = rng.bit_generator.state
            _campaign_funnel(rng, code, campaign)  # advance the stream as before
            frames.append(_campaign_funnel(twin, code, campaign, spread))
    funnel = pd.concat(frames, ignore_index=True)
    funnel = funnel.sort_values(["zone", "campaign", "candidate_ref", "_order"], kind="stable")
    funnel["stage_date"] = [d.date() for d in pd.to_datetime(funnel["stage_date"])]
    funnel["campaign_year"] = funnel["campaign_year"].astype("int64")
    return funnel.drop(columns="_order").reset_index(drop=True)[list(FUNNEL_COLUMNS)]


# --- exit comments --------------------------------------------------------------------------
# Theme templates (no names, places, numbers or contact data). A comment is an optional opener,
# one or two core sentences of the exit reason's theme and an optional closer.
_THEMES: dict[str, dict[str, tuple[str, ...]]] = {
    "nl": {
        "workload": (
            "De werkdruk op de interventiedienst was te hoog.",
            "Te veel overuren en te weinig collega's op de ploeg.",
            "Ik kon de nachtshiften niet langer combineren met voldoende rust.",
            "Er kwam steeds meer administratie bij, zonder extra mensen.",
        ),
        "work_life_balance": (
            "De wisselende shiften waren niet te combineren met mijn gezinsleven.",
            "Weekendwerk en late diensten wogen te zwaar.",
            "Ik zocht een job met vaste uren.",
        ),
        "career": (
            "Ik zag geen doorgroeimogelijkheden binnen de zone.",
            "Mijn vraag naar een specialisatie werd telkens uitgesteld.",
            "Ik heb een job gevonden met meer perspectief.",
            "Bevorderingen gingen naar dezelfde mensen.",
        ),
        "pay": (
            "Het loon weegt niet op tegen de verantwoordelijkheid.",
            "In de privésector verdien ik meer voor minder uren.",
        ),
        "team_climate": (
            "De sfeer in de ploeg was slecht en ik voelde me niet welkom.",
            "Er werden regelmatig grappen gemaakt over mijn afkomst.",
            "Ik voelde me buitengesloten door een deel van het team.",
            "Ik hoorde er nooit echt bij.",
        ),
        "discrimination": (
            "Ik werd anders behandeld vanwege mijn achtergrond.",
            "Opmerkingen over mijn afkomst werden niet ernstig genomen door de leiding.",
            "Ik heb ongelijke behandeling meegemaakt bij de verdeling van taken.",
        ),
        "leadership": (
            "Weinig steun van de directe leiding.",
            "Beslissingen van de leiding werden nooit uitgelegd.",
            "Mijn leidinggevende luisterde niet naar voorstellen van de ploeg.",
        ),
        "commute": (
            "De verplaatsing naar het commissariaat duurde te lang.",
            "Ik woon ver van de zone en het pendelen werd te zwaar.",
            "Met het openbaar vervoer raak ik niet op tijd voor de vroege dienst.",
        ),
        "family": (
            "Om familiale redenen stop ik.",
            "Ik wil meer tijd voor mijn kinderen.",
            "Mijn partner verhuist voor het werk en ik ga mee.",
        ),
        "health": (
            "Om gezondheidsredenen kan ik het werk niet meer aan.",
            "De fysieke belasting werd te groot.",
        ),
        "other": (
            "Ik begin aan een nieuwe opleiding.",
            "Persoonlijke redenen.",
        ),
    },
    "fr": {
        "workload": (
            "La charge de travail au service d'intervention était trop lourde.",
            "Trop d'heures supplémentaires et pas assez de collègues dans l'équipe.",
            "Je ne pouvais plus enchaîner les services de nuit sans repos suffisant.",
            "Toujours plus de tâches administratives, sans renfort.",
        ),
        "work_life_balance": (
            "Les horaires variables étaient incompatibles avec ma vie de famille.",
            "Le travail le week-end et les services tardifs pesaient trop.",
            "Je cherchais un emploi avec des horaires fixes.",
        ),
        "career": (
            "Je ne voyais aucune perspective d'évolution dans la zone.",
            "Ma demande de spécialisation a été reportée à chaque fois.",
            "J'ai trouvé un poste avec plus de perspectives.",
            "Les promotions allaient toujours aux mêmes personnes.",
        ),
        "pay": (
            "Le salaire ne reflète pas les responsabilités.",
            "Dans le privé, je gagne plus pour moins d'heures.",
        ),
        "team_climate": (
            "L'ambiance dans l'équipe était mauvaise et je ne me sentais pas le bienvenu.",
            "Il y avait régulièrement des blagues sur mes origines.",
            "Je me sentais mis à l'écart par une partie de l'équipe.",
            "Je n'ai jamais vraiment été intégré.",
        ),
        "discrimination": (
            "J'ai été traité différemment à cause de mes origines.",
            "Les remarques sur mes origines n'ont pas été prises au sérieux par la hiérarchie.",
            "J'ai subi une inégalité de traitement dans la répartition des tâches.",
        ),
        "leadership": (
            "Peu de soutien de la part de la hiérarchie directe.",
            "Les décisions de la direction n'étaient jamais expliquées.",
            "Mon chef n'écoutait pas les propositions de l'équipe.",
        ),
        "commute": (
            "Le trajet jusqu'au commissariat était trop long.",
            "J'habite loin de la zone et les navettes devenaient trop pénibles.",
            "En transports en commun, je n'arrive pas à temps pour le service du matin.",
        ),
        "family": (
            "Je pars pour des raisons familiales.",
            "Je veux plus de temps pour mes enfants.",
            "Mon conjoint déménage pour son travail et je le suis.",
        ),
        "health": (
            "Pour des raisons de santé, je ne peux plus assumer ce travail.",
            "La charge physique est devenue trop importante.",
        ),
        "other": (
            "Je commence une nouvelle formation.",
            "Raisons personnelles.",
        ),
    },
}
_OPENERS: dict[str, tuple[str, ...]] = {
    "nl": ("", "", "Ik heb deze beslissing niet licht genomen.", "Het was een moeilijke keuze.",
           "Bedankt voor de kansen."),
    "fr": ("", "", "Je n'ai pas pris cette décision à la légère.", "Ce fut un choix difficile.",
           "Merci pour les opportunités."),
}
_CLOSERS: dict[str, tuple[str, ...]] = {
    "nl": ("", "", "Dit speelde al langer.", "Misschien kom ik later terug.",
           "Ik zou het beroep wel aanraden aan anderen.", "Niemand vroeg er ooit naar."),
    "fr": ("", "", "Cela durait depuis longtemps.", "Je reviendrai peut-être plus tard.",
           "Je recommanderais quand même le métier.", "Personne ne m'a jamais posé la question."),
}
_RELATED: dict[str, tuple[str, ...]] = {
    "workload": ("work_life_balance", "leadership"),
    "work_life_balance": ("workload", "family"),
    "career": ("pay", "leadership"),
    "pay": ("career", "workload"),
    "team_climate": ("discrimination", "leadership"),
    "discrimination": ("team_climate", "leadership"),
    "leadership": ("team_climate", "career"),
    "commute": ("work_life_balance", "family"),
    "family": ("work_life_balance", "commute"),
    "health": ("workload",),
    "other": ("career",),
}


def _comment(rng: np.random.Generator, reason: str, language: str) -> str:
    themes = _THEMES[language]
    theme = reason if reason in themes else "other"
    parts = [str(rng.choice(_OPENERS[language])), str(rng.choice(themes[theme]))]
    if rng.random() < 0.35:
        parts.append(str(rng.choice(themes[str(rng.choice(_RELATED[theme]))])))
    parts.append(str(rng.choice(_CLOSERS[language])))
    return " ".join(p for p in parts if p)


# --- workforce ------------------------------------------------------------------------------
def _hire_dates(rng: np.random.Generator, zone: str) -> list[dt.date]:
    """Hires 1990 to the reference date; more hiring after the 2001 police reform and lately."""
    dates: list[dt.date] = []
    for year in range(1990, REFERENCE_DATE.year + 1):
        growth = 0.55 + 0.45 * (year - 1990) / 20 if year < 2010 else 1.0 + 0.03 * (year - 2010)
        if year in (2002, 2003):
            growth *= 1.3
        year_end = min(dt.date(year, 12, 31), REFERENCE_DATE)
        days = (year_end - dt.date(year, 1, 1)).days + 1
        mean = HIRES_PER_YEAR[zone] * growth * days / 365.0
        k = int(rng.poisson(mean))
        dates.extend(_add_days(dt.date(year, 1, 1), np.sort(rng.integers(0, days, k))))
    return dates


def _officer_groups(rng: np.random.Generator, zone: str, hire_years: np.ndarray) -> np.ndarray:
    eu_recent, non_eu_recent = RECENT_HIRE_SHARES[zone]
    # Diversity of intake grows roughly linearly from a low base in 1990 to today's level.
    ramp = np.clip(0.15 + 0.85 * (hire_years - 1990) / 35.0, 0.15, 1.0)
    eu = eu_recent * ramp
    non_eu = non_eu_recent * ramp
    u = rng.random(hire_years.size)
    out = np.full(hire_years.size, BELGIAN_ORIGIN, dtype=object)
    out[u < UNKNOWN_OFFICER_SHARE + eu + non_eu] = NON_EU_BACKGROUND
    out[u < UNKNOWN_OFFICER_SHARE + eu] = EU_BACKGROUND
    out[u < UNKNOWN_OFFICER_SHARE] = UNKNOWN
    return out


def _simulate_exits(
    rng: np.random.Generator, zone: str, hire: np.ndarray, group: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Monthly competing-risks simulation; returns exit day offsets (-1 = none) and types."""
    month = 365.25 / 12.0
    horizon = (np.datetime64(REFERENCE_DATE) - hire).astype(np.int64)  # days observable
    n = hire.size
    exit_day = np.full(n, -1, dtype=np.int64)
    exit_type = np.full(n, None, dtype=object)
    at_risk = np.ones(n, dtype=bool)
    mobility = MOBILITY_HAZARD * (MOBILITY_BRUSSELS if zone in ("BXN", "BXI") else 1.0)
    focal = group == NON_EU_BACKGROUND
    types = np.array(["voluntary", "involuntary", "retirement", "mobility", "other"], dtype=object)
    assert tuple(types) == EXIT_TYPES
    max_months = int(horizon.max() // month) + 1
    for m in range(max_months):
        start = m * month
        active = at_risk & (horizon > start)
        if not active.any():
            continue
        years = start / 365.25
        vol = np.full(n, VOLUNTARY_HAZARD[0 if years < FIRST_YEARS else 1 if years < 5 else 2])
        if years < FIRST_YEARS:
            vol[focal] *= FIRST_YEARS_HAZARD_RATIO
        h = np.column_stack([
            vol,
            np.full(n, INVOLUNTARY_HAZARD[0] if years < 1 else INVOLUNTARY_HAZARD[1]),
            np.full(n, max([h for y, h in RETIREMENT_HAZARD if years >= y], default=0.0)),
            np.full(n, mobility if years >= 2 else 0.0),
            np.full(n, OTHER_HAZARD),
        ]) / 12.0
        total = h.sum(axis=1)
        event = active & (rng.random(n) < 1.0 - np.exp(-total))
        idx = np.flatnonzero(event)
        if idx.size:
            cum = np.cumsum(h[idx], axis=1) / total[idx, None]
            kind = np.minimum((rng.random(idx.size)[:, None] > cum).sum(axis=1), len(types) - 1)
            day = (start + rng.random(idx.size) * month).astype(np.int64)
            ok = day <= horizon[idx]  # an exit after the extract date is not seen: censored
            exit_day[idx[ok]] = day[ok]
            exit_type[idx[ok]] = types[kind[ok]]
            at_risk[idx[ok]] = False
    return exit_day, exit_type


def _ranks(rng: np.random.Generator, years: np.ndarray) -> np.ndarray:
    """Mostly inspector; agents are a separate cadre; promotions need years of service."""
    u = rng.random(years.size)
    out = np.full(years.size, "inspector", dtype=object)
    p_chief_comm = np.where(years > 20, 0.01, 0.0)
    p_comm = p_chief_comm + np.where(years > 10, 0.05, 0.0) + np.where(years > 20, 0.04, 0.0)
    p_chief_insp = p_comm + np.clip(0.03 * (years - 6), 0.0, 0.40)
    p_agent = p_chief_insp + 0.08
    out[u < p_agent] = "agent"
    out[u < p_chief_insp] = "chief_inspector"
    out[u < p_comm] = "commissioner"
    out[u < p_chief_comm] = "chief_commissioner"
    return out


def _zone_workforce(rng: np.random.Generator, zone: str, language: str) -> pd.DataFrame:
    hire_dates = _hire_dates(rng, zone)
    hire = np.array(hire_dates, dtype="datetime64[D]")
    years_hired = hire.astype("datetime64[Y]").astype(int) + 1970
    group = _officer_groups(rng, zone, years_hired)
    exit_day, exit_type = _simulate_exits(rng, zone, hire, group)
    exit_date = np.where(exit_day >= 0, hire + np.maximum(exit_day, 0).astype("timedelta64[D]"),
                         np.datetime64("NaT"))
    keep = np.isnat(exit_date) | (exit_date >= np.datetime64(WINDOW_START))
    hire, group, exit_day, exit_type, exit_date = (
        hire[keep], group[keep], exit_day[keep], exit_type[keep], exit_date[keep]
    )
    n = hire.size
    end = np.where(np.isnat(exit_date), np.datetime64(REFERENCE_DATE), exit_date)
    service_years = (end - hire).astype(np.int64) / 365.25
    hire_years = hire.astype("datetime64[Y]").astype(int) + 1970
    female = np.clip(0.15 + 0.20 * (hire_years - 1990) / 35.0, 0.15, 0.35)
    u = rng.random(n)
    gender = np.where(u < female, "female", "male").astype(object)
    gender[u > 0.995] = "unknown"
    gender[(u > 0.993) & (u <= 0.995)] = "x"
    rank = _ranks(rng, service_years)

    reason = np.full(n, None, dtype=object)
    comment = np.full(n, None, dtype=object)
    for i in np.flatnonzero(exit_type != None):  # noqa: E711 - elementwise on object array
        kind = exit_type[i]
        if kind == "voluntary":
            table = VOLUNTARY_REASONS_NON_EU if group[i] == NON_EU_BACKGROUND else VOLUNTARY_REASONS
        else:
            table = OTHER_TYPE_REASONS[kind]
        reason[i] = str(_choice(rng, list(table), list(table.values()), 1)[0])
        if kind == "voluntary" and rng.random() < COMMENT_SHARE:
            lang = language if language in ("nl", "fr") else str(rng.choice(["nl", "fr"],
                                                                            p=[0.4, 0.6]))
            comment[i] = _comment(rng, reason[i], lang)

    return pd.DataFrame({
        "zone": zone,
        "officer_ref": [f"O-{zone}-{i:06d}" for i in range(1, n + 1)],
        "migration_background": group,
        "gender": gender,
        "rank": rank,
        "hire_date": [d.item() for d in hire],
        "exit_date": [None if np.isnat(d) else d.item() for d in exit_date],
        "exit_type": exit_type,
        "exit_reason": reason,
        "exit_comment": comment,
    })


def _workforce(rng: np.random.Generator) -> pd.DataFrame:
    languages = _zone_languages()
    frames = [_zone_workforce(rng, code, languages[code]) for code, *_ in DEMO_ZONES]
    frame = pd.concat(frames, ignore_index=True)[list(WORKFORCE_COLUMNS)]
    return frame.astype({c: object for c in ("exit_date", "exit_type", "exit_reason",
                                             "exit_comment")})


# --- benchmarks, zones ----------------------------------------------------------------------
def _benchmarks() -> pd.DataFrame:
    """All residents 18-34 (context) and the eligible pool, Belgian nationals 18-34."""
    rows = []
    for code, *_ in DEMO_ZONES:
        population = ZONE_POPULATION_18_34[code]
        residents = dict(zip(KNOWN_BACKGROUNDS, ZONE_BENCHMARK_SHARES[code], strict=True))
        nationals = {g: int(round(share * population * NATIONAL_FRACTION[g]))
                     for g, share in residents.items()}
        total = sum(nationals.values())
        for group, share in residents.items():
            rows.append({
                "zone": code, "migration_background": group, "share": share,
                "count": int(round(share * population)), "population_scope": BENCHMARK_SCOPE,
                "reference_date": BENCHMARK_REFERENCE_DATE, "source": BENCHMARK_SOURCE,
            })
        for group, count in nationals.items():
            rows.append({
                "zone": code, "migration_background": group, "share": count / total,
                "count": count, "population_scope": ELIGIBLE_SCOPE,
                "reference_date": BENCHMARK_REFERENCE_DATE, "source": BENCHMARK_SOURCE,
            })
    return pd.DataFrame(rows, columns=list(BENCHMARK_COLUMNS))


def _zones() -> pd.DataFrame:
    return pd.DataFrame(list(DEMO_ZONES),
                        columns=["code", "police_zone_number", "name_nl", "name_fr", "language"])


def generate_demo(seed: int = DEFAULT_SEED) -> DemoData:
    """Generate the SYNTHETIC demo data set; identical frames for identical seeds.

    >>> d = generate_demo()
    >>> d.reference_date
    datetime.date(2026, 6, 30)
    """
    # Independent child streams: tuning the funnel does not reshuffle the workforce.
    # The third stream (the pilot-stage spread) leaves the first two as they were.
    funnel_seed, workforce_seed, spread_seed = np.random.SeedSequence(seed).spawn(3)
    funnel = _funnel(np.random.default_rng(funnel_seed),
                     _PilotStageSpread(np.random.default_rng(spread_seed)))
    workforce = _workforce(np.random.default_rng(workforce_seed))
    return DemoData(
        zones=_zones(),
        funnel=funnel,
        workforce=workforce,
        reference_date=REFERENCE_DATE,
        benchmarks=_benchmarks(),
        pilots=[dict(p) for p in PILOTS],
        seed=seed,
    )
