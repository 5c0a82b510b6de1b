"""The start page's figures come from the same protected release and report as the funnel
page: the applications and appointments are the published counts of the default table's
first and last stage, and what needs attention is its RED and AMBER comparisons."""

from __future__ import annotations

from hrpipeline.services import home
from hrpipeline.services.funnel import funnel_report
from hrpipeline.services.releases import zone_release
from tests.web.conftest import funnel_data  # noqa: F401 (fixture)


def test_start_summary_is_the_default_tables_published_figures(app, make_user, zones,
                                                              funnel_data):  # noqa: F811
    user = make_user("diversity_officer", ["ANT"])
    summary = home.start_summary(user, "nl")
    assert summary.entry.zone == "ANT" and summary.entry.period == "year:2024"
    report = funnel_report(user, "ANT", "year:2024", lang="nl")
    release = zone_release(zones["ANT"], 2024)
    assert summary.applications == release.count(report.stages[0], zone="ANT")
    assert summary.appointments == release.count(report.stages[-1], zone="ANT")
    assert summary.applications % 5 == 0 and summary.applications > 0
    tiers = [c["tier"] for c in report.comparisons]
    assert (summary.red, summary.amber, summary.grey) == (
        tiers.count("RED"), tiers.count("AMBER"), tiers.count("GREY"))
    assert summary.attention and [c["tier"] for c in summary.attention][0] == "RED"
    planted = [c for c in summary.attention if (c["stage"], c["group"]) ==
               ("cognitive_test", "non_eu_background")]
    assert planted and planted[0]["tier"] == "RED"


def test_no_table_no_summary(app, make_user, zones):
    assert home.start_summary(make_user("diversity_officer", ["ANT"]), "en") is None
