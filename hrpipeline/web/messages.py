"""User-facing texts keyed by machine codes (tiers, reasons, ingest problems, advice).

Services and analyses return codes plus parameters and an English sentence; the web layer
translates by code so that a Dutch- or French-speaking reader gets the sentence in their
language, and falls back to the English sentence for a code it does not know yet.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hrpipeline import formatting
from hrpipeline.analysis.impact import TEST_NAMES
from hrpipeline.formatting import p_value

KIND_LABELS = {
    "funnel": _l("Recruitment funnel (one row per candidate and stage)"),
    "workforce": _l("Workforce and exits (one row per officer)"),
    "counts": _l("Aggregate counts table"),
}

STATUS_LABELS = {
    "stored": _l("stored"),
    "replaced": _l("replaced"),
    "withdrawn": _l("withdrawn"),
    "rejected": _l("rejected"),
}

VIEW_LABELS = {
    "decision": _l("Decision pass rate (passed / passed + failed)"),
    "retention": _l("Funnel retention (passed / passed + failed + withdrew)"),
}

TIER_LABELS = {
    "red": _l("Disproportionate drop-out"),
    "amber": _l("Watch"),
    "grey": _l("Too few to tell"),
    "green": _l("No disproportionate drop-out"),
}

_TEST_TEXTS = {
    "fisher": _l("Fisher's exact test"),
    "midp": _l("Fisher mid-p exact test"),
    "boschloo": _l("Boschloo's exact test"),
    "ztest": _l("two-proportion Z test"),
}
#: Test labels by machine key and by the analysis layer's English name (what reports carry).
TEST_LABELS = {**_TEST_TEXTS, **{TEST_NAMES[k]: v for k, v in _TEST_TEXTS.items()}}


def tier_reason(code: str | None, params: dict[str, Any] | None, fallback: str = "") -> str:
    """The plain-language reason of a tier, in the interface language.

    The service publishes only parameters that reveal no count (the minimum denominator, the
    0.8 threshold and the adjusted p as a band), so the sentences use only those.
    """
    p = params or {}
    n = p.get("min_denominator", 20)
    band = p.get("p_band")
    band_text = _(" (adjusted p %(band)s)", band=p_value(band, str(get_locale()))) if band else ""
    power_text = ""
    if p.get("power") is not None and p.get("more_campaigns_for_power") == 0:
        power_text = _(" At these numbers a true ratio of 0.8 would be detected %(power)s times "
                       "in 100.", power=p["power"])
    elif p.get("power") is not None and p.get("more_campaigns_for_power") is not None:
        power_text = _(
            " At these numbers a true ratio of 0.8 would be detected only %(power)s times in "
            "100; %(more)s more campaigns of this size would be needed to detect it 80 times "
            "in 100.", power=p["power"], more=p["more_campaigns_for_power"])
    elif p.get("power") is not None:
        power_text = _(" At these numbers a true ratio of 0.8 would be detected only %(power)s "
                       "times in 100.", power=p["power"])
    if p.get("power_half") is not None and p.get("more_campaigns_for_power_half"):
        power_text += _(
            " A ratio of 0.5 would be detected %(power)s times in 100; %(more)s more campaigns "
            "of this size would detect it 80 times in 100.", power=p["power_half"],
            more=p["more_campaigns_for_power_half"])
    elif p.get("power_half") is not None:
        power_text += _(" A ratio of 0.5 would be detected %(power)s times in 100.",
                        power=p["power_half"])
    texts = {
        "too_few_focal": lambda: _(
            "Too few to tell: fewer than %(n)s decisions in this group.", n=n) + power_text,
        "too_few_reference": lambda: _(
            "Too few to tell: fewer than %(n)s decisions in the reference group.", n=n)
        + power_text,
        "interval_reaches_below_four_fifths": lambda: _(
            "Too few to tell: the confidence interval of the impact ratio reaches below 0.8, so "
            "these numbers cannot show that there is no disproportionate drop-out.")
        + power_text,
        "strata_disagree": lambda: _(
            "Strata disagree: see each campaign/zone. The verdict is that of the comparison "
            "within campaigns or zones%(band)s, not of their total.", band=band_text),
        "no_reference_passers": lambda: _(
            "Too few to tell: nobody in the reference group passed, so there is no rate to "
            "compare with."),
        "below_four_fifths_significant_robust": lambda: _(
            "Disproportionate drop-out: the pass rate is below four-fifths of the reference "
            "group's, the difference is statistically significant%(band)s and it holds if one "
            "more candidate had passed.", band=band_text),
        "below_four_fifths_not_significant": lambda: _(
            "Watch: the pass rate is below four-fifths of the reference group's, but the gap "
            "could be chance at these numbers%(band)s.", band=band_text) + power_text,
        "below_four_fifths_shortfall_below_one": lambda: _(
            "Watch: the pass rate is below four-fifths of the reference group's, but the gap "
            "amounts to less than one person.") + power_text,
        "below_four_fifths_not_robust": lambda: _(
            "Watch: the pass rate is below four-fifths of the reference group's, but one more "
            "candidate passing would bring it to four-fifths.") + power_text,
        "significant_above_four_fifths": lambda: _(
            "Watch: the pass rate is significantly lower%(band)s, though not below four-fifths "
            "of the reference group's.", band=band_text),
        "focal_rate_not_lower": lambda: _(
            "No disproportionate drop-out: this group passes at least as often as the "
            "reference group, and the confidence interval of the impact ratio excludes ratios "
            "below 0.8."),
        "no_evidence": lambda: _(
            "No disproportionate drop-out at this stage%(band)s: the confidence interval of the "
            "impact ratio excludes ratios below 0.8.", band=band_text),
    }
    make = texts.get(code or "")
    return make() if make else fallback


#: Ingest problem codes (``hrpipeline.ingest``) → a translated sentence naming the column, the
#: value and what is accepted. Placeholders: ``column`` (the file's header, else the column as
#: the reader's template names it), ``value``, ``accepted`` (the accepted values or column
#: names, written in the reader's language), ``header`` (the column as the reader's template
#: names it) and the problem's own ``params``.
PROBLEM_TEXTS = {
    "missing_column": _l("The required column “%(header)s” is missing. Accepted column names: "
                         "%(accepted)s."),
    "wrong_kind": _l("This file looks like a different kind of extract: %(looks_like)s. "
                     "Choose that kind in the form and upload the file again."),
    "ambiguous_column": _l("Two columns mean the same thing (“%(column)s” and another); keep "
                           "only one."),
    "duplicate_column": _l("The column “%(column)s” appears twice."),
    "delimiter_not_recognised": _l("The columns could not be told apart: separate them with "
                                   "a semicolon or a comma."),
    "no_data_rows": _l("The file has a header but no data rows."),
    "formula_injection": _l("The cell in column “%(column)s” starts like a spreadsheet "
                            "formula (=, +, -, @); remove the formula and keep the value."),
    "missing_value": _l("The column “%(column)s” is empty in this row; a value is required."),
    "missing_value_accepted": _l("The column “%(column)s” is empty in this row. Accepted "
                                 "values: %(accepted)s."),
    "value_too_long": _l("The value in column “%(column)s” is longer than %(max)s "
                         "characters."),
    "unknown_stage": _l("“%(value)s” is not one of the zone's selection stages (column "
                        "“%(column)s”). Accepted stages: %(accepted)s."),
    "invalid_value": _l("“%(value)s” is not an accepted value in column “%(column)s”. "
                        "Accepted values: %(accepted)s."),
    "invalid_date": _l("“%(value)s” in column “%(column)s” is not a valid date. Write e.g. "
                       "2024-03-31 or 31/03/2024 (day before month)."),
    "future_date": _l("The date “%(value)s” in column “%(column)s” lies after %(limit)s, in "
                      "the future."),
    "invalid_count": _l("“%(value)s” in column “%(column)s” is not a count. Write a whole "
                        "number of zero or more (1234, 1.234 or 1 234), - for zero, or **, <5 "
                        "or x for a number hidden at source."),
    "invalid_year": _l("“%(value)s” in column “%(column)s” is not a year (write e.g. 2024)."),
    "campaign_year_missing": _l("The year of campaign “%(value)s” is unknown: add a year "
                                "column, put the year in the campaign name (e.g. INP 2024-1) "
                                "or fill in the stage dates."),
    "duplicate_row": _l("This row repeats row %(first_row)s exactly; remove the copy."),
    "duplicate_stage": _l("This row is for the same candidate, campaign and stage as row "
                          "%(first_row)s, with different values; keep one row."),
    "duplicate_officer": _l("This row is for the same officer and hire date as row "
                            "%(first_row)s, with different values; keep one row."),
    "duplicate_cell": _l("This row is for the same cell as row %(first_row)s, with different "
                         "values; keep one row."),
    "exit_before_hire": _l("The exit date “%(value)s” lies before the hire date; an exit is on "
                           "or after the hire date."),
    "exit_without_date": _l("This row has an exit type or reason but no exit date. Add the "
                            "exit date, or clear the exit type and reason of an officer still "
                            "in service."),
    "impossible_sequence": _l("The candidate has an outcome at stage “%(value)s”, but failed "
                              "or withdrew at an earlier stage (row %(first_row)s)."),
    "pii_column": _l("The column “%(column)s” looks like personal data (name, national "
                     "number, e-mail, address); remove it: only pseudonymous references may "
                     "be uploaded."),
    "pii_value": _l("This value in column “%(column)s” looks like personal data (national "
                    "number, e-mail, phone, bank account, address); remove it: only "
                    "pseudonymous references may be uploaded."),
    "corrupt_xlsx": _l("The Excel file is damaged or not really an Excel file."),
    "xlsx_too_large": _l("The Excel file unpacks to far more than its size; save it as CSV."),
    "empty_file": _l("The file is empty."),
    "malformed_csv": _l("The CSV file is malformed (e.g. an unclosed quote)."),
    "mixed_encoding": _l("The file mixes text encodings; save it again as CSV (UTF-8)."),
    "unreadable": _l("The file cannot be read: save it as CSV (UTF-8) or Excel (.xlsx)."),
    "unsupported_format": _l("Only CSV and Excel (.xlsx) files are accepted."),
    "sheet_not_found": _l("This sheet does not exist in the workbook."),
    "file_too_large": _l("The file is larger than the upload limit; split it, e.g. one file "
                         "per campaign."),
    "too_many_rows": _l("%(file)s: more than %(limit)s data rows; split the file, e.g. one "
                        "file per campaign or year."),
    "too_many_columns": _l("%(file)s: %(found)s columns; at most %(limit)s columns are "
                           "accepted. Remove the columns that are not needed, and any empty "
                           "columns right of the data."),
    "nul_character": _l("%(file)s: this row contains a NUL character (a zero byte), which "
                        "would cut the cell short; export the file again or remove it."),
    "forbidden_character": _l("The value in column “%(column)s” contains the invisible "
                              "character %(char)s (a control character, line break or "
                              "text-direction mark); retype the value."),
    "count_out_of_range": _l("“%(value)s” in column “%(column)s” is outside the allowed range, "
                             "%(min)s to %(max)s."),
    "date_too_early": _l("The date “%(value)s” in column “%(column)s” is before %(min)s, the "
                         "earliest date accepted here."),
    "too_many_campaigns": _l("The file holds %(found)s campaigns; at most %(limit)s are "
                             "accepted in one upload. Upload one file per campaign or year, "
                             "and check the campaign column."),
    "too_many_campaigns_zone": _l("Zone %(zone)s would hold %(found)s campaigns; a zone may "
                                  "hold at most %(limit)s. Check the campaign column, or "
                                  "replace earlier uploads of the same campaigns."),
    "unknown_kind": _l("Unknown kind of extract."),
    "negative_count": _l("A count cannot be negative."),
    "not_a_count": _l("A whole number of zero or more is expected here."),
    "unknown_group": _l("This background group is not one of the allowed values."),
    "unknown_zone": _l("This zone code is not known."),
    "withdraw_reason": _l("Give the reason for the withdrawal (%(min)s to %(max)s "
                          "characters)."),
}

#: Which kind a ``wrong_kind`` file looks like, in a sentence.
LOOKS_LIKE = {
    "funnel": _l("a recruitment funnel (one row per candidate and stage)"),
    "workforce": _l("a workforce extract (one row per officer)"),
    "counts": _l("an aggregate counts table"),
}


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _param(value: Any, lang: str) -> Any:
    """A problem's parameter as the reader writes it: 30.000 / 30 000, 31/12/2024."""
    if isinstance(value, int) and not isinstance(value, bool):
        return formatting.count(value, lang)
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return formatting.date_short(dt.date.fromisoformat(value), lang)
        except ValueError:
            return value
    return value


def _lang() -> str:
    from flask_babel import get_locale

    locale = get_locale()
    return locale.language if locale is not None else "en"


def _accepted(problem: dict[str, Any], params: dict[str, Any], lang: str) -> str:
    from hrpipeline.ingest.columns import VALUE_FIELDS, written_header, written_values

    field = params.get("field")
    accepted = params.get("accepted") or []
    if problem.get("code") == "missing_column" and field:
        own = written_header(field, lang)
        return ", ".join(dict.fromkeys([own, *accepted]))
    if field in VALUE_FIELDS:
        return ", ".join(written_values(field, lang, accepted))
    return ", ".join(map(str, accepted))


def problem_message(problem: dict[str, Any]) -> str:
    """A translated sentence for one ingest problem, else its English message.

    It names the column (as in the file) and the value, and says what is accepted, in the
    reader's language; numbers in the reader's number format. If a parameter is missing the
    English message is shown.
    """
    from hrpipeline.ingest.columns import written_header

    code = problem.get("code") or ""
    params = dict(problem.get("params") or {})
    english = str(problem.get("message") or code)
    if code == "missing_value" and params.get("accepted"):
        code = "missing_value_accepted"
    text = PROBLEM_TEXTS.get(code)
    if text is None:
        return english
    text = str(text)
    if "%(" not in text:
        return text
    lang = _lang()
    field = params.get("field")
    header = written_header(field, lang) if field else ""
    params = {k: _param(v, lang) for k, v in params.items()}
    params.update(header=header, column=problem.get("column") or header or "",
                  value="" if problem.get("value") is None else problem.get("value"),
                  accepted=_accepted(problem, problem.get("params") or {}, lang))
    if code == "wrong_kind":
        params["looks_like"] = str(LOOKS_LIKE.get(params.get("looks_like"), ""))
    try:
        return text % params
    except (KeyError, TypeError, ValueError):
        return english


def problem_rows(problems: list[Any]) -> list[dict[str, Any]]:
    """The problems as table rows, each with its sentence (``text``) in the reader's language."""
    rows = []
    for p in problems:
        row = {k: (p.get(k) if isinstance(p, dict) else getattr(p, k, None))
               for k in ("row", "column", "value", "expected", "code", "message", "params")}
        row["text"] = problem_message(row)
        rows.append(row)
    return rows


#: Service errors on NL/FR pages: ``DomainError.key`` → the sentence, filled from its params.
ERROR_TEXTS = {
    "already_stored": _l("This file is already stored: it was uploaded for this zone on "
                         "%(uploaded_at)s by %(uploaded_by)s (upload %(upload_id)s, "
                         "%(filename)s). Nothing was stored again."),
    "already_withdrawn": _l("This file was uploaded for this zone on %(uploaded_at)s by "
                            "%(uploaded_by)s (upload %(upload_id)s, %(filename)s) and withdrawn "
                            "since. To use it again, restore it in the upload history."),
    "already_replaced": _l("This file was uploaded for this zone on %(uploaded_at)s by "
                           "%(uploaded_by)s (upload %(upload_id)s, %(filename)s) and replaced "
                           "since by a newer extract. To go back to it, withdraw the newer "
                           "upload in the upload history."),
    "overlap_campaigns": _l("Upload %(upload_id)s (%(filename)s, %(date)s, %(rows)s rows) "
                            "already holds campaign(s) %(campaigns)s for this zone."),
    "overlap_workforce": _l("Upload %(upload_id)s (%(filename)s, %(date)s, %(rows)s rows) "
                            "already holds the workforce of this zone."),
    "overlap_counts_headcount": _l("Upload %(upload_id)s (%(filename)s, %(date)s) already "
                                   "holds headcounts for these dates in this zone."),
    "preview_outdated": _l("The stored extracts of this zone changed since the file was "
                           "checked (another upload, withdrawal or restore). Check the file "
                           "again before storing it."),
    "import_in_progress": _l("An import of yours is still running. Wait until it has "
                             "finished, then upload again."),
    "zone_busy": _l("Another upload is being stored right now. Upload the file again in a "
                    "minute."),
    "zone_not_found": _l("No zone %(zone)s among the zones you can see."),
    "pool_forbidden": _l("Pooled figures over all zones are only for users who see every "
                         "zone."),
    "upload_not_found": _l("No upload %(id)s among the uploads of your zones."),
    "not_stored": _l("Upload %(id)s is not stored, so it cannot be withdrawn."),
    "not_withdrawn": _l("Upload %(id)s is stored; only a withdrawn or replaced upload can be "
                        "restored."),
    "nothing_archived": _l("The rows of upload %(id)s were not kept (it was replaced before "
                           "withdrawals could be undone): upload the file again instead."),
    "restore_blocked": _l("Upload %(id)s (%(filename)s) now holds the same data for this "
                          "zone: withdraw it first, then restore this one."),
    "withdraw_reason": _l("Give the reason for the withdrawal (%(min)s to %(max)s "
                          "characters)."),
}


def error_text(err: Any) -> str:
    """A service error's message in the reader's language (by its ``key``), else English."""
    text = ERROR_TEXTS.get(getattr(err, "key", None) or "")
    if text is None:
        return err.message
    params = dict(getattr(err, "params", {}) or {})
    if params.get("uploaded_at"):
        params["uploaded_at"] = str(params["uploaded_at"]).replace("T", " ")
    if params.get("uploaded_by") is None:
        params["uploaded_by"] = _("the command line")
    lang = _lang()
    params = {k: _param(v, lang) if k not in ("id", "upload_id") else v
              for k, v in params.items()}
    try:
        return str(text) % params
    except (KeyError, TypeError, ValueError):
        return err.message


#: Data-quality advice codes from ``report.quality["advice"]``.
ADVICE_TEXTS = {
    "pool_year": _l("Many cells are hidden: the table for the whole year pools campaigns and "
                     "hides fewer cells."),
    "pool_zones": _l("Many cells are hidden: the all-zone table pools every zone and hides "
                     "fewer cells (ask a colleague who sees every zone)."),
    "reduce_unknown": _l("Many candidates have an unknown background: ask candidates to fill "
                         "in the voluntary origin question, so that groups can be compared."),
    "resolve_pending": _l("Many outcomes are still pending: the figures will change once the "
                          "campaign is finished."),
    "small_groups": _l("Some groups are too small to assess: pooling campaigns or zones gives "
                       "larger groups."),
}


def advice_text(code: str) -> str:
    text = ADVICE_TEXTS.get(code)
    return str(text) if text is not None else code


def percent(value: float) -> str:
    return formatting.rate(value, str(get_locale() or "en"))


#: The password rule's problems (codes of hrpipeline.services.users.PASSWORD_PROBLEMS).
PASSWORD_PROBLEM_LABELS = {
    "too_short": _l("The password needs at least 12 characters (a phrase of a few words is "
                    "easiest)."),
    "too_long": _l("The password may have at most 256 characters."),
    "common": _l("This password is among the most common ones (digits or signs added at the "
                 "end do not help); choose another."),
    "user_name": _l("The password must not contain the user name."),
    "repetitive": _l("The password repeats one or a few characters, or is a run such as "
                     "123456789012; choose another."),
}


def password_messages(codes: list[str]) -> list[str]:
    return [str(PASSWORD_PROBLEM_LABELS.get(code, code)) for code in codes]
