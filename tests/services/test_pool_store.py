"""The all-zone funnel pool is stored per data version once built, so a process that did not
build it reads the published cells instead of protecting every zone-year release again."""

from __future__ import annotations

import pandas as pd

from hrpipeline.disclosure.values import SUPPRESSED
from hrpipeline.services import releases
from tests.web.conftest import funnel_data  # noqa: F401 (fixture)


def _cells(release) -> pd.DataFrame:
    c = release.published.cells[["zone", "campaign", "stage", "group", "outcome", "n"]].copy()
    c["n"] = ["x" if n is SUPPRESSED else int(n) for n in c["n"]]
    return c.sort_values(["zone", "campaign", "stage", "group", "outcome"]).reset_index(
        drop=True)


def test_a_stored_pool_is_read_back_without_protecting_again(app, funnel_data,  # noqa: F811
                                                              monkeypatch):
    releases.clear_cache()
    built = releases.pool_release(2024)
    releases.clear_cache()  # another process: nothing in memory

    def no_protection(*_args, **_kwargs):
        raise AssertionError("the stored pool must be read, not protected again")

    monkeypatch.setattr(releases, "protect_funnel", no_protection)
    read = releases.pool_release(2024)
    pd.testing.assert_frame_equal(_cells(read), _cells(built))
    assert read.zones == built.zones and read.stages == built.stages
    for zone in built.zones:
        assert read.count("application", zone=zone) == built.count("application", zone=zone)
    releases.clear_cache()
