"""Cell-key random rounding to base *b*: every published count is a multiple of *b*.

Unbiased random rounding (Fellegi 1975; Statistics New Zealand rounds every census count
this way to base 3, "RR3"; Hundepool et al., *Statistical Disclosure Control*, 2012, §5.4):
a count ``c = b·q + r`` (``0 ≤ r < b``) is published as ``b·q`` with probability ``1 − r/b``
and as ``b·(q+1)`` with probability ``r/b``, so the published value is right on average.
A multiple of *b* is never changed; a true 0 stays 0.

Instead of a fresh random draw, the "coin" is a **cell key** (the ABS cell-key method;
Fraser & Wooton 2005, Thompson, Broadfoot & Elazar 2013): ``u = HMAC(secret, identity, value)``
mapped to [0, 1). The same cell with the same value is therefore rounded the same way in every
table, channel and version of a release, so comparing two outputs never gives two independent
roundings of one number to intersect. The secret keeps the coin unknown to readers (knowing
``u`` for every candidate value would let them undo the rounding), and must stay the same for
the life of a deployment.

What a reader can infer from a published value ``R`` (the feasible set of the true count)::

    R = 0   ->  c in {0, 1, ..., b-1}          (b values)
    R > 0   ->  c in {R-b+1, ..., R+b-1}       (2b-1 values)

With ``b = k`` every count of 1..k-1 keeps at least *k* possible values, and so does any sum
of independently rounded counts (``hrpipeline.disclosure.funnel`` publishes nothing else).

Example (b = 5): 12 is published as 10 when u ≥ 0.4 and as 15 when u < 0.4; 3 as 0 or 5;
20 always as 20.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable


def cell_key(secret: bytes, identity: Iterable[object], value: int) -> float:
    """The cell's coin in [0, 1): HMAC-SHA256 of its identity and true value under ``secret``."""
    text = "\x1f".join(str(part) for part in identity) + "\x1e" + str(int(value))
    digest = hmac.new(secret, text.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def round_count(value: int, base: int, u: float) -> int:
    """Unbiased random rounding of ``value`` to a multiple of ``base`` with coin ``u``.

    >>> round_count(12, 5, 0.9), round_count(12, 5, 0.1), round_count(20, 5, 0.0)
    (10, 15, 20)
    """
    if value < 0:
        raise ValueError(f"a count cannot be negative: {value}")
    if base < 1:
        raise ValueError(f"base must be at least 1: {base}")
    q, r = divmod(int(value), int(base))
    return base * (q + (1 if u < r / base else 0))


def feasible_range(published: int, base: int) -> tuple[int, int]:
    """The smallest and largest true count that can be published as ``published``.

    >>> feasible_range(0, 5), feasible_range(10, 5)
    ((0, 4), (6, 14))
    """
    if published % base:
        raise ValueError(f"{published} is not a multiple of {base}")
    if published == 0:
        return 0, base - 1
    return published - base + 1, published + base - 1


def rounded(secret: bytes, identity: Iterable[object], value: int, base: int) -> int:
    """``value`` rounded with its own cell key (convenience for one count)."""
    identity = tuple(identity)
    return round_count(value, base, cell_key(secret, identity, value))
