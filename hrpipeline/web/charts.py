"""Funnel charts on the web: the drawing lives in :mod:`hrpipeline.charts.funnel`; this module
serves it, with an LRU cache of rendered images keyed by chart, format, language and a digest of
the report's published content (so a new upload, which changes the report, never serves a
stale chart).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable

from flask import current_app

from hrpipeline.charts import style
from hrpipeline.charts.funnel import CHARTS

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


def render(name: str, fmt: str, report, language: str = "en") -> bytes:
    return style.render(CHARTS[name](report, language), fmt)


class ChartCache:
    """A small thread-safe LRU of rendered charts."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_render(self, key: tuple, make: Callable[[], bytes]) -> bytes:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
        body = make()
        with self._lock:
            self._items[key] = body
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return body


def report_digest(report) -> str:
    """A digest of everything the report publishes: its "data version" for the cache key."""
    payload = json.dumps(report.to_dict(), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def cache() -> ChartCache:
    ext = current_app.extensions
    if "hrpipeline_charts" not in ext:
        ext["hrpipeline_charts"] = ChartCache(current_app.config.get("CHART_CACHE_SIZE", 256))
    return ext["hrpipeline_charts"]


def render_cached(name: str, fmt: str, report, language: str) -> bytes:
    key = (name, fmt, language, report.key, report_digest(report))
    return cache().get_or_render(key, lambda: render(name, fmt, report, language))
