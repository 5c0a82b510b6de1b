"""Background jobs: protection runs and warming after an import, off the request path.

One status table (``jobs``, :class:`hrpipeline.models.Job`) and three ways to run what it holds,
chosen by ``JOB_QUEUE``:

* ``"database"`` (default, no extra service): the table is the queue. Each web process starts a
  worker thread at its first request (``JOB_WORKER_THREAD``, on by default) that claims queued
  jobs one at a time; ``flask worker`` runs the same loop in the foreground. Claiming is one
  conditional ``UPDATE`` (``… WHERE id = :id AND status = 'queued'``), so any number of threads
  and processes can share the table, on SQLite and PostgreSQL. A job whose worker died (no
  heartbeat for ``JOB_STALE_SECONDS``) is queued again, at most ``JOB_MAX_ATTEMPTS`` times.
* ``"redis://host:6379/0"``: the job's id is also pushed onto an RQ queue (``JOB_QUEUE_NAME``),
  and ``flask worker`` runs an RQ worker; the table still carries status and progress, so every
  web process can show them.
* ``"eager"``: the job runs at once, in the caller (scripts, and tests that want it).

Web requests never wait for a protection run a job can do: a release cache built with a job
(:class:`hrpipeline.services.releases.BuildOnce` with ``job=``) asks :func:`gate` on a miss,
which queues the build and raises :class:`BeingPrepared` (a 503 page "being prepared" with the
progress, in the user's language) or, where this process still holds the version published
before, hands that back with a notice. Outside a request (command line, the worker itself)
the build runs where it is asked for, as before.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
from flask import current_app, has_app_context, has_request_context, request
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import DBAPIError

from hrpipeline.errors import ServiceUnavailable
from hrpipeline.extensions import db
from hrpipeline.models import Job

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
#: Seconds a browser waits before asking again while something is being prepared.
RETRY_SECONDS = 10
#: A failed job is tried again (by the next request that needs it) after this many seconds.
RETRY_FAILED_SECONDS = 300
#: Kinds whose run covers every earlier queued job of the same kind (warming reads the data
#: as they are when it runs, so earlier warmings queued meanwhile have nothing left to do).
SUPERSEDING = {"warm"}

_HANDLERS: dict[str, Callable[..., Any]] = {}
_current_job: contextvars.ContextVar[int | None] = contextvars.ContextVar("job", default=None)
#: Set by the command line (``flask demo``) to print each step as it is done.
_echo: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "job_echo", default=None)
_table = Job.__table__


def handler(kind: str):
    """Register the function that runs jobs of ``kind`` (keyword arguments from ``args``)."""

    def register(fn):
        _HANDLERS[kind] = fn
        return fn

    return register


@dataclass(frozen=True)
class JobInfo:
    id: int
    kind: str
    key: str
    status: str
    progress: float
    step: str | None
    error: str | None
    finished_at: dt.datetime | None

    @property
    def percent(self) -> int:
        return int(round(100 * max(0.0, min(1.0, self.progress or 0.0))))

    @property
    def active(self) -> bool:
        return self.status in (QUEUED, RUNNING)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "status": self.status,
                "progress": round(self.progress or 0.0, 3)}


class BeingPrepared(ServiceUnavailable):
    """What the request needs is being prepared by a job (503 with ``Retry-After``)."""

    code, title = "being_prepared", "Being prepared"

    def __init__(self, job: JobInfo):
        super().__init__("These figures are being prepared after a change of the data. "
                         "Try again in a moment.", job=job.to_json())
        self.job = job


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _info(row) -> JobInfo | None:
    if row is None:
        return None
    return JobInfo(row.id, row.kind, row.key, row.status, row.progress, row.step, row.error,
                   row.finished_at)


def backend() -> str:
    """``"eager"``, ``"database"`` or ``"redis"``."""
    queue = str(current_app.config.get("JOB_QUEUE") or "database")
    if queue == "eager":
        return "eager"
    if queue.startswith(("redis://", "rediss://", "unix://")):
        return "redis"
    return "database"


def deferring() -> bool:
    """Whether this call may hand a protection run to a job instead of running it.

    Only inside a web request, never inside a job, and not in eager mode (the job would run
    here anyway). ``JOB_DEFER`` overrides (the tests switch it off, and on where they run the
    queue by hand with :func:`work`).
    """
    if not has_request_context() or _current_job.get() is not None:
        return False
    forced = current_app.config.get("JOB_DEFER")
    if forced is not None:
        return bool(forced)
    return backend() != "eager"


# --- the table ---------------------------------------------------------------------------


def latest(key: str) -> JobInfo | None:
    """The newest job for ``key`` (any status)."""
    with db.engine.connect() as conn:
        row = conn.execute(select(_table).where(_table.c.key == key)
                           .order_by(_table.c.id.desc()).limit(1)).first()
    return _info(row)


def get(job_id: int) -> JobInfo | None:
    with db.engine.connect() as conn:
        return _info(conn.execute(select(_table).where(_table.c.id == job_id)).first())


def enqueue(kind: str, key: str | None = None, **args: Any) -> JobInfo:
    """Queue a job unless one for ``key`` is queued or running already; return it.

    The row is written on a connection of its own (the caller's transaction is left alone).
    In eager mode the job has run when this returns.
    """
    if kind not in _HANDLERS:
        raise ValueError(f"unknown job kind {kind!r}")
    key = (key or kind)[:200]
    with db.engine.begin() as conn:
        row = conn.execute(select(_table).where(
            _table.c.key == key, _table.c.status.in_((QUEUED, RUNNING)))
            .order_by(_table.c.id).limit(1)).first()
        if row is not None:
            return _info(row)
        job_id = conn.execute(insert(_table).values(
            kind=kind, key=key, args=json.dumps(args, default=str), status=QUEUED,
            progress=0.0, attempts=0, created_at=_now())).inserted_primary_key[0]
    mode = backend()
    if mode == "eager":
        execute(job_id)
    elif mode == "redis":
        _rq_queue().enqueue("hrpipeline.services.jobs.rq_execute", job_id,
                            job_timeout=int(current_app.config.get("JOB_TIMEOUT_SECONDS", 3600)))
    else:
        _wake.set()
        if has_request_context():
            ensure_worker_thread()
    return get(job_id)


def _set(job_id: int, **values: Any) -> None:
    try:
        with db.engine.begin() as conn:
            conn.execute(update(_table).where(_table.c.id == job_id).values(**values))
    except DBAPIError:  # progress is best effort; the final status is retried by the caller
        log.warning("could not update job %s", job_id, exc_info=True)


def progress(fraction: float, step: str | None = None) -> None:
    """Report the running job's progress (0..1) and current step; a no-op outside a job."""
    echo = _echo.get()
    if echo is not None and step:
        echo(step)
    job_id = _current_job.get()
    if job_id is None:
        return
    _set(job_id, progress=float(max(0.0, min(1.0, fraction))),
         step=(step or None) and step[:200], heartbeat_at=_now())


def _claim(conn, job_id: int, worker: str) -> bool:
    result = conn.execute(update(_table).where(
        _table.c.id == job_id, _table.c.status == QUEUED).values(
        status=RUNNING, started_at=_now(), heartbeat_at=_now(), worker=worker[:100],
        attempts=_table.c.attempts + 1))
    return result.rowcount == 1


def _requeue_stale(conn) -> None:
    """Jobs whose worker stopped sending heartbeats: queued again, or failed after the limit."""
    cutoff = _now() - dt.timedelta(seconds=float(current_app.config.get("JOB_STALE_SECONDS", 900)))
    limit = int(current_app.config.get("JOB_MAX_ATTEMPTS", 3))
    stale = (_table.c.status == RUNNING) & (_table.c.heartbeat_at < cutoff)
    conn.execute(update(_table).where(stale, _table.c.attempts >= limit).values(
        status=FAILED, finished_at=_now(), error="The worker stopped while running this job."))
    conn.execute(update(_table).where(stale).values(status=QUEUED))


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def claim_next() -> int | None:
    """Claim the oldest queued job for this thread; ``None`` when there is none."""
    with db.engine.connect() as conn:  # reads only while idle (no write lock on SQLite)
        running = conn.execute(select(func.count()).where(_table.c.status == RUNNING)).scalar()
        ids = conn.execute(select(_table.c.id).where(_table.c.status == QUEUED)
                           .order_by(_table.c.id).limit(5)).scalars().all()
    if running:
        with db.engine.begin() as conn:
            _requeue_stale(conn)
        with db.engine.connect() as conn:
            ids = conn.execute(select(_table.c.id).where(_table.c.status == QUEUED)
                               .order_by(_table.c.id).limit(5)).scalars().all()
    for job_id in ids:
        with db.engine.begin() as conn:
            if _claim(conn, job_id, _worker_name()):
                return job_id
    return None


def execute(job_id: int, claimed: bool = False) -> str | None:
    """Run one job in the current app context; returns its final status (``None`` when
    another worker had claimed it)."""
    if not claimed:
        with db.engine.begin() as conn:
            if not _claim(conn, job_id, _worker_name()):
                return None
    with db.engine.connect() as conn:
        row = conn.execute(select(_table).where(_table.c.id == job_id)).first()
    if row.kind in SUPERSEDING:  # this run covers the same work queued before it
        with db.engine.begin() as conn:
            conn.execute(update(_table).where(
                _table.c.kind == row.kind, _table.c.status == QUEUED, _table.c.id < job_id)
                .values(status=DONE, progress=1.0, finished_at=_now(),
                        step=f"covered by job {job_id}"))
    token = _current_job.set(job_id)
    started = time.perf_counter()
    try:
        _HANDLERS[row.kind](**json.loads(row.args or "{}"))
    except Exception as exc:  # noqa: BLE001 - recorded on the job, logged for administrators
        db.session.rollback()
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        current_app.logger.error("job %s (%s) failed: %s", job_id, row.kind, message,
                                 exc_info=not isinstance(exc, ServiceUnavailable))
        _set(job_id, status=FAILED, error=str(message)[:2000], finished_at=_now())
        return FAILED
    finally:
        _current_job.reset(token)
    elapsed = time.perf_counter() - started
    _set(job_id, status=DONE, progress=1.0, finished_at=_now(), heartbeat_at=_now(),
         step=f"done in {elapsed:.1f} s")
    with db.engine.begin() as conn:  # the same work queued meanwhile is done too
        conn.execute(update(_table).where(_table.c.key == row.key, _table.c.status == QUEUED)
                     .values(status=DONE, progress=1.0, finished_at=_now()))
    return DONE


def work(max_jobs: int | None = None) -> int:
    """Run queued jobs until none is left (or ``max_jobs``); return how many ran."""
    ran = 0
    while max_jobs is None or ran < max_jobs:
        job_id = claim_next()
        if job_id is None:
            break
        execute(job_id, claimed=True)
        ran += 1
    return ran


def counts() -> dict[str, int]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(_table.c.status, func.count()).group_by(_table.c.status))
        return {status: n for status, n in rows}


# --- the embedded worker thread -----------------------------------------------------------

_wake = threading.Event()
_thread_lock = threading.Lock()
_threads: dict[tuple[int, int], threading.Thread] = {}  # (pid, id(app)) -> thread


def _loop(app, stop: threading.Event | None = None) -> None:
    poll = float(app.config.get("JOB_POLL_SECONDS", 2.0))
    while stop is None or not stop.is_set():
        try:
            with app.app_context():
                ran = work(max_jobs=1)
                db.session.remove()
        except DBAPIError:  # database unreachable: wait and try again
            app.logger.warning("job worker: database unavailable", exc_info=True)
            ran = 0
        except Exception:  # noqa: BLE001 - the thread must survive anything
            app.logger.exception("job worker: unexpected error")
            ran = 0
        if not ran:
            _wake.wait(poll)
            _wake.clear()


def ensure_worker_thread() -> None:
    """Start this process's worker thread (once per process and app; again after a fork)."""
    app = current_app._get_current_object()
    if backend() != "database" or not app.config.get("JOB_WORKER_THREAD", True):
        return
    key = (os.getpid(), id(app))
    with _thread_lock:
        thread = _threads.get(key)
        if thread is not None and thread.is_alive():
            return
        thread = threading.Thread(target=_loop, args=(app,), name="hrpipeline-jobs",
                                  daemon=True)
        _threads[key] = thread
        thread.start()


def init_app(app) -> None:
    @app.before_request
    def _start_worker() -> None:  # at the first request: after gunicorn has forked
        ensure_worker_thread()

    # The previous version of a page's figures, shown while the new one is prepared, carries
    # a notice with the flashed messages of the base template.
    flashed = app.jinja_env.globals.get("get_flashed_messages")

    def get_flashed_messages(with_categories: bool = False, category_filter=()):
        messages = list(flashed(with_categories=with_categories,
                                category_filter=category_filter)) if flashed else []
        notice = notice_text()
        if notice:
            messages.append(("info", notice) if with_categories else notice)
        return messages

    app.jinja_env.globals["get_flashed_messages"] = get_flashed_messages


# --- the gate used by the release caches ---------------------------------------------------


def job_key(kind: str, cache_key: Any) -> str:
    """A stable key for the job that builds ``cache_key`` (a digest: the cache key holds the
    database address and the rounding key)."""
    digest = hashlib.sha256(repr(cache_key).encode("utf-8")).hexdigest()[:32]
    return f"{kind}:{digest}"


#: Endpoints whose pages may show the previously published version meanwhile (with a notice).
PREVIOUS_VERSION_ENDPOINTS = {
    "retention.page", "retention.chart", "web.funnel", "web.representation",
    "web.data_quality", "web.chart",
}


_PREVIOUS = "hrpipeline.job_previous"


def _may_show_previous() -> bool:
    return has_request_context() and request.endpoint in PREVIOUS_VERSION_ENDPOINTS


def gate(kind: str, args: dict[str, Any], cache_key: Any, previous: Callable[[], Any]) -> Any:
    """Called by a job-backed release cache on a miss. Returns ``None`` when the caller should
    build here (outside a request, or a worker has built this version already: then the
    build reads the stored result), or the previous published version to show meanwhile;
    otherwise queues the build and raises :class:`BeingPrepared` (or the job's failure).
    """
    if not deferring():
        return None
    key = job_key(kind, cache_key)
    info = latest(key)
    if info is not None and info.status == DONE:
        return None
    if info is None:  # the warming job queued after the latest import covers it
        from hrpipeline.services.releases import data_version

        cover = latest(f"warm:{data_version()}")
        if cover is not None and cover.active:
            info = cover
    if info is None or (info.status == FAILED and info.finished_at is not None and (
            _now() - info.finished_at).total_seconds() > RETRY_FAILED_SECONDS):
        info = enqueue(kind, key, **args)
        if info.status == DONE:
            return None
    old = previous() if _may_show_previous() else None
    if old is not None:
        request.environ[_PREVIOUS] = info  # per request (``g`` may outlive one in tests)
        return old
    if info.status == FAILED:
        raise ServiceUnavailable(info.error or "These figures could not be prepared.")
    raise BeingPrepared(info)


def record(kind: str, cache_key: Any, error: BaseException | None = None) -> None:
    """Record that ``cache_key`` was built (or failed) outside a web request: by a job, or at
    the command line. Web processes then build it from the stored result (or show why not)."""
    if _current_job.get() is None and _echo.get() is None:
        return  # built in a request or an ordinary command: nothing to tell
    key = job_key(kind, cache_key)
    current = _current_job.get()
    if current is not None:
        running = get(current)
        if running is not None and running.key == key:
            return  # :func:`execute` records this job's own outcome
    message = None
    if error is not None:
        message = str(getattr(error, "message", None) or error or type(error).__name__)[:2000]
    try:
        with db.engine.begin() as conn:
            conn.execute(insert(_table).values(
                kind=kind, key=key, args="{}", status=FAILED if error is not None else DONE,
                progress=1.0, error=message, attempts=1, created_at=_now(),
                finished_at=_now(), worker=_worker_name()[:100]))
    except DBAPIError:
        log.warning("could not record job outcome for %s", key, exc_info=True)


def notice_text() -> str | None:
    """The notice of a page that shows the previous version (``None`` otherwise)."""
    from flask_babel import gettext as _

    info = request.environ.get(_PREVIOUS) if has_request_context() else None
    if info is None:
        return None
    if info.status == FAILED:
        return _("The figures after the latest upload could not be prepared; this page shows "
                 "the version published before it.")
    return _("The figures after the latest upload are being prepared (%(percent)s %%). "
             "Meanwhile this page shows the version published before it; reload the page "
             "in a moment.", percent=info.percent)


# --- Redis + RQ ----------------------------------------------------------------------------


def _rq_queue():
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(current_app.config["JOB_QUEUE"])
    return Queue(current_app.config.get("JOB_QUEUE_NAME", "hrpipeline"), connection=connection)


def rq_execute(job_id: int) -> str | None:
    """The RQ entry point: run the job in the worker's app (``flask worker`` pushes one)."""
    if has_app_context():
        return execute(job_id)
    from hrpipeline import create_app

    with create_app().app_context():
        return execute(job_id)


def run_rq_worker(burst: bool = False) -> None:
    from rq import SimpleWorker

    queue = _rq_queue()
    # SimpleWorker runs jobs in this process, inside the app context pushed by the caller.
    SimpleWorker([queue], connection=queue.connection).work(burst=burst)


# --- the jobs ------------------------------------------------------------------------------


@handler("warm")
def warm_all(reports: bool = True) -> None:
    """After an import: every funnel zone-year release, each year's all-zone pool, the
    retention release and (``reports``) the retention reports the pages and briefings read,
    with progress. The reports live in the process's memory only: a command (``flask demo``)
    leaves them out."""
    from hrpipeline.errors import DomainError, NotFound
    from hrpipeline.services import funnel_data, releases

    years = funnel_data.years_with_data()
    pairs = [(zone, year) for year in years for zone in funnel_data.zones_with_data(year)]
    total = len(pairs) + len(years) + 2
    done = 0
    for zone, year in pairs:
        try:
            release = releases.zone_release(zone, year)
            progress(done / total, f"funnel release {zone.code} {year}: "
                                   f"{release.elapsed_ms / 1000:.2f} s")
        except Exception as exc:  # noqa: BLE001 - one zone's failure never stops the others
            current_app.logger.error("funnel release %s %s failed: %s", zone.code, year, exc)
            progress(done / total, f"funnel release {zone.code} {year}: failed ({exc})")
        done += 1
    for year in years:
        started = time.perf_counter()
        try:
            releases.pool_release(year)
            progress(done / total, f"all-zone funnel release {year}: "
                                   f"{time.perf_counter() - started:.2f} s")
        except Exception as exc:  # noqa: BLE001
            current_app.logger.error("pool release %s failed: %s", year, exc)
            progress(done / total, f"all-zone funnel release {year}: failed ({exc})")
        done += 1
    started = time.perf_counter()
    progress(done / total, "retention release: protecting (the longest step) …")
    try:
        _warm_retention()
    except NotFound:
        progress(done / total, "retention release: no workforce data")
    except DomainError as exc:  # recorded for the pages (503 with the reason); go on
        progress(done / total, f"retention release: not published ({exc})")
    else:
        progress(done / total, f"retention release: {time.perf_counter() - started:.1f} s")
    done += 1
    if reports and current_app.config.get("JOB_WARM_BRIEFINGS", True):
        started = time.perf_counter()
        n = _warm_briefing_reports()
        progress(done / total, f"retention reports for briefings ({n}): "
                               f"{time.perf_counter() - started:.1f} s")
    progress(1.0, "done")


def _warm_retention() -> None:
    from hrpipeline.services import retention

    retention.get_release()


def _warm_briefing_reports() -> int:
    """The retention reports briefings and pages read (all zones, then each zone in its own
    language), as long as the report cache holds them."""
    from hrpipeline.errors import DomainError
    from hrpipeline.services import retention
    from hrpipeline.services.scope import ALL, OPERATOR

    try:
        data = retention.get_release().data
    except DomainError:
        return 0
    from hrpipeline.models import Zone

    zones = db.session.scalars(select(Zone).where(Zone.code.in_(
        sorted(data.reference_dates) or ["-"])).order_by(Zone.code)).all()
    size = int(getattr(retention, "_REPORT_CACHE_SIZE", 16))
    wanted = [(ALL, "en"), *((z.code, z.language or "nl") for z in zones)][:size]
    n = 0
    for code, lang in wanted:
        try:
            retention.retention_report(OPERATOR, code, lang=lang)
            n += 1
        except DomainError as exc:  # one zone's report failing never stops the others
            current_app.logger.warning("retention report %s not warmed: %s", code, exc)
    return n


@handler("retention_release")
def retention_release_job() -> None:
    progress(0.0, "retention release")
    _warm_retention()


@handler("pool_release")
def pool_release_job(year: int) -> None:
    from hrpipeline.services import funnel_data, releases

    zones = funnel_data.zones_with_data(int(year))
    for i, zone in enumerate(zones):
        releases.zone_release(zone, int(year))
        progress(i / (len(zones) + 1), f"funnel release {zone.code} {year}")
    releases.pool_release(int(year))


def after_data_change() -> JobInfo | None:
    """Queue the warming of every release after an import (called by the ingest store)."""
    from hrpipeline.services.releases import data_version

    try:
        return enqueue("warm", f"warm:{data_version()}")
    except Exception:  # noqa: BLE001 - the import is stored; warming is an optimisation
        current_app.logger.exception("could not queue the warming job")
        return None


def run_with_progress(kind: str, echo: Callable[[str], None], **args: Any) -> None:
    """Run a job's work here and now, printing each step (``flask demo``)."""
    token = _echo.set(echo)
    try:
        _HANDLERS[kind](**args)
    finally:
        _echo.reset(token)


# --- command line --------------------------------------------------------------------------


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then stop.")
def worker_command(burst: bool) -> None:
    """Run background jobs (warming releases after imports) until stopped."""
    app = current_app._get_current_object()
    mode = backend()
    if mode == "eager":
        raise click.ClickException("JOB_QUEUE is 'eager': jobs run where they are queued.")
    click.echo(f"hrpipeline worker ({mode}); stop with Ctrl-C.")
    if mode == "redis":
        run_rq_worker(burst=burst)
        return
    if burst:
        click.echo(f"{work()} job(s) run.")
        return
    try:
        _loop(app)
    except KeyboardInterrupt:
        click.echo("stopped")
