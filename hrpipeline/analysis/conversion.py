"""From application to appointment: the overall conversion of each group, with its interval.

For group ``g`` with ``a`` applicants (persons who entered the first stage) and ``h`` hires
(persons who passed the last stage, normally ``appointed``)::

    rate           = h / a                           (application-to-appointment ratio)
    rate interval  = Wilson 95 % score interval (Wilson 1927; Newcombe 1998 method 3)
    ratio          = rate_g / rate_reference         (the overall impact ratio)
    ratio interval = Katz log 95 % interval (Katz, Baptista, Azen & Pike 1978); 0.5 added to
                     every cell when a group has no hire (Haldane)

The service feeds it the **published** counts, which are rounded to a multiple of k: the
intervals treat those rounded counts as if they were exact and do not include the rounding
error (a few persons per cell), which the page says. A campaign still running (candidates
pending at a later stage) understates the rate; the page gives the number pending.

Example: 200 applicants and 10 hires of non-EU background against 400 and 40 of Belgian origin:
rates 5.0 % (2.7 to 9.0 %) and 10.0 % (7.4 to 13.3 %), ratio 0.50 (0.26 to 0.98).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hrpipeline.analysis.impact import Table2x2, katz_log_ci, wilson_interval


@dataclass(frozen=True)
class Conversion:
    group: str
    applicants: int
    hires: int
    rate: float | None
    rate_low: float | None
    rate_high: float | None
    ratio: float | None  # rate / the reference group's rate; None for the reference itself
    ratio_low: float | None
    ratio_high: float | None
    haldane_corrected: bool = False


def application_to_appointment(applicants: Mapping[str, int], hires: Mapping[str, int],
                               reference: str, alpha: float = 0.05) -> list[Conversion]:
    """One :class:`Conversion` per group of ``applicants`` (in its order).

    ``hires[g]`` may not exceed ``applicants[g]``. A group without applicants has no rate;
    the ratio needs both rates and a reference rate above 0.
    """
    out = []
    ref_a, ref_h = int(applicants.get(reference, 0)), int(hires.get(reference, 0))
    for group, a in applicants.items():
        a, h = int(a), int(hires.get(group, 0))
        if h < 0 or a < 0 or h > a:
            raise ValueError(f"need 0 <= hires <= applicants for {group!r}, got {h} of {a}")
        if a == 0:
            out.append(Conversion(group, a, h, None, None, None, None, None, None))
            continue
        ci = wilson_interval(h, a, alpha)
        ratio = low = high = None
        corrected = False
        if group != reference and ref_a > 0 and ref_h > 0:
            ratio = (h / a) / (ref_h / ref_a)
            interval, corrected = katz_log_ci(Table2x2(h, a - h, ref_h, ref_a - ref_h), alpha)
            if interval is not None:
                low, high = interval.low, interval.high
        out.append(Conversion(group, a, h, h / a, ci.low if ci else None,
                              ci.high if ci else None, ratio, low, high, corrected))
    return out


__all__ = ["Conversion", "application_to_appointment"]
