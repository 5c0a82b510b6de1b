"""API test fixtures: the ``api`` blueprint registered, tokens per user, funnel data."""

from __future__ import annotations

import datetime as dt

import pytest

from hrpipeline.extensions import db
from hrpipeline.models import FunnelRecord, Upload


@pytest.fixture(autouse=True)
def _api(app):
    """Register the API until the app factory does (then this guard is a no-op)."""
    if "api" not in app.blueprints:
        from hrpipeline.api import init_app

        init_app(app)
    return app


@pytest.fixture
def token_for(app):
    """``token_for(user)`` → a live secret for that user."""
    from hrpipeline.services.tokens import issue_token

    def make(user, name: str = "test") -> str:
        return issue_token(user, name)[1]

    return make


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def funnel_csv(n_candidates: int, campaign: str = "2024-1", seed: int = 0) -> bytes:
    """A valid funnel extract (English headers): every candidate applies; about half pass the
    cognitive test; groups rotate over the three known backgrounds and ``unknown``."""
    groups = ("belgian_origin", "eu_background", "non_eu_background", "unknown")
    lines = ["candidate_ref,campaign,stage,outcome,stage_date,migration_background,gender"]
    for i in range(n_candidates):
        group = groups[(i + seed) % 4]
        ref = f"C{seed}-{i:07d}"
        lines.append(f"{ref},{campaign},application,passed,2024-02-01,{group},female")
        outcome = "passed" if (i * 7 + seed) % 3 else "failed"
        lines.append(f"{ref},{campaign},cognitive_test,{outcome},2024-03-01,{group},female")
    return ("\n".join(lines) + "\n").encode("utf-8")


def insert_funnel(zone, campaign: str, per_cell: dict[tuple[str, str, str], int],
                  sha: str) -> Upload:
    """Insert records directly (as tests/services/test_funnel_service.py does)."""
    from hrpipeline.services import funnel as funnel_service

    upload = Upload(zone_id=zone.id, kind="funnel", filename=f"{sha}.csv", sha256=sha * 64,
                    row_count=0, campaign=campaign)
    db.session.add(upload)
    db.session.flush()
    rows = []
    for (stage, group, outcome), n in per_cell.items():
        rows += [dict(upload_id=upload.id, zone_id=zone.id,
                      candidate_ref=f"{stage}-{group}-{outcome}-{i}", campaign=campaign,
                      campaign_year=int(campaign[:4]), stage=stage, outcome=outcome,
                      stage_date=dt.date(int(campaign[:4]), 3, 1), migration_background=group)
                 for i in range(n)]
    db.session.execute(db.insert(FunnelRecord), rows)
    upload.row_count = len(rows)
    db.session.commit()
    funnel_service.clear_cache()
    return upload


def plan() -> dict[tuple[str, str, str], int]:
    """A consistent two-stage funnel with one small (suppressed) cell."""
    cells = {}
    for group, (apps, cog) in {"belgian_origin": (300, 150), "non_eu_background": (120, 40),
                               "eu_background": (40, 20)}.items():
        cells[("application", group, "passed")] = apps
        cells[("cognitive_test", group, "passed")] = cog
        cells[("cognitive_test", group, "failed")] = apps - cog
    cells[("application", "unknown", "passed")] = 2
    cells[("cognitive_test", "unknown", "passed")] = 2
    return cells


@pytest.fixture
def funnel_data(zones):
    insert_funnel(zones["ANT"], "2024-1", plan(), "a")
    insert_funnel(zones["GNT"], "2024-1", plan(), "b")
    return zones


def _hypothesis_jsonschema_compat() -> None:
    """hypothesis-jsonschema 0.23 (Schemathesis' generator) calls ``many.more()``, which newer
    Hypothesis releases replaced by the ``with many(...) as e: for _ in e`` protocol. This
    adapter restores ``more()`` on top of that protocol (test-only; no effect when absent)."""
    from hypothesis.internal.conjecture import utils as cu

    if hasattr(cu.many, "more") or not hasattr(cu.many, "__enter__"):
        return

    def more(self) -> bool:
        if self._depth is None:
            self.__enter__()
        iterator = self.__dict__.get("_compat_iter")
        if iterator is None:
            iterator = self.__dict__["_compat_iter"] = iter(self)
        try:
            next(iterator)
        except StopIteration:
            self.__exit__(None)
            return False
        return True

    cu.many.more = more


_hypothesis_jsonschema_compat()


@pytest.fixture
def pilot(funnel_data, make_user):
    """A pilot in ANT with GNT as comparison zone (registered through the service)."""
    from hrpipeline.services.pilots import create_pilot

    staff = make_user("project_staff", all_zones=True)
    return create_pilot(staff, "Mentoring for the cognitive test", ["ANT"], ["GNT"],
                        "cognitive_test", dt.date(2024, 1, 1))
