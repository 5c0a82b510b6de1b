"""The disclosure-control gate: the one door every published number passes through.

Pure (no flask, sqlalchemy or matplotlib; a test enforces it). Modules:

* ``values``   the hidden value ``SUPPRESSED``, its symbol and JSON form, the source-marker parser;
* ``policy``   the deployment's settings (k, minimum denominator);
* ``rounding`` cell-key random rounding to base k (stable across tables and versions);
* ``funnel``   the funnel release: per zone, campaign and group one chain of counts whose suffix
               sums are rounded systematically; every published count a sum of them;
* ``retention`` the retention release: one such chain per zone, group and hire cohort;
* ``audit``    the integer-programming audit of a chain across release versions;
* ``tables``   tables whose cells are sums of published counts (year, pool, pilots);
* ``gates``    derived statistics of published values (sums, rates, ratios, p bands);
"""

from hrpipeline.disclosure.gates import (
    P_BANDS,
    coarsen_p,
    gate_interval,
    gate_p,
    gate_rate,
    gate_ratio,
    gate_sum,
)
from hrpipeline.disclosure.policy import DEFAULT_POLICY, Policy
from hrpipeline.disclosure.values import (
    SOURCE_MARKER,
    SUPPRESSED,
    SYMBOL,
    display,
    is_suppressed,
    json_default,
    json_value,
    parse_source_count,
)

__all__ = [
    "DEFAULT_POLICY",
    "P_BANDS",
    "SOURCE_MARKER",
    "SUPPRESSED",
    "SYMBOL",
    "Policy",
    "coarsen_p",
    "display",
    "gate_interval",
    "gate_p",
    "gate_rate",
    "gate_ratio",
    "gate_sum",
    "is_suppressed",
    "json_default",
    "json_value",
    "parse_source_count",
]
