"""The disclosure-control gate: the one door every published number passes through.

Pure (no flask, sqlalchemy or matplotlib; a test enforces it). Modules:

* ``values``   the hidden value ``SUPPRESSED``, its symbol and JSON form, the source-marker parser;
* ``policy``   the deployment's settings (k, minimum denominator);
* ``rounding`` cell-key random rounding to base k (stable across tables and versions);
* ``funnel``   the funnel release: counts re-parametrised as independent flows, each rounded,
               every published count an exact sum of them (``docs/disclosure-control.md``);
* ``gates``    derived statistics of published values (sums, rates, ratios, p bands);
* ``lp``       cell suppression with a linear-programming audit (retention and pilot tables).
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
