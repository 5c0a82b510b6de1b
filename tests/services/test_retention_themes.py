"""The retention report's exit-comment themes: the checks that decide whether themes are shown,
and the response rate (issue 16 item 8). Uses the planted workforce of test_retention_service.

Reference: the themes analysis (tests/analysis/test_themes.py); the response rate is checked
by hand against the planted data (leavers in the window with a comment / leavers).
"""

from __future__ import annotations

import pandas as pd

from hrpipeline.analysis.themes import STATUSES
from hrpipeline.disclosure import is_suppressed
from tests.services.test_retention_service import workforce  # noqa: F401 - fixture


def test_themes_carry_their_checks_and_a_gated_response_rate(workforce, make_user):  # noqa: F811
    from hrpipeline.services import retention
    from hrpipeline.services.retention import retention_report

    report = retention_report(make_user("diversity_officer", ["ANT"]), "ANT")
    themes = report.themes
    assert themes["status"] in STATUSES
    assert themes["stability_threshold"] == 0.7 and themes["language_threshold"] == 0.5
    if themes["status"] != "ok":
        assert themes["rows"] == []  # the page then shows the exit reasons alone
    # Response rate by hand from the stored extract of the zone.
    wf = retention.load_workforce().frame
    wf = wf[wf["zone"] == "ANT"]
    window = wf["exit_date"].between(pd.Timestamp(retention.WINDOW_START),
                                     pd.Timestamp(retention.load_workforce().release_date))
    leavers = wf[window]
    commented = leavers["exit_comment"].fillna("").str.strip().str.len() > 0
    rate = themes["response_rate"]
    # Published, like every count: the rounded number of comments (a multiple of k, within k of
    # the truth) over the published leavers of the window (the turnover table's window row).
    published = next(r["leavers"] for r in report.turnover
                     if r["group"] == "all" and "average" in r["period"])
    assert not is_suppressed(rate) and published >= 20
    comments = rate * published  # rate has 2 decimals: within 0.005 * published of the count
    slack = 0.005 * published + 1e-9
    assert abs(comments - 5 * round(comments / 5)) <= slack
    assert abs(comments - int(commented.sum())) < 5 + slack
    as_json = report.to_dict()["themes"]
    assert as_json["status"] == themes["status"]
    assert set(as_json["response_rate"]) == {"value", "suppressed"}
