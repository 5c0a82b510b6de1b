"""The service's shared vocabulary: categories, stages, roles.

Every layer (ingest, analysis, services, web, api) imports its category names from here so
that a value means the same thing everywhere. Canonical values are lower-case English
identifiers; the user-facing labels (NL/FR/EN) live in the translation catalogues.

Source for stages, outcomes and backgrounds: ``docs/domain-primer.md`` (project domain primer),
which follows Statbel's "origin" classification for migration background.
"""

from __future__ import annotations

# --- recruitment funnel -------------------------------------------------------------------
#: Default ordered selection stages for an inspector campaign (configurable per zone).
DEFAULT_STAGES: tuple[str, ...] = (
    "application",
    "cognitive_test",
    "personality_test",
    "physical_test",
    "interview",
    "medical",
    "screening",
    "academy",
    "appointed",
)

#: Outcome of a candidate at one stage.
OUTCOMES: tuple[str, ...] = ("passed", "failed", "withdrew", "pending")

# --- migration background (Statbel origin) -----------------------------------------------
BELGIAN_ORIGIN = "belgian_origin"
EU_BACKGROUND = "eu_background"
NON_EU_BACKGROUND = "non_eu_background"
UNKNOWN = "unknown"

#: All background groups, reference group first. ``unknown`` is explicit and never dropped.
BACKGROUNDS: tuple[str, ...] = (BELGIAN_ORIGIN, EU_BACKGROUND, NON_EU_BACKGROUND, UNKNOWN)
#: Groups that can be compared (``unknown`` is reported, not compared).
KNOWN_BACKGROUNDS: tuple[str, ...] = (BELGIAN_ORIGIN, EU_BACKGROUND, NON_EU_BACKGROUND)
DEFAULT_REFERENCE_GROUP = BELGIAN_ORIGIN

GENDERS: tuple[str, ...] = ("female", "male", "x", "unknown")

#: Age bands accepted in funnel extracts.
AGE_BANDS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45+", "unknown")

# --- workforce / exits --------------------------------------------------------------------
#: Belgian police ranks, lowest first (agent van politie / agent de police ... hoofdcommissaris
#: / commissaire divisionnaire).
RANKS: tuple[str, ...] = (
    "agent",
    "inspector",
    "chief_inspector",
    "commissioner",
    "chief_commissioner",
)

#: Exit types, reported separately: resignation is voluntary; dismissal / failed probation is
#: involuntary; mobility (transfer to another zone) is a loss for the zone, not for the police.
EXIT_TYPES: tuple[str, ...] = ("voluntary", "involuntary", "retirement", "mobility", "other")

#: Exit-interview reason categories.
EXIT_REASONS: tuple[str, ...] = (
    "workload",
    "career",
    "pay",
    "work_life_balance",
    "team_climate",
    "discrimination",
    "leadership",
    "commute",
    "family",
    "health",
    "other",
    "unknown",
)

# --- organisation -------------------------------------------------------------------------
ROLES: tuple[str, ...] = ("admin", "hr_manager", "diversity_officer", "project_staff", "leadership")
ZONE_LANGUAGES: tuple[str, ...] = ("nl", "fr", "bilingual")
UI_LANGUAGES: tuple[str, ...] = ("nl", "fr", "en")

#: Kinds of uploaded extract.
EXTRACT_KINDS: tuple[str, ...] = ("funnel", "workforce", "counts")
UPLOAD_STATUSES: tuple[str, ...] = ("stored", "replaced", "rejected")

# --- disclosure control defaults (see docs/disclosure-control.md) ------------------------
DEFAULT_MIN_CELL = 5  # k
MIN_CELL_RANGE = (3, 10)
DEFAULT_MIN_DENOMINATOR = 20

#: The project's demo / pilot zones: (code, police-zone number, NL name, FR name, language).
DEMO_ZONES: tuple[tuple[str, str, str, str, str], ...] = (
    ("ANT", "5345", "PZ Antwerpen", "ZP Anvers", "nl"),
    ("GNT", "5415", "PZ Gent", "ZP Gand", "nl"),
    ("CRL", "5330", "PZ Charleroi", "ZP Charleroi", "fr"),
    ("BXN", "5344", "PZ Brussel-Noord", "ZP Bruxelles-Nord", "bilingual"),
    ("BXI", "5339", "PZ Brussel Hoofdstad Elsene", "ZP Bruxelles Capitale Ixelles", "bilingual"),
)
