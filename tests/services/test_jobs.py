"""Background jobs (``hrpipeline.services.jobs``): the database queue, its claims, failures and
stale workers, eager mode, the RQ path (against the local Redis when there is one), and the
gate that keeps protection runs out of web requests ("being prepared", previous version).

No test depends on time: the queue is run by hand with ``jobs.work()``; no worker thread runs
(``JOB_WORKER_THREAD`` is off in the test configuration).
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import insert, select, update

from hrpipeline.extensions import db
from hrpipeline.models import Job, Upload, WorkforceRecord
from hrpipeline.services import jobs
from tests.services.test_retention_service import REFERENCE_DATE, plant_workforce
from tests.web.conftest import as_user

CALLS: list[tuple[str, dict]] = []


@jobs.handler("test_record")
def _record_job(**args):
    CALLS.append(("test_record", args))
    jobs.progress(0.5, "half way")


@jobs.handler("test_fail")
def _failing_job():
    raise RuntimeError("the planted failure")


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    from hrpipeline.services import releases, retention

    releases.clear_cache()
    retention.clear_cache()
    yield
    releases.clear_cache()
    retention.clear_cache()


def _rows():
    db.session.rollback()
    return db.session.scalars(select(Job).order_by(Job.id)).all()


def test_enqueue_keeps_one_live_job_per_key_and_work_runs_it(app):
    first = jobs.enqueue("test_record", "k1", zone="ANT")
    again = jobs.enqueue("test_record", "k1", zone="GNT")
    other = jobs.enqueue("test_record", "k2")
    assert again.id == first.id and other.id != first.id
    assert first.status == jobs.QUEUED and CALLS == []
    assert jobs.work() == 2
    assert CALLS == [("test_record", {"zone": "ANT"}), ("test_record", {})]
    rows = _rows()
    assert [(r.status, r.progress, r.attempts) for r in rows] == [("done", 1.0, 1)] * 2
    assert rows[0].started_at is not None and rows[0].finished_at is not None
    # Done: the same key may be queued again (e.g. to rebuild).
    assert jobs.enqueue("test_record", "k1").id not in (first.id, other.id)


def test_a_failing_job_is_recorded_with_its_reason(app):
    job = jobs.enqueue("test_fail", "f")
    assert jobs.work() == 1
    info = jobs.get(job.id)
    assert info.status == jobs.FAILED and info.error == "the planted failure"
    assert jobs.counts() == {"failed": 1}


def test_a_job_is_claimed_by_one_worker_only(app):
    job = jobs.enqueue("test_record", "c")
    with db.engine.begin() as conn:
        assert jobs._claim(conn, job.id, "worker-a") is True
    with db.engine.begin() as conn:
        assert jobs._claim(conn, job.id, "worker-b") is False
    assert jobs.execute(job.id) is None  # claimed elsewhere: not run twice
    assert jobs.claim_next() is None
    assert CALLS == []


@pytest.mark.app_config(JOB_MAX_ATTEMPTS=2, JOB_STALE_SECONDS=60)
def test_a_job_whose_worker_died_is_queued_again_then_failed(app):
    job = jobs.enqueue("test_record", "s")
    long_ago = dt.datetime(2020, 1, 1)
    for attempt in (1, 2):
        claimed = jobs.claim_next()
        assert claimed == job.id, attempt
        # The worker dies: its heartbeat stops.
        db.session.execute(update(Job).where(Job.id == job.id).values(heartbeat_at=long_ago))
        db.session.commit()
    assert jobs.claim_next() is None  # two attempts used: failed, not queued a third time
    info = jobs.get(job.id)
    assert info.status == jobs.FAILED and "stopped" in info.error


def test_a_warming_run_covers_the_warmings_queued_before_it(app):
    from hrpipeline.services import jobs as j

    j._HANDLERS["test_warm"] = j._HANDLERS["test_record"]
    j.SUPERSEDING.add("test_warm")
    try:
        a = jobs.enqueue("test_warm", "w1")
        b = jobs.enqueue("test_warm", "w2")
        with db.engine.begin() as conn:
            assert jobs._claim(conn, b.id, "w")
        assert jobs.execute(b.id, claimed=True) == jobs.DONE
        assert jobs.get(a.id).status == jobs.DONE and len(CALLS) == 1
    finally:
        j.SUPERSEDING.discard("test_warm")
        del j._HANDLERS["test_warm"]


@pytest.mark.app_config(JOB_QUEUE="eager")
def test_eager_mode_runs_the_job_at_once(app):
    job = jobs.enqueue("test_record", "e", n=1)
    assert job.status == jobs.DONE and CALLS == [("test_record", {"n": 1})]


def test_progress_is_printed_by_run_with_progress(app):
    lines: list[str] = []
    jobs.run_with_progress("test_record", lines.append, n=2)
    assert lines == ["half way"] and CALLS == [("test_record", {"n": 2})]


def test_worker_command_runs_the_queue(app, runner):
    jobs.enqueue("test_record", "cli")
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert "1 job(s) run" in result.output and len(CALLS) == 1


def test_an_import_queues_the_warming_of_its_releases(app, zones):
    import numpy as np
    import pandas as pd

    from hrpipeline.ingest.store import store_frame
    from tests.services.test_retention_service import _officers

    rows = _officers(np.random.default_rng(1), "ANT", "belgian_origin", 30, (2010, 2024),
                     0.3, 0.3)
    frame = pd.DataFrame(rows).drop(columns=["zone"], errors="ignore")
    store_frame(zone=zones["ANT"], kind="workforce", frame=frame, filename="wf.csv",
                sha256="a" * 64, reference_date=REFERENCE_DATE)
    queued = [(r.kind, r.status) for r in _rows()]
    assert queued == [("warm", "queued")]


def _redis_url() -> str | None:
    try:
        import redis
        import rq  # noqa: F401
    except ImportError:
        return None
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001 - no Redis here: the test is skipped
        return None
    return url


REDIS = _redis_url()


@pytest.mark.skipif(REDIS is None, reason="no Redis on 127.0.0.1:6379 (or rq not installed)")
@pytest.mark.app_config(JOB_QUEUE=REDIS or "database",
                        JOB_QUEUE_NAME=f"hrpipeline-test-{uuid.uuid4().hex[:8]}")
def test_rq_path_runs_the_job_and_records_it_in_the_table(app):
    queue = jobs._rq_queue()
    try:
        job = jobs.enqueue("test_record", "rq", via="redis")
        assert job.status == jobs.QUEUED and queue.count == 1
        jobs.run_rq_worker(burst=True)  # SimpleWorker, in this process and app context
        assert jobs.get(job.id).status == jobs.DONE
        assert CALLS == [("test_record", {"via": "redis"})]
    finally:
        queue.empty()
        queue.delete(delete_jobs=True)


# --- the gate: no protection run inside a web request ---------------------------------------


def _second_workforce_upload(zones):
    """A further stored workforce upload (a new data version) for GNT."""
    upload = Upload(zone_id=zones["GNT"].id, kind="workforce", filename="wf2.csv",
                    sha256="b" * 64, status="stored", reference_date=REFERENCE_DATE,
                    row_count=1)
    db.session.add(upload)
    db.session.flush()
    db.session.execute(insert(WorkforceRecord), [{
        "upload_id": upload.id, "zone_id": zones["GNT"].id, "officer_ref": "GNT-new",
        "migration_background": "belgian_origin", "gender": "male", "rank": "inspector",
        "hire_date": dt.date(2020, 1, 6)}])
    db.session.commit()


@pytest.mark.app_config(JOB_DEFER=True)
def test_retention_page_is_prepared_by_a_job_then_shows_the_previous_version(
        app, client, zones, make_user):
    plant_workforce(zones, make_user)
    user = make_user("diversity_officer", ["ANT"], language="nl")
    as_user(client, user)
    first = client.get("/retention?zone=ANT")
    assert first.status_code == 503
    assert first.headers["Retry-After"] == "10" and first.headers["Refresh"] == "10"
    html = first.get_data(as_text=True)
    assert "<progress" in html and "worden voorbereid" in html  # Dutch, the user's language
    assert [(r.kind, r.status) for r in _rows()] == [("retention_release", "queued")]
    again = client.get("/retention?zone=ANT")  # asked again: the same job, not a second one
    assert again.status_code == 503 and len(_rows()) == 1

    assert jobs.work() == 1
    ready = client.get("/retention?zone=ANT")
    assert ready.status_code == 200
    assert 'id="turnover-definition"' in ready.get_data(as_text=True)

    _second_workforce_upload(zones)  # a new data version
    meanwhile = client.get("/retention?zone=ANT")
    assert meanwhile.status_code == 200  # the version published before, with a notice
    text = meanwhile.get_data(as_text=True)
    assert 'id="turnover-definition"' in text
    assert "Intussen toont deze pagina de versie die daarvoor gepubliceerd werd" in text
    csv = client.get("/retention.csv?zone=ANT")  # a download never carries an old version
    assert csv.status_code == 503
    assert jobs.work() == 1
    assert "worden voorbereid" not in client.get("/retention?zone=ANT").get_data(as_text=True)


@pytest.mark.app_config(JOB_DEFER=True)
def test_retention_api_answers_503_with_the_job_while_prepared(app, client, zones, make_user):
    from hrpipeline.services.tokens import issue_token

    plant_workforce(zones, make_user)
    token = issue_token(make_user("diversity_officer", ["ANT"]), "test")[1]
    response = client.get("/api/v1/retention?zone=ANT",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"].endswith("#being_prepared") and body["job"]["status"] == "queued"
    assert response.headers["Retry-After"] == "10"


@pytest.mark.app_config(JOB_DEFER=True)
def test_a_release_that_fails_in_its_job_answers_503_with_the_reason(app, client, zones,
                                                                      make_user, monkeypatch):
    from hrpipeline.errors import ServiceUnavailable
    from hrpipeline.services import retention

    plant_workforce(zones, make_user)
    as_user(client, make_user("diversity_officer", ["ANT", "GNT"]))

    def cannot(version, pol):
        raise ServiceUnavailable("The retention tables could not be protected (planted).")

    monkeypatch.setattr(retention, "_build_release", cannot)
    assert client.get("/retention?zone=ANT").status_code == 503
    assert jobs.work() == 1
    assert _rows()[-1].status == "failed"
    for zone in ("ANT", "GNT"):  # a clear 503 with the reason, never a 500, no rebuild here
        response = client.get(f"/retention?zone={zone}")
        assert response.status_code == 503
        assert "planted" in response.get_data(as_text=True)
    assert len(_rows()) == 1


@pytest.mark.app_config(JOB_DEFER=True)
def test_warming_after_an_import_covers_the_pages(app, client, zones, make_user):
    plant_workforce(zones, make_user)
    warm = jobs.after_data_change()
    as_user(client, make_user("diversity_officer", ["ANT"]))
    waiting = client.get("/retention?zone=ANT")
    assert waiting.status_code == 503  # the warming job's progress, no second job queued
    assert [r.kind for r in _rows()] == ["warm"]
    assert jobs.work() == 1 and jobs.get(warm.id).status == jobs.DONE
    assert client.get("/retention?zone=ANT").status_code == 200


def test_the_worker_loop_runs_queued_jobs_until_stopped(app):
    import threading

    job = jobs.enqueue("test_record", "loop", n=3)
    stop = threading.Event()
    thread = threading.Thread(target=jobs._loop, args=(app, stop), daemon=True)
    thread.start()
    try:
        for _ in range(600):  # a bound on the wait, not a timing assertion
            if jobs.get(job.id).status == jobs.DONE:
                break
            stop.wait(0.1)
    finally:
        stop.set()
        jobs._wake.set()
        thread.join(timeout=60)
    assert jobs.get(job.id).status == jobs.DONE and CALLS == [("test_record", {"n": 3})]
    assert not thread.is_alive()


@pytest.mark.app_config(JOB_WORKER_THREAD=True)
def test_one_worker_thread_per_process_is_started_at_the_first_request(app, client,
                                                                       monkeypatch):
    import threading

    started: list[object] = []
    release = threading.Event()

    def fake_loop(the_app, stop=None):
        started.append(the_app)
        release.wait(60)

    monkeypatch.setattr(jobs, "_loop", fake_loop)
    monkeypatch.setattr(jobs, "_threads", {})
    try:
        client.get("/login")
        client.get("/login")
        jobs.ensure_worker_thread()
        assert len(started) == 1 and started[0] is app
    finally:
        release.set()


@pytest.mark.app_config(JOB_QUEUE="eager", JOB_WORKER_THREAD=True)
def test_no_worker_thread_outside_the_database_queue(app, client, monkeypatch):
    monkeypatch.setattr(jobs, "_threads", {})
    client.get("/login")
    assert jobs._threads == {}
