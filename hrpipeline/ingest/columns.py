"""Canonical column names and category values, with their Dutch and French synonyms.

Matching is case-, accent- and whitespace-insensitive (``Étape``, `` etape `` and ``ETAPE``
are the same header). Unknown categories are errors, never guesses: a value that is not listed
here is reported with the accepted values. Canonical values come from
:mod:`hrpipeline.domain`; this module only adds the words zones actually write.
"""

from __future__ import annotations

import re
import unicodedata

from hrpipeline.domain import (
    AGE_BANDS,
    BACKGROUNDS,
    BELGIAN_ORIGIN,
    DEFAULT_STAGES,
    EU_BACKGROUND,
    EXIT_REASONS,
    EXIT_TYPES,
    GENDERS,
    NON_EU_BACKGROUND,
    OUTCOMES,
    RANKS,
    UNKNOWN,
)

_SEPARATORS = re.compile(r"[\s_\-–—./'’`()]+")


def normalise(text: str) -> str:
    """Lower case, no accents, separators collapsed to one space.

    >>> normalise("  Date d'Entrée ")
    'date d entree'
    """
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", plain.casefold()).strip()


# --- columns ------------------------------------------------------------------------------
#: canonical column → accepted header spellings (EN, NL, FR); the canonical name is implied.
COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "candidate_ref": ("candidate", "candidate id", "candidate ref", "candidate number",
                      "kandidaat", "kandidaatnummer", "kandidaat id", "kandidaat ref",
                      "referentie kandidaat", "dossiernummer", "candidat", "n candidat",
                      "no candidat", "numero candidat", "id candidat", "reference candidat",
                      "numero de dossier"),
    "campaign": ("campaign", "recruitment campaign", "campaign name", "wervingscampagne",
                 "campagne", "selectieronde", "selectie", "campagnenaam",
                 "campagne de recrutement", "nom de la campagne", "session"),
    "campaign_year": ("year", "campaign year", "jaar", "campagnejaar", "annee",
                      "annee de campagne"),
    "stage": ("stage", "selection stage", "step", "fase", "selectiefase", "stap", "proef",
              "etape", "epreuve", "phase"),
    "outcome": ("outcome", "result", "uitkomst", "resultaat", "beslissing", "resultat",
                "decision"),
    "stage_date": ("stage date", "date", "datum", "datum fase", "datum proef", "date etape",
                   "date de l etape", "date epreuve", "date de l epreuve"),
    "migration_background": ("migration background", "background", "origin", "origin group",
                             "herkomst", "migratieachtergrond", "herkomstgroep", "origine",
                             "origine migratoire", "groupe d origine"),
    "gender": ("gender", "sex", "geslacht", "gender identiteit", "sexe", "genre"),
    "age_band": ("age band", "age group", "age", "leeftijdsgroep", "leeftijdscategorie",
                 "leeftijdsklasse", "leeftijd", "tranche d age", "classe d age", "age"),
    "officer_ref": ("officer", "officer ref", "officer id", "employee id", "personnel number",
                    "personeelsnummer", "stamnummer", "personeelslid", "matricule",
                    "numero de matricule", "membre du personnel", "id agent"),
    "rank": ("rank", "grade", "graad", "rang", "kader", "cadre"),
    "hire_date": ("hire date", "start date", "date hired", "datum in dienst",
                  "datum indiensttreding", "indiensttreding", "in dienst", "date d entree",
                  "date d entree en service", "date d engagement", "entree en service"),
    "exit_date": ("exit date", "leave date", "end date", "datum uit dienst",
                  "datum uitdiensttreding", "uitdiensttreding", "uit dienst", "datum vertrek",
                  "date de sortie", "date de depart", "sortie de service"),
    "exit_type": ("exit type", "type of exit", "type vertrek", "soort vertrek",
                  "type uitstroom", "type de depart", "type de sortie"),
    "exit_reason": ("exit reason", "reason", "reden vertrek", "vertrekreden", "reden",
                    "motief", "motif de depart", "motif", "raison", "raison du depart"),
    "exit_comment": ("exit comment", "comment", "comments", "exit interview", "opmerking",
                     "commentaar", "toelichting", "exitgesprek", "commentaire", "remarque",
                     "entretien de sortie"),
    # aggregate tables
    "passed": ("passed", "geslaagd", "reussi", "admis"),
    "failed": ("failed", "niet geslaagd", "gezakt", "echoue", "non admis"),
    "withdrew": ("withdrew", "withdrawn", "afgehaakt", "teruggetrokken", "desiste",
                 "desistement", "abandon"),
    "pending": ("pending", "lopend", "in behandeling", "en cours", "en attente"),
    "date": ("date", "reference date", "datum", "peildatum", "date de reference"),
    "headcount": ("headcount", "head count", "count", "number", "aantal", "personeelsbestand",
                  "aantal personeelsleden", "effectif", "effectifs", "nombre"),
}

#: The fields each extract kind may carry (required ones are declared by the schemas).
KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "funnel": ("candidate_ref", "campaign", "campaign_year", "stage", "outcome", "stage_date",
               "migration_background", "gender", "age_band"),
    "workforce": ("officer_ref", "migration_background", "gender", "rank", "hire_date",
                  "exit_date", "exit_type", "exit_reason", "exit_comment"),
    "counts_funnel": ("campaign", "campaign_year", "stage", "migration_background", "passed",
                      "failed", "withdrew", "pending"),
    "counts_headcount": ("date", "migration_background", "rank", "headcount"),
}


def _index(synonyms: dict[str, tuple[str, ...]], fields) -> dict[str, str]:
    out: dict[str, str] = {}
    for canonical in fields:
        for spelling in (canonical, *synonyms.get(canonical, ())):
            out.setdefault(normalise(spelling), canonical)
    return out


def match_columns(headers, fields) -> tuple[dict[str, str], list[str]]:
    """Map the file's headers onto ``fields``.

    Returns ``({header: canonical}, [headers that match no field])``; a canonical field matched
    by two headers is reported by the caller (``ambiguous_column``).
    """
    index = _index(COLUMN_SYNONYMS, fields)
    mapping: dict[str, str] = {}
    unmatched: list[str] = []
    for header in headers:
        canonical = index.get(normalise(header))
        if canonical is None:
            unmatched.append(header)
        else:
            mapping[header] = canonical
    return mapping, unmatched


def accepted_headers(field: str) -> list[str]:
    """The header spellings accepted for ``field`` (for "missing column" messages)."""
    return [field, *COLUMN_SYNONYMS.get(field, ())]


def is_known_header(header: str) -> bool:
    """True when ``header`` is a synonym of any column of any kind (never a PII header)."""
    return normalise(header) in _ALL_HEADERS


_ALL_HEADERS = set(_index(COLUMN_SYNONYMS, COLUMN_SYNONYMS))

# --- values -------------------------------------------------------------------------------
_STAGES = {
    "application": ("sollicitatie", "kandidatuur", "kandidaatstelling", "inschrijving",
                    "aanmelding", "candidature", "inscription", "postulation"),
    "cognitive_test": ("cognitive test", "cognitive", "cognitieve test", "cognitieve proef",
                       "cognitieve vaardigheden", "psychotechnische proef", "test cognitif",
                       "epreuve cognitive", "epreuve d aptitudes cognitives", "tests cognitifs"),
    "personality_test": ("personality test", "personality", "persoonlijkheidstest",
                         "persoonlijkheidsproef", "persoonlijkheidsvragenlijst",
                         "test de personnalite", "questionnaire de personnalite"),
    "physical_test": ("physical test", "physical", "fysieke proef", "fysieke test",
                      "sportproef", "sportproeven", "lichamelijke proef", "epreuve physique",
                      "test physique", "epreuve sportive", "epreuves sportives",
                      "epreuves physiques"),
    "interview": ("selection committee", "interview", "selectiecommissie", "gesprek",
                  "sollicitatiegesprek", "selectiegesprek", "commission de selection",
                  "entretien", "entretien de selection", "jury"),
    "medical": ("medical", "medical examination", "medisch onderzoek", "medische proef",
                "medisch", "medische keuring", "examen medical", "medical", "visite medicale"),
    "screening": ("screening", "background check", "antecedentenonderzoek",
                  "moraliteitsonderzoek", "veiligheidsonderzoek", "enquete de moralite",
                  "enquete de securite", "enquete d antecedents"),
    "academy": ("academy", "police school", "politieschool", "politieacademie", "opleiding",
                "basisopleiding", "academie", "academie de police", "ecole de police",
                "formation", "formation de base"),
    "appointed": ("appointed", "hired", "benoemd", "benoeming", "aangesteld", "aanstelling",
                  "in dienst", "nomme", "nomination", "engage", "recrute", "entree en service"),
}

_OUTCOMES = {
    "passed": ("pass", "ok", "geslaagd", "gunstig", "voldoende", "reussi", "admis",
               "favorable", "succes"),
    "failed": ("fail", "niet geslaagd", "gezakt", "ongunstig", "onvoldoende", "gebuisd",
               "afgewezen", "echoue", "echec", "non admis", "defavorable", "insuffisant",
               "refuse"),
    "withdrew": ("withdrawn", "dropped out", "afgehaakt", "teruggetrokken", "afgezien",
                 "niet opgedaagd", "desiste", "desistement", "abandon", "abandonne",
                 "retire", "absent"),
    "pending": ("in progress", "lopend", "in behandeling", "bezig", "nog niet gekend",
                "en cours", "en attente", "a venir"),
}

_UNKNOWN_WORDS = ("", "unknown", "not stated", "not known", "undisclosed", "n a", "na",
                  "onbekend", "niet opgegeven", "niet gekend", "geen antwoord",
                  "wil niet zeggen", "inconnu", "non communique", "non renseigne",
                  "non precise", "pas de reponse", "ne souhaite pas repondre")

_BACKGROUNDS = {
    BELGIAN_ORIGIN: ("belgian", "belgian origin", "belgium", "belg", "belgisch", "belgie",
                     "belgische herkomst", "belg van belgische herkomst", "belge",
                     "origine belge", "belge d origine belge", "belgique"),
    EU_BACKGROUND: ("eu", "eu background", "eu origin", "eu herkomst", "herkomst eu",
                    "eu27", "eu 27", "eu14", "eu 14", "eu13", "eu 13", "andere eu", "ander eu",
                    "buurlanden", "neighbouring country", "ue", "origine ue",
                    "union europeenne", "europeen", "pays limitrophes", "autre ue", "eu lidstaat",
                    "nederland", "frankrijk", "duitsland", "luxemburg", "italie", "spanje",
                    "portugal", "griekenland", "polen", "roemenie", "bulgarije",
                    "pays bas", "france", "allemagne", "luxembourg", "italy", "espagne",
                    "grece", "pologne", "roumanie", "bulgarie"),
    NON_EU_BACKGROUND: ("non eu", "non eu background", "niet eu", "niet eu herkomst",
                        "buiten eu", "buiten de eu", "hors ue", "non ue", "origine hors ue",
                        "extra europeen", "maghreb", "maghrebijns", "noord afrika",
                        "afrique du nord", "north africa", "marokko", "maroc", "morocco",
                        "algerije", "algerie", "tunesie", "tunisie", "turkije", "turquie",
                        "turkey", "sub sahara", "sub saharaans afrika", "subsahara",
                        "afrique subsaharienne", "sub saharan africa", "congo", "dr congo",
                        "rd congo", "azie", "asie", "asia", "latijns amerika",
                        "amerique latine", "latin america", "andere niet eu",
                        "autre hors ue", "europa niet eu", "europe hors ue", "non eu europe",
                        "rest van de wereld", "reste du monde", "midden oosten",
                        "moyen orient", "middle east", "kandidaat lidstaat",
                        "pays candidat"),
    UNKNOWN: _UNKNOWN_WORDS,
}

_GENDERS = {
    "female": ("f", "v", "vrouw", "vrouwelijk", "woman", "femme", "feminin"),
    "male": ("m", "h", "man", "mannelijk", "homme", "masculin"),
    "x": ("x", "other", "non binary", "andere", "non binair", "autre", "non binaire"),
    UNKNOWN: _UNKNOWN_WORDS,
}

_RANKS = {
    "agent": ("agent van politie", "agent de police", "police officer"),
    "inspector": ("inspecteur", "inspecteur van politie", "inspecteur de police"),
    "chief_inspector": ("chief inspector", "hoofdinspecteur", "hoofdinspecteur van politie",
                        "inspecteur principal", "inspecteur principal de police", "hinp"),
    "commissioner": ("commissaris", "commissaris van politie", "commissaire",
                     "commissaire de police"),
    "chief_commissioner": ("chief commissioner", "hoofdcommissaris",
                           "hoofdcommissaris van politie", "commissaire divisionnaire",
                           "commissaire divisionnaire de police"),
}

_EXIT_TYPES = {
    "voluntary": ("resignation", "vrijwillig", "vrijwillig vertrek", "eigen ontslag",
                  "ontslag op eigen verzoek", "volontaire", "depart volontaire", "demission"),
    "involuntary": ("dismissal", "onvrijwillig", "ontslagen", "afgedankt",
                    "niet geslaagd proeftijd", "involontaire", "licenciement", "revocation",
                    "fin de stage negative"),
    "retirement": ("pension", "pensioen", "pensionering", "retraite", "mise a la retraite"),
    "mobility": ("transfer", "mobiliteit", "overplaatsing", "andere zone", "mobilite",
                 "mutation", "autre zone"),
    "other": ("andere", "overig", "overlijden", "autre", "deces"),
}

_EXIT_REASONS = {
    "workload": ("werkdruk", "werklast", "charge de travail"),
    "career": ("loopbaan", "doorgroei", "carriere", "perspectives", "evolution de carriere"),
    "pay": ("salary", "loon", "verloning", "salaris", "salaire", "remuneration"),
    "work_life_balance": ("work life balance", "werk prive", "werk prive balans",
                          "combinatie werk gezin", "equilibre vie professionnelle vie privee",
                          "conciliation vie privee", "equilibre vie pro vie privee"),
    "team_climate": ("team climate", "teamsfeer", "werksfeer", "sfeer", "ambiance",
                     "climat d equipe", "ambiance de travail"),
    "discrimination": ("discriminatie", "racisme", "racism", "discrimination"),
    "leadership": ("management", "leidinggevende", "leiderschap", "hierarchie",
                   "direction", "chef"),
    "commute": ("woon werkverkeer", "pendel", "afstand", "trajet", "navette", "distance",
                "travel"),
    "family": ("familie", "gezin", "famille", "family reasons"),
    "health": ("gezondheid", "sante", "illness", "ziekte", "maladie"),
    "other": ("andere", "overig", "autre", "autres"),
    UNKNOWN: _UNKNOWN_WORDS,
}

_AGE_BANDS = {
    "18-24": ("18 24", "18 tot 24", "18 a 24"),
    "25-34": ("25 34", "25 tot 34", "25 a 34"),
    "35-44": ("35 44", "35 tot 44", "35 a 44"),
    "45+": ("45", "45+", "45 plus", "45 en ouder", "45 et plus", "45 ans et plus"),
    UNKNOWN: _UNKNOWN_WORDS,
}

#: field → (canonical values, {normalised spelling: canonical})
VALUE_FIELDS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {}


def _register(field: str, canonical: tuple[str, ...], synonyms: dict[str, tuple[str, ...]]):
    index: dict[str, str] = {}
    for value in canonical:
        index[normalise(value)] = value
        for spelling in synonyms.get(value, ()):
            index.setdefault(normalise(spelling), value)
    VALUE_FIELDS[field] = (canonical, index)


_register("stage", DEFAULT_STAGES, _STAGES)
_register("outcome", OUTCOMES, _OUTCOMES)
_register("migration_background", BACKGROUNDS, _BACKGROUNDS)
_register("gender", GENDERS, _GENDERS)
_register("age_band", AGE_BANDS, _AGE_BANDS)
_register("rank", RANKS, _RANKS)
_register("exit_type", EXIT_TYPES, _EXIT_TYPES)
_register("exit_reason", EXIT_REASONS, _EXIT_REASONS)


def canonical_value(field: str, value: str) -> str | None:
    """The canonical category for ``value`` in ``field``, or ``None`` if not recognised.

    >>> canonical_value("outcome", "Réussi"), canonical_value("migration_background", "Turkije")
    ('passed', 'non_eu_background')
    """
    return VALUE_FIELDS[field][1].get(normalise(value))


def value_synonyms(field: str) -> dict[str, list[str]]:
    """canonical → accepted spellings, for documentation and error messages."""
    canonical, index = VALUE_FIELDS[field]
    out: dict[str, list[str]] = {c: [] for c in canonical}
    for spelling, value in index.items():
        out[value].append(spelling)
    return out


# --- how to write them, per language (column guide, templates, error messages) -------------
#: field → header written in each language's templates (each one is an accepted synonym).
HEADERS: dict[str, dict[str, str]] = {
    "candidate_ref": {"en": "candidate", "nl": "kandidaat", "fr": "candidat"},
    "campaign": {"en": "campaign", "nl": "wervingscampagne", "fr": "campagne"},
    "campaign_year": {"en": "year", "nl": "jaar", "fr": "année"},
    "stage": {"en": "stage", "nl": "fase", "fr": "étape"},
    "outcome": {"en": "outcome", "nl": "uitkomst", "fr": "résultat"},
    "stage_date": {"en": "stage date", "nl": "datum", "fr": "date de l'épreuve"},
    "migration_background": {"en": "background", "nl": "herkomst", "fr": "origine"},
    "gender": {"en": "gender", "nl": "geslacht", "fr": "sexe"},
    "age_band": {"en": "age band", "nl": "leeftijdsgroep", "fr": "tranche d'âge"},
    "officer_ref": {"en": "officer", "nl": "personeelsnummer", "fr": "matricule"},
    "rank": {"en": "rank", "nl": "graad", "fr": "grade"},
    "hire_date": {"en": "hire date", "nl": "datum in dienst",
                  "fr": "date d'entrée en service"},
    "exit_date": {"en": "exit date", "nl": "datum uit dienst", "fr": "date de sortie"},
    "exit_type": {"en": "exit type", "nl": "type vertrek", "fr": "type de départ"},
    "exit_reason": {"en": "exit reason", "nl": "reden vertrek", "fr": "motif de départ"},
    "exit_comment": {"en": "exit comment", "nl": "opmerking", "fr": "commentaire"},
    "passed": {"en": "passed", "nl": "geslaagd", "fr": "réussi"},
    "failed": {"en": "failed", "nl": "niet geslaagd", "fr": "échoué"},
    "withdrew": {"en": "withdrew", "nl": "afgehaakt", "fr": "désisté"},
    "pending": {"en": "pending", "nl": "lopend", "fr": "en cours"},
    "date": {"en": "date", "nl": "peildatum", "fr": "date de référence"},
    "headcount": {"en": "headcount", "nl": "aantal", "fr": "effectif"},
}

#: field → canonical value → (Dutch, French) spelling (English writes the canonical value).
_WRITTEN: dict[str, dict[str, tuple[str, str]]] = {
    "stage": {
        "application": ("sollicitatie", "candidature"),
        "cognitive_test": ("cognitieve proef", "épreuve cognitive"),
        "personality_test": ("persoonlijkheidsproef", "test de personnalité"),
        "physical_test": ("sportproeven", "épreuves sportives"),
        "interview": ("selectiecommissie", "commission de sélection"),
        "medical": ("medisch onderzoek", "examen médical"),
        "screening": ("antecedentenonderzoek", "enquête de moralité"),
        "academy": ("politieschool", "école de police"),
        "appointed": ("benoemd", "nommé"),
    },
    "outcome": {"passed": ("geslaagd", "réussi"), "failed": ("niet geslaagd", "échoué"),
                "withdrew": ("afgehaakt", "désisté"), "pending": ("lopend", "en cours")},
    "migration_background": {
        BELGIAN_ORIGIN: ("Belgische herkomst", "origine belge"),
        EU_BACKGROUND: ("EU-herkomst", "origine UE"),
        NON_EU_BACKGROUND: ("niet-EU-herkomst", "origine hors UE"),
        UNKNOWN: ("onbekend", "inconnu"),
    },
    "gender": {"female": ("vrouw", "femme"), "male": ("man", "homme"), "x": ("X", "X"),
               UNKNOWN: ("onbekend", "inconnu")},
    "age_band": {"18-24": ("18-24", "18-24"), "25-34": ("25-34", "25-34"),
                 "35-44": ("35-44", "35-44"), "45+": ("45+", "45+"),
                 UNKNOWN: ("onbekend", "inconnu")},
    "rank": {"agent": ("agent van politie", "agent de police"),
             "inspector": ("inspecteur", "inspecteur"),
             "chief_inspector": ("hoofdinspecteur", "inspecteur principal"),
             "commissioner": ("commissaris", "commissaire"),
             "chief_commissioner": ("hoofdcommissaris", "commissaire divisionnaire")},
    "exit_type": {"voluntary": ("vrijwillig vertrek", "départ volontaire"),
                  "involuntary": ("ontslagen", "licenciement"),
                  "retirement": ("pensioen", "retraite"),
                  "mobility": ("mobiliteit", "mobilité"), "other": ("andere", "autre")},
    "exit_reason": {"workload": ("werkdruk", "charge de travail"),
                    "career": ("loopbaan", "évolution de carrière"),
                    "pay": ("verloning", "rémunération"),
                    "work_life_balance": ("werk-privé-balans", "équilibre vie pro-vie privée"),
                    "team_climate": ("teamsfeer", "climat d'équipe"),
                    "discrimination": ("discriminatie", "discrimination"),
                    "leadership": ("leidinggevende", "hiérarchie"),
                    "commute": ("woon-werkverkeer", "trajet"),
                    "family": ("gezin", "famille"), "health": ("gezondheid", "santé"),
                    "other": ("andere", "autre"), UNKNOWN: ("onbekend", "inconnu")},
}


def written_header(field: str, lang: str) -> str:
    """The header for ``field`` as the ``lang`` template writes it."""
    return HEADERS.get(field, {}).get(lang) or field


def written_value(field: str, canonical: str, lang: str) -> str:
    """How a ``lang`` speaker writes ``canonical`` in ``field`` (an accepted spelling)."""
    if lang in ("nl", "fr"):
        pair = _WRITTEN.get(field, {}).get(canonical)
        if pair is not None:
            return pair[0 if lang == "nl" else 1]
    return canonical


def written_values(field: str, lang: str, canonical: tuple[str, ...] | list[str] | None = None
                   ) -> list[str]:
    """The accepted values of ``field`` as a ``lang`` speaker writes them."""
    values = canonical if canonical is not None else VALUE_FIELDS[field][0]
    return [written_value(field, v, lang) for v in values]
