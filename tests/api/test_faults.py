"""Reliability of uploads through the API: a database failure midway, a process killed while
importing, and two uploads of the same file at once. In every case the extract is stored
whole or not at all."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from hrpipeline.extensions import db
from tests.api.conftest import bearer, funnel_csv

ROOT = Path(__file__).resolve().parents[2]


def _post(client, headers, data: bytes, zone: str = "CRL"):
    return client.post("/api/v1/uploads", headers=headers,
                       data={"zone": zone, "kind": "funnel",
                             "file": (io.BytesIO(data), "extract.csv")})


def _consistent(expected_uploads: int, expected_records: int) -> None:
    """Row counts as expected and no orphan records (every record belongs to an upload)."""
    db.session.rollback()
    with db.engine.connect() as conn:
        uploads = conn.execute(text("SELECT COUNT(*) FROM uploads")).scalar_one()
        records = conn.execute(text("SELECT COUNT(*) FROM funnel_records")).scalar_one()
        orphans = conn.execute(text(
            "SELECT COUNT(*) FROM funnel_records f LEFT JOIN uploads u ON u.id = f.upload_id "
            "WHERE u.id IS NULL")).scalar_one()
        mismatched = conn.execute(text(
            "SELECT COUNT(*) FROM uploads u WHERE u.row_count <> "
            "(SELECT COUNT(*) FROM funnel_records f WHERE f.upload_id = u.id) "
            "AND u.status = 'stored'")).scalar_one()
        if conn.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    assert (uploads, records, orphans, mismatched) == (expected_uploads, expected_records, 0, 0)


def test_database_lost_midway_is_503_and_stores_nothing(client, zones, make_user, token_for,
                                                        monkeypatch):
    from hrpipeline.ingest import store

    headers = bearer(token_for(make_user("hr_manager", ["CRL"])))
    monkeypatch.setattr(store, "CHUNK_ROWS", 50)
    original = store.write_chunk
    calls = {"n": 0}

    def flaky(connection, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # two chunks are already written in this transaction
            raise OperationalError("INSERT INTO funnel_records ...", {},
                                   Exception("server closed the connection unexpectedly"))
        return original(connection, *args, **kwargs)

    monkeypatch.setattr(store, "write_chunk", flaky)
    data = funnel_csv(100)  # 200 records → 4 chunks
    response = _post(client, headers, data)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "60"
    assert "Nothing was stored" in response.get_json()["detail"]
    assert calls["n"] == 3
    _consistent(0, 0)
    monkeypatch.setattr(store, "write_chunk", original)
    again = _post(client, headers, data)  # the same file is not a "duplicate" of nothing
    assert again.status_code == 201, again.get_data(as_text=True)
    _consistent(1, 200)


_KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    from hrpipeline import create_app
    from tests.conftest import app_test_config

    url, path = sys.argv[1], sys.argv[2]
    app = create_app(app_test_config(url))
    with app.app_context():
        from hrpipeline.extensions import db
        from hrpipeline.ingest import store
        from hrpipeline.models import Zone

        store.CHUNK_ROWS = 2000
        original = store.write_chunk

        def announced(*args, **kwargs):
            original(*args, **kwargs)
            print("CHUNK", flush=True)
            time.sleep(0.3)  # widen the window in which the parent kills us

        store.write_chunk = announced
        zone = db.session.query(Zone).filter_by(code="CRL").one()
        with open(path, "rb") as handle:
            store.import_extract(zone=zone, kind="funnel", data=handle.read(),
                                 filename="big.csv")
        print("DONE", flush=True)
""")


def test_process_killed_during_import_leaves_no_trace(client, zones, make_user, token_for,
                                                      database_url, tmp_path):
    n_candidates = 25_000  # 50 000 records, 25 chunks
    data = funnel_csv(n_candidates, seed=7)
    extract = tmp_path / "big.csv"
    extract.write_bytes(data)
    script = tmp_path / "import_then_die.py"
    script.write_text(_KILL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    db.session.remove()
    db.engine.dispose()  # no connection of ours holds a lock while the child writes
    child = subprocess.Popen([sys.executable, str(script), database_url, str(extract)],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        chunks = 0
        deadline = time.monotonic() + 60
        while chunks < 3 and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            chunks += line.strip() == "CHUNK"
        assert chunks == 3, child.stderr.read()
        child.send_signal(signal.SIGKILL)  # mid-insert: 6 000 of 50 000 records written
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    _consistent(0, 0)
    # The upload can be re-done, whole.
    headers = bearer(token_for(make_user("hr_manager", ["CRL"])))
    redo = _post(client, headers, data)
    assert redo.status_code == 201, redo.get_data(as_text=True)
    assert redo.get_json()["row_count"] == 2 * n_candidates
    _consistent(1, 2 * n_candidates)


def test_same_file_twice_at_once_one_wins_the_other_409(app, zones, make_user, token_for):
    # Two HR managers of the zone: one user's second import at once is a 429 (issue 20).
    secrets = [token_for(make_user("hr_manager", ["CRL"]), name) for name in ("a", "b")]
    data = funnel_csv(3000, seed=3)
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def upload(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        response = _post(client, bearer(secrets[i]), data)
        results[i] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    statuses = sorted(r[0] for r in results)
    assert statuses == [201, 409], results
    winner = next(r[1] for r in results if r[0] == 201)
    loser = next(r[1] for r in results if r[0] == 409)
    assert loser["type"].endswith("#conflict") and loser["upload_id"] == winner["id"]
    _consistent(1, 6000)
