"""Concurrent uploads (issue 20, item 2) and the per-zone and per-user limits (items 1, 9).

Two near-identical files for the same campaign (or two workforce snapshots) sent at the same
moment must not both be stored: the overlap check and the insert are serialised per zone.
The race is made certain, not left to luck: both threads are held at a barrier right after
their overlap check. Without the zone lock both pass the check before either has committed
(both stored, the published counts doubled); with it the second thread cannot even start its
check until the first has committed, so the barrier is given up after a second and the second
thread finds the first upload.

Real threads, each with its own app context, session and database connection: on SQLite a
file database (the session's test database), on PostgreSQL with HRPIPELINE_TEST_DATABASE_URL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hrpipeline.errors import Conflict
from hrpipeline.extensions import db
from hrpipeline.ingest import store
from hrpipeline.ingest.problems import ExtractInvalid
from hrpipeline.ingest.store import ImportInProgress, import_extract
from hrpipeline.models import FunnelRecord, Upload, WorkforceRecord, Zone
from tests.ingest.helpers import GOOD_FUNNEL_ROWS, funnel_nl, race, xlsx


def _job(zone_id, kind, data, filename):
    def job():
        zone = db.session.get(Zone, zone_id)
        return import_extract(zone=zone, kind=kind, data=data, filename=filename).id
    return job


def test_two_near_identical_funnel_files_at_once_store_only_one(app, zones, monkeypatch):
    zone_id = zones["ANT"].id
    first = funnel_nl(GOOD_FUNNEL_ROWS)
    # Same campaign, one more candidate: different bytes, so the unique key does not help.
    second = funnel_nl(GOOD_FUNNEL_ROWS + [
        "K009;INP 2024-1;Sollicitatie;geslaagd;2024-02-01;EU;V"])
    outcomes = race(app, monkeypatch, [_job(zone_id, "funnel", first, "a.csv"),
                                        _job(zone_id, "funnel", second, "b.csv")])
    stored = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(stored) == 1 and len(refused) == 1, outcomes
    assert refused[0].extra["upload_id"] == stored[0]
    assert refused[0].extra["replace_required"] is True
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 1
    assert set(db.session.scalars(select(FunnelRecord.upload_id))) == {stored[0]}


def test_two_workforce_snapshots_at_once_store_only_one(app, zones, monkeypatch):
    zone_id = zones["GNT"].id
    one = xlsx([["officer", "origin", "hire date"], ["P1", "belgian", "2015-01-01"]])
    two = xlsx([["officer", "origin", "hire date"], ["P1", "belgian", "2015-01-01"],
                ["P2", "EU", "2016-01-01"]])
    outcomes = race(app, monkeypatch, [_job(zone_id, "workforce", one, "a.xlsx"),
                                        _job(zone_id, "workforce", two, "b.xlsx")])
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "int"], outcomes
    assert db.session.scalar(select(func.count()).select_from(Upload)) == 1
    assert len(set(db.session.scalars(select(WorkforceRecord.upload_id)))) == 1


def test_different_zones_do_not_wait_for_each_other(app, zones, monkeypatch):
    # The lock is per zone (on SQLite the second simply waits for the single writer).
    data = funnel_nl(GOOD_FUNNEL_ROWS)
    outcomes = race(app, monkeypatch, [_job(zones["ANT"].id, "funnel", data, "a.csv"),
                                        _job(zones["GNT"].id, "funnel", data, "a.csv")])
    assert all(isinstance(o, int) for o in outcomes), outcomes


# --- campaigns per zone (item 9) ---------------------------------------------------------------
def _campaigns(*labels: str) -> bytes:
    return funnel_nl([f"K{i};{label};Sollicitatie;geslaagd;2024-02-01;EU;M"
                      for i, label in enumerate(labels)], encoding="utf-8")


def test_a_zone_holds_at_most_max_campaigns(zones, db_counts, monkeypatch):
    monkeypatch.setattr(store, "MAX_CAMPAIGNS_PER_ZONE", 3)
    zone = zones["ANT"]
    import_extract(zone=zone, kind="funnel", data=_campaigns("INP 2024-1", "INP 2024-2"),
                   filename="a.csv")
    before = db_counts()
    with pytest.raises(ExtractInvalid) as info:
        import_extract(zone=zone, kind="funnel", data=_campaigns("INP 2024-3", "INP 2024-4"),
                       filename="b.csv")
    problem = info.value.problems[0]
    assert problem.code == "too_many_campaigns_zone"
    assert problem.params == {"zone": "ANT", "found": 4, "limit": 3, "stored": 2, "new": 2}
    assert db_counts() == before
    # Replacing stored campaigns does not count them twice; another zone has its own limit.
    import_extract(zone=zone, kind="funnel", replace=True, filename="c.csv",
                   data=_campaigns("INP 2024-1", "INP 2024-2", "INP 2024-3"))
    import_extract(zone=zones["GNT"], kind="funnel", filename="d.csv",
                   data=_campaigns("INP 2024-3", "INP 2024-4", "INP 2024-5"))


# --- one import at a time per user (item 1) ----------------------------------------------------
def test_a_user_runs_one_import_at_a_time(zones, make_user, db_counts):
    user = make_user("hr_manager", ["ANT"])
    other = make_user("hr_manager", ["ANT"])
    before = db_counts()
    with store._import_slot(user):  # an import of this user is running
        with pytest.raises(ImportInProgress) as info:
            import_extract(zone=zones["ANT"], kind="funnel", data=funnel_nl(GOOD_FUNNEL_ROWS),
                           filename="a.csv", user=user)
        assert info.value.status == 429
        assert db_counts() == before
        # Another user is not held up.
        import_extract(zone=zones["ANT"], kind="funnel", data=funnel_nl(GOOD_FUNNEL_ROWS),
                       filename="a.csv", user=other)
    # The slot is given back, after a refusal too.
    with pytest.raises(Conflict):
        import_extract(zone=zones["ANT"], kind="funnel", data=funnel_nl(GOOD_FUNNEL_ROWS),
                       filename="a.csv", user=user)
    assert store._running == {}
