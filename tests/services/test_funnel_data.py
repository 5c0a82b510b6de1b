"""``funnel_data.funnel_counts``: one statement returns record counts and counts-extract cells."""

import pandas as pd

from hrpipeline.extensions import db
from hrpipeline.models import CountRecord, Upload
from hrpipeline.services.funnel_data import COLUMNS, funnel_counts
from tests.services.test_funnel_service import _insert, _plan


def _insert_counted(zone, campaign: str, cells: dict[tuple[str, str], int | None],
                    stage: str = "interview") -> None:
    """A counts ("aggregate") extract: {(group, outcome): n, None = hidden at source}."""
    upload = Upload(zone_id=zone.id, kind="counts", filename=f"c{zone.code}{campaign}.csv",
                    sha256=f"c{zone.code}{campaign}".ljust(64, "0"), row_count=len(cells))
    db.session.add(upload)
    db.session.flush()
    for (group, outcome), n in cells.items():
        db.session.add(CountRecord(upload_id=upload.id, zone_id=zone.id, table_kind="funnel",
                                   campaign=campaign, campaign_year=int(campaign[:4]),
                                   stage=stage, outcome=outcome, migration_background=group,
                                   count=n, source_suppressed=n is None))
    db.session.commit()


def _as_dict(frame):
    return {(r.zone, r.campaign, r.stage, r.group, r.outcome): (r.n, r.source_suppressed)
            for r in frame.itertuples()}


def test_records_and_cells_of_one_zone_and_of_all(zones):
    _insert(zones["ANT"], "2024-1", _plan(), "a")
    _insert(zones["GNT"], "2024-1", _plan(eu_passed_interview=10), "b")
    _insert(zones["GNT"], "2023-1", _plan(), "d")  # another year: never included
    _insert_counted(zones["ANT"], "2024-2", {("eu_background", "passed"): 7,
                                             ("eu_background", "failed"): None})

    ant = funnel_counts(2024, zones=[zones["ANT"]])
    assert list(ant.columns) == COLUMNS
    got = _as_dict(ant)
    # from records: a GROUP BY of the rows the plan inserted
    assert got[("ANT", "2024-1", "cognitive_test", "belgian_origin", "failed")] == (150, False)
    assert got[("ANT", "2024-1", "interview", "unknown", "withdrew")] == (1, False)
    # from the counts extract: the cell, and the cell hidden at source (NA, never 0)
    assert got[("ANT", "2024-2", "interview", "eu_background", "passed")] == (7, False)
    hidden = got[("ANT", "2024-2", "interview", "eu_background", "failed")]
    assert hidden[0] is pd.NA and hidden[1] is True
    assert set(ant["zone"]) == {"ANT"}
    assert ant["n"].dtype == "Int64" and ant["source_suppressed"].dtype == bool
    expected_rows = sum(1 for n in _plan().values() if n) + 2
    assert len(ant) == expected_rows

    everyone = funnel_counts(2024)
    assert set(everyone["zone"]) == {"ANT", "GNT"}
    assert set(everyone["campaign"]) == {"2024-1", "2024-2"}
    both = _as_dict(everyone)
    assert {k: v for k, v in both.items() if k[0] == "ANT"}.keys() == got.keys()
    assert both[("GNT", "2024-1", "interview", "eu_background", "passed")] == (10, False)
    assert int(everyone["n"].sum()) == int(ant["n"].sum()) + sum(_plan(10).values())


def test_no_zones_or_no_data_is_an_empty_frame_with_the_columns(zones):
    assert list(funnel_counts(2024, zones=[]).columns) == COLUMNS
    empty = funnel_counts(2031, zones=[zones["ANT"]])
    assert empty.empty and list(empty.columns) == COLUMNS
    assert funnel_counts(2031).empty
