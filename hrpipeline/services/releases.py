"""The one door to protection: protected releases per (scope, data version), cached.

A funnel release is built once per zone, campaign year and data version by
:func:`hrpipeline.disclosure.funnel.protect_funnel` (counts → independent flows → cell-key
rounding to base k → every published count a sum of rounded flows). The all-zone pool of a
year is the sum of its zones' releases (so the pool, a zone and a campaign table are sums of
the same rounded flows, and can be compared or subtracted without learning anything new).

Every service that publishes a funnel number reads it here: reports, charts, CSV, API,
briefings and pilots. Nothing reads true counts to publish them.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from hrpipeline.disclosure.funnel import ChainMemory, PublishedFunnel, protect_funnel
from hrpipeline.disclosure.policy import Policy
from hrpipeline.disclosure.values import SUPPRESSED, _Suppressed, is_suppressed
from hrpipeline.errors import NotFound, ServiceUnavailable
from hrpipeline.extensions import db
from hrpipeline.models import CountRecord, ReleaseCache, Upload, Zone
from hrpipeline.services import funnel_data
from hrpipeline.services.publish import policy


class BuildOnce:
    """A small LRU cache of releases, each built by one thread at a time.

    Concurrent first requests for the same key wait for the one build instead of repeating it
    (after an upload several threads used to protect the same release at once). Used for the
    funnel releases here and for the retention release.
    """

    def __init__(self, size: int, job=None, family=None):
        self.size = size
        self._values: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Any, threading.Lock] = {}
        #: ``job(key)`` → ``(kind, args)`` of the background job that builds ``key``, or
        #: ``None`` to build it in the caller: a miss inside a web request is then handed to
        #: the job queue (``services.jobs.gate``) instead of built in the request.
        self.job = job
        #: ``family(key)`` → the key without its data version (finds the previous version).
        self.family = family
        self._born: dict[Any, int] = {}
        self._births = 0

    def peek(self, key: Any) -> Any:
        """The cached value of ``key``, or ``None`` (never builds)."""
        with self._lock:
            return self._values.get(key)

    def latest(self, family: Any) -> Any:
        """The most recently built value whose key is of ``family``, or ``None``."""
        if self.family is None:
            return None
        with self._lock:
            keys = [k for k in self._values if self.family(k) == family]
            return self._values[max(keys, key=self._born.__getitem__)] if keys else None

    def get(self, key: Any, build):
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        spec = self.job(key) if self.job is not None else None
        if spec is not None:
            from hrpipeline.services import jobs

            previous = jobs.gate(spec[0], spec[1], key, lambda: self.latest(
                self.family(key)) if self.family is not None else None)
            if previous is not None:
                return previous
        with self._lock:
            if key in self._values:
                return self._values[key]
            lock = self._building.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._values:  # built by another thread while this one waited
                    return self._values[key]
            if spec is None:
                value = build()
            else:  # tell the web processes that this version is built (or why it is not)
                from hrpipeline.services import jobs

                try:
                    value = build()
                except Exception as exc:
                    jobs.record(spec[0], key, exc)
                    raise
                jobs.record(spec[0], key)
            with self._lock:
                self._values[key] = value
                self._births += 1
                self._born[key] = self._births
                self._building.pop(key, None)
                while len(self._values) > self.size:
                    gone, _value = self._values.popitem(last=False)
                    self._born.pop(gone, None)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._born.clear()


def _funnel_job(key: tuple) -> tuple[str, dict] | None:
    """A zone-year release is built where it is asked for (≈ 10 ms); an all-zone pool (every
    zone's release) by a job when asked for inside a web request."""
    return ("pool_release", {"year": key[2]}) if key[1] == "pool" else None


def _funnel_family(key: tuple) -> tuple:
    version_at = 4 if key[1] == "zone" else 3
    return key[:version_at] + key[version_at + 1:]


def retention_job(key: tuple) -> tuple[str, dict]:
    """The joint retention release is always built by a job when asked for in a request."""
    return ("retention_release", {})


def retention_family(key: tuple) -> tuple:
    return (key[0], *key[2:])


#: Zone-year releases (and pools) kept per process. A national deployment has ~180 zones × 10
#: years: with room for only 32, every all-zone pool rebuilt the zone releases its
#: predecessor had evicted (bench/national.py). One zone-year release holds a few hundred
#: published cells.
RELEASE_CACHE_SIZE = 4096
_releases = BuildOnce(RELEASE_CACHE_SIZE, job=_funnel_job, family=_funnel_family)


def disclosure_key() -> bytes:
    """The deployment's rounding key (``DISCLOSURE_KEY``; see docs/disclosure-control.md)."""
    return str(current_app.config["DISCLOSURE_KEY"]).encode("utf-8")


def data_version(zone_id: int | None = None) -> str:
    """Changes whenever an extract (of this zone, or of any zone) is stored, replaced,
    withdrawn or restored (the last status change of any upload is part of it: withdrawing
    one upload and restoring another leaves the count and the newest id as they were)."""
    uploads = select(func.count(Upload.id), func.max(Upload.id), func.max(Upload.created_at)
                     ).where(Upload.status == "stored")
    changed = select(func.max(Upload.status_changed_at))
    counts = select(func.count(CountRecord.id))
    if zone_id is not None:
        uploads = uploads.where(Upload.zone_id == zone_id)
        changed = changed.where(Upload.zone_id == zone_id)
        counts = counts.where(CountRecord.zone_id == zone_id)
    return "|".join(str(v) for v in (*db.session.execute(uploads).one(),
                                       db.session.scalar(counts), db.session.scalar(changed)))


_ALL = None  # a summed dimension in a lookup key


@dataclass
class FunnelRelease:
    """The published funnel counts of one year (one zone, or every zone) and lookups on them.

    ``count(stage, group, outcome, zone=, campaign=)`` sums published cells (``None`` = all);
    a sum that includes a cell hidden at source is ``SUPPRESSED``.
    """

    year: int
    zones: list[str]
    published: PublishedFunnel
    stages: list[str]
    elapsed_ms: float = 0.0
    #: ``analyse_funnel`` results per (entry, reference, test): a pure function of the published
    #: counts, computed once per release instead of on every request.
    analyses: dict = field(default_factory=dict, repr=False, compare=False)
    _sums: dict | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def base(self) -> int:
        return self.published.base

    def _index(self) -> dict:
        if self._sums is None:
            sums: dict[tuple, Any] = defaultdict(int)
            c = self.published.cells
            for zone, campaign, stage, group, outcome, n in c[
                    ["zone", "campaign", "stage", "group", "outcome", "n"]].itertuples(
                    index=False, name=None):
                for z, cp in ((zone, campaign), (zone, _ALL), (_ALL, _ALL)):
                    for g in (group, _ALL):
                        for o in (outcome, _ALL):
                            key = (z, cp, stage, g, o)
                            if n is SUPPRESSED or sums[key] is SUPPRESSED:
                                sums[key] = SUPPRESSED
                            else:
                                sums[key] += int(n)
            self._sums = dict(sums)
        return self._sums

    def count(self, stage: str, group: str | None = None, outcome: str | None = None, *,
              zone: str | None = None, campaign: str | None = None) -> int | _Suppressed:
        """A published count (0 where the combination never occurs: a structural zero)."""
        if campaign is not None and zone is None:
            raise ValueError("a campaign is looked up within a zone")
        return self._index().get((zone, campaign, stage, group, outcome), 0)

    def value(self, level: tuple[str, ...], **key: Any) -> int | _Suppressed:
        """``count`` addressed by level and key, e.g. ``value(("zone", "stage"), zone=.., stage=..)``."""
        lev = set(level)
        return self.count(key["stage"], key.get("group") if "group" in lev else None,
                          key.get("outcome") if "outcome" in lev else None,
                          zone=key.get("zone") if "zone" in lev else None,
                          campaign=key.get("campaign") if "campaign" in lev else None)

    def counts_frame(self, zone: str | None = None, campaign: str | None = None
                     ) -> pd.DataFrame:
        """Published cells of one table (source-hidden cells left out), for the analysis."""
        c = self.published.cells
        if zone is not None:
            c = c[c["zone"] == zone]
        if campaign is not None:
            c = c[c["campaign"] == campaign]
        c = c[[n is not SUPPRESSED for n in c["n"]]]
        out = c[["zone", "campaign", "stage", "group", "outcome"]].copy()
        out["n"] = c["n"].astype("int64").to_numpy()
        return out

    def hidden_cells(self, zone: str | None = None, campaign: str | None = None) -> int:
        c = self.published.cells
        if zone is not None:
            c = c[c["zone"] == zone]
        if campaign is not None:
            c = c[c["campaign"] == campaign]
        return int(sum(n is SUPPRESSED for n in c["n"]))


def stage_order(zone_codes: list[str], present: set[str]) -> list[str]:
    """The zones' stage order, then any other stage present in the data (alphabetically)."""
    stages = funnel_data.zone_stages(sorted(zone_codes))
    return stages + sorted(present - set(stages))


def _policy_key(pol: Policy) -> str:
    return f"k={pol.k};den={pol.min_denominator}"


def _history(key: str, version: str, pol: Policy) -> list[list[ChainMemory]]:
    """What earlier versions of this release published (attacker knowledge), oldest first."""
    rows = db.session.scalars(select(ReleaseCache).where(
        ReleaseCache.release_key == key, ReleaseCache.data_version != version,
        ReleaseCache.policy == _policy_key(pol)).order_by(ReleaseCache.id)).all()
    return [[ChainMemory.from_json(c) for c in json.loads(r.payload)] for r in rows]


def _remember(key: str, version: str, pol: Policy, published: PublishedFunnel,
              elapsed_ms: float) -> None:
    """Record what this version publishes, once per data version (kept for good: it is what
    readers of this version may have kept)."""
    payload = json.dumps([m.to_json() for m in published.memory])
    last = db.session.scalars(select(ReleaseCache).where(
        ReleaseCache.release_key == key, ReleaseCache.policy == _policy_key(pol)
    ).order_by(ReleaseCache.id.desc()).limit(1)).first()
    if last is not None and (last.data_version == version or last.payload == payload):
        return  # this version, or one that published exactly the same, is recorded
    try:
        db.session.add(ReleaseCache(release_key=key, data_version=version,
                                    policy=_policy_key(pol), elapsed_ms=elapsed_ms,
                                    payload=payload))
        db.session.commit()
    except IntegrityError:  # another worker recorded the same version first
        db.session.rollback()


def zone_release(zone: Zone, year: int) -> FunnelRelease:
    """The protected funnel release of one zone and campaign year."""
    import time

    pol = policy()
    version = data_version(zone.id)

    def build() -> FunnelRelease:
        t0 = time.perf_counter()
        inner = funnel_data.funnel_counts(year, zones=[zone])
        if inner.empty:
            raise NotFound(f"No funnel data for {zone.code} in {year}.")
        stages = stage_order([zone.code], set(inner["stage"]))
        key = f"funnel-memory:{zone.code}:{year}"
        history = _history(key, version, pol)
        try:
            published = protect_funnel(inner, stages, pol.k, disclosure_key(), history=history)
        except Exception as exc:  # this zone-year publishes nothing; other zones go on
            current_app.logger.error("funnel release %s %s could not be protected: %s",
                                     zone.code, year, exc, exc_info=True)
            raise ServiceUnavailable(
                f"The funnel table of {zone.code} {year} could not be protected for "
                "publication, so nothing is shown. An administrator can find the cause in "
                "the log.") from exc
        _remember(key, version, pol, published, (time.perf_counter() - t0) * 1000)
        return FunnelRelease(year=year, zones=[zone.code], published=published,
                             stages=stages, elapsed_ms=(time.perf_counter() - t0) * 1000)

    return _releases.get((db.engine.url.render_as_string(), "zone", zone.code, year, version,
                    pol, disclosure_key()), build)


def pool_release(year: int) -> FunnelRelease:
    """Every zone's release of a year together: the all-zone pool is their sum.

    Stored in ``release_cache`` per data version once built (by the warming job), so that a
    web process that did not build it reads its published cells instead of protecting every
    zone-year release of the year again (180 zones: seconds, bench/national.py).
    """
    pol = policy()
    version = data_version()

    def build() -> FunnelRelease:
        stored = _stored_pool(year, version, pol)
        if stored is not None:
            return stored
        zones = funnel_data.zones_with_data(year)
        if not zones:
            raise NotFound(f"No funnel data for {year}.")
        parts = [zone_release(z, year) for z in zones]
        cells = pd.concat([p.published.cells for p in parts], ignore_index=True)
        published = PublishedFunnel(
            cells=cells, segments=[s for p in parts for s in p.published.segments], base=pol.k,
            stages=stage_order([z.code for z in zones], set(cells["stage"])))
        release = FunnelRelease(year=year, zones=[z.code for z in zones], published=published,
                                stages=published.stages,
                                elapsed_ms=sum(p.elapsed_ms for p in parts))
        _store_pool(release, version, pol)
        return release

    return _releases.get((db.engine.url.render_as_string(), "pool", year, version, pol,
                    disclosure_key()), build)


_POOL_COLUMNS = ("zone", "campaign", "stage", "group", "outcome")


def _pool_key(year: int) -> str:
    return f"funnel-pool:{year}"


def _store_pool(release: FunnelRelease, version: str, pol: Policy) -> None:
    """Keep the pool's published cells for this data version (older versions are dropped:
    the pool is the sum of the zone releases, whose history is kept)."""
    c = release.published.cells
    rows = [[*key, None if is_suppressed(n) else int(n)] for key, n in zip(
        c[list(_POOL_COLUMNS)].itertuples(index=False, name=None), c["n"], strict=True)]
    payload = json.dumps({"zones": release.zones, "stages": release.stages, "rows": rows})
    key = _pool_key(release.year)
    try:
        db.session.execute(delete(ReleaseCache).where(ReleaseCache.release_key == key))
        db.session.add(ReleaseCache(release_key=key, data_version=version,
                                    policy=_policy_key(pol), payload=payload,
                                    elapsed_ms=release.elapsed_ms))
        db.session.commit()
    except IntegrityError:  # another worker stored it first
        db.session.rollback()


def _stored_pool(year: int, version: str, pol: Policy) -> FunnelRelease | None:
    row = db.session.scalar(select(ReleaseCache).where(
        ReleaseCache.release_key == _pool_key(year), ReleaseCache.data_version == version,
        ReleaseCache.policy == _policy_key(pol)))
    if row is None:
        return None
    data = json.loads(row.payload)
    cells = pd.DataFrame([r[:-1] for r in data["rows"]], columns=list(_POOL_COLUMNS))
    cells["n"] = pd.Series([SUPPRESSED if r[-1] is None else int(r[-1]) for r in data["rows"]],
                           dtype=object)
    published = PublishedFunnel(cells=cells, segments=[], base=pol.k, stages=data["stages"])
    return FunnelRelease(year=year, zones=data["zones"], published=published,
                         stages=data["stages"], elapsed_ms=row.elapsed_ms)


def warm_releases() -> list[tuple[str, int, float]]:
    """Build every zone-year release now (after an import or the demo load)."""
    out = []
    for year in funnel_data.years_with_data():
        for zone in funnel_data.zones_with_data(year):
            release = zone_release(zone, year)
            out.append((zone.code, year, release.elapsed_ms))
    return out


def clear_cache() -> None:
    _releases.clear()


# --- upload metadata -------------------------------------------------------------------------


def upload_rows(upload, user) -> int:
    """An upload's row count as ``user`` may see it.

    A funnel extract's row count is the sum of every entered count of its campaign, exactly: a
    reader of the rounded tables who also saw it exactly would learn a sum of rounding errors.
    HR managers and admins hold the file anyway and see the exact number; everyone else sees
    it rounded to a multiple of k, with a key of the upload (the same number every time).
    """
    from hrpipeline.disclosure.rounding import rounded

    if getattr(user, "role", None) in ("hr_manager", "admin"):
        return int(upload.row_count)
    return rounded(disclosure_key(), ("upload-rows", upload.id), int(upload.row_count),
                   policy().k)
