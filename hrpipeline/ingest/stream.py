"""Large funnel CSV extracts checked part by part: memory bounded whatever the file size.

A big file is read :data:`CHUNK_ROWS` rows at a time (``read.iter_csv_frames``); each part is
checked like a whole file (``check_extract(..., cross_rows=False)``: columns, values, dates,
personal data, formulas), then set aside in a temporary file (the spool) until the store
writes it. The checks that compare rows with each other (the same row twice, the same
candidate, campaign and stage twice, a stage after a failure or withdrawal, the campaign
limit) are made over the whole file on a few fixed-width numbers per row: 64-bit hashes of
the row and of its keys, the stage position and the row number (about 40 bytes a row instead
of the row's text). They report the same problems, with the same row numbers, as the
whole-file check. (Two different keys with the same 64-bit hash would be reported as a
duplicate: with a million rows that has a probability of about 3 in 100 million.)

Nothing is stored until every part has been checked; the store then writes the spool in its
one transaction, so an extract is stored whole or not at all, as before.
"""

from __future__ import annotations

import datetime as dt
import pickle
import tempfile
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from hrpipeline.domain import DEFAULT_STAGES
from hrpipeline.ingest.columns import KIND_COLUMNS, match_columns
from hrpipeline.ingest.problems import Problem
from hrpipeline.ingest.read import iter_csv_frames
from hrpipeline.ingest.validate import (
    MAX_CAMPAIGNS_PER_UPLOAD,
    MAX_KEPT,
    Validated,
    _label_year,
    _Sink,
    check_extract,
)

#: Rows checked at a time.
CHUNK_ROWS = 100_000
#: CSV files at least this large are streamed (smaller ones are checked whole, as before).
STREAM_MIN_BYTES = 8 * 1024 * 1024


class Spool:
    """Checked parts of an extract kept in a temporary file (pickled frames), read back one
    at a time by the store. Behaves as the rows it holds for ``len``."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()
        self._parts = 0
        self._rows = 0

    def add(self, frame: pd.DataFrame) -> None:
        pickle.dump(frame, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._parts += 1
        self._rows += len(frame)

    def __len__(self) -> int:
        return self._rows

    def chunks(self) -> Iterator[pd.DataFrame]:
        self._file.seek(0)
        for _ in range(self._parts):
            yield pickle.load(self._file)  # noqa: S301 - our own temporary file

    def close(self) -> None:
        self._file.close()


class StreamNotPossible(Exception):
    """This file needs the whole-file check (a campaign's year comes from its earliest stage
    date, which may lie in another part)."""


def _hash(frame: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def _compact(frame: pd.DataFrame, stages: Sequence[str]) -> pd.DataFrame:
    """The few numbers per row the cross-row checks need."""
    position = {s: i for i, s in enumerate(stages)}
    pos = frame["stage"].map(position).fillna(-1).to_numpy(dtype=np.int16)
    terminal = frame["outcome"].isin(("failed", "withdrew")).to_numpy() & (pos >= 0)
    return pd.DataFrame({
        "row": frame.index.to_numpy(dtype=np.int64),
        "cand": _hash(frame[["candidate_ref", "campaign"]]),
        "key": _hash(frame[["candidate_ref", "campaign", "stage"]]),
        "full": _hash(frame.drop(columns=["campaign_year"])),
        "pos": pos,
        "terminal": terminal,
        "unknown": frame["stage"].isna().to_numpy(),
    })


def stream_funnel(data: bytes, filename: str, *, stages: Sequence[str] | None = None,
                  reference_date: dt.date | None = None, max_rows: int | None = None,
                  chunk_rows: int | None = None) -> Validated:
    """Check a funnel CSV part by part; ``Validated.frame`` is a :class:`Spool`.

    Raises :class:`StreamNotPossible` when the file needs the whole-file check.
    """
    stages = tuple(stages or DEFAULT_STAGES)
    sink = _Sink()
    seen: set[tuple] = set()
    spool = Spool()
    compact: list[pd.DataFrame] = []
    campaigns: set[str] = set()
    years: set[int] = set()
    layout = "funnel"
    stage_header = "stage"
    try:
        for part in iter_csv_frames(data, filename, chunk_rows=chunk_rows or CHUNK_ROWS,
                                    max_rows=max_rows):
            mapping, _unmatched = match_columns(part.columns, KIND_COLUMNS["funnel"])
            stage_header = next((h for h, c in mapping.items() if c == "stage"), "stage")
            if "campaign_year" not in mapping.values() and "campaign" in mapping.values():
                column = next(h for h, c in mapping.items() if c == "campaign")
                if any(_label_year(str(c)) < 0 for c in pd.unique(part[column])):
                    raise StreamNotPossible
            v = check_extract(part, "funnel", stages=stages, reference_date=reference_date,
                              cross_rows=False)
            layout = v.layout
            repeated = 0
            for p in v.problems:  # file-level problems (a column, a header) come in every part
                if p.row in (None, 1):
                    key = (p.row, p.column, p.code, p.value)
                    if key in seen:
                        repeated += 1
                        continue
                    seen.add(key)
                sink.add(p)
            sink.total += v.problem_count - len(v.problems)
            if v.problem_count and len(v.frame.columns) == 0:
                break  # the header is unusable (or no data): every part would say the same
            if len(v.frame):
                spool.add(v.frame)
                compact.append(_compact(v.frame, stages))
            campaigns.update(v.campaigns)
            years.update(v.years)
            del part, v
    except BaseException:
        spool.close()
        raise
    rows = pd.concat(compact, ignore_index=True) if compact else None
    del compact
    if rows is not None:
        _cross_row_checks(rows, spool, stages, sink, stage_header)
    ordered = sorted(campaigns)
    if len(ordered) > MAX_CAMPAIGNS_PER_UPLOAD:
        header = "campaign"
        shown = ", ".join(repr(c) for c in ordered[:5])
        sink.add(Problem(
            None, header, None, "too_many_campaigns",
            f"The file holds {len(ordered):,} campaigns ({shown}, ...); at most "
            f"{MAX_CAMPAIGNS_PER_UPLOAD} are accepted in one upload. Upload one file per "
            "campaign or per year, and check the campaign column.",
            {"found": len(ordered), "limit": MAX_CAMPAIGNS_PER_UPLOAD}))
    result = Validated("funnel", layout, spool, campaigns=ordered, years=sorted(years))
    result.problems, result.problem_count = sink.problems, sink.total
    if not result.ok:
        spool.close()
    return result


def _cross_row_checks(rows: pd.DataFrame, spool: Spool, stages: Sequence[str],
                      sink: _Sink, stage_header: str) -> None:
    """The whole-file funnel checks of ``validate._funnel`` and ``validate._duplicates``, on
    the compact rows (same problems, same row numbers)."""
    index = pd.Index(rows["row"].to_numpy())
    pos = rows["pos"].to_numpy(dtype=np.int64)
    terminal = rows["terminal"].to_numpy()
    key = rows["cand"].to_numpy()
    big = len(stages) + 1
    term_pos = pd.Series(np.where(terminal, pos, big)).groupby(key).transform("min").to_numpy()
    after = (pos > term_pos) & (pos >= 0)
    found: list[tuple[str, int, dict]] = []  # (kind, position, details) of kept problems
    if after.any():
        index_arr = index.to_numpy()
        tmask = terminal & (pos == term_pos)
        first = pd.Series(np.where(tmask, index_arr, np.iinfo(np.int64).max)).groupby(
            key).transform("min").to_numpy()
        for p in np.flatnonzero(after):
            found.append(("sequence", int(p), {"first_row": int(first[p])}))
    full = pd.Series(rows["full"].to_numpy()).duplicated().to_numpy()
    keyed = pd.Series(rows["key"].to_numpy())
    same_key = keyed.duplicated().to_numpy() & ~full
    unknown_key = rows["unknown"].to_numpy()
    full &= ~unknown_key
    same_key &= ~unknown_key
    if full.any() or same_key.any():
        first_row = pd.Series(index.to_numpy()).groupby(keyed.to_numpy()).transform(
            "first").to_numpy()
        for p in np.flatnonzero(full):
            found.append(("full", int(p), {"first_row": int(first_row[p])}))
        for p in np.flatnonzero(same_key):
            found.append(("same_key", int(p), {"first_row": int(first_row[p])}))
    if not found:
        return
    # The text of the kept problems needs the rows' values: read back just those rows.
    room = MAX_KEPT
    wanted = {int(index[p]) for _k, p, d in found[:room]} | {
        d["first_row"] for _k, _p, d in found[:room]}
    values: dict[int, dict] = {}
    for part in spool.chunks():
        hit = part.index.isin(list(wanted))
        if hit.any():
            for row, rec in part.loc[hit, ["candidate_ref", "stage", "outcome"]].iterrows():
                values[int(row)] = {k: (None if pd.isna(v) else str(v)) for k, v in
                                    rec.items()}
    for kind, p, d in sorted(found, key=lambda f: (f[0] != "sequence", f[1])):
        row = int(index[p])
        first = d["first_row"]
        if kind == "sequence":
            me, then = values.get(row, {}), values.get(first, {})
            sink.add(Problem(
                row, stage_header, str(me.get("stage")), "impossible_sequence",
                f"Candidate {me.get('candidate_ref')!r} has a row at stage {me.get('stage')!r} "
                f"after '{then.get('outcome')}' at stage {then.get('stage')!r} (row {first}). "
                "A candidate who failed or withdrew cannot reach a later stage.",
                {"first_row": first}))
        elif kind == "full":
            sink.add(Problem(row, None, None, "duplicate_row",
                             f"This row repeats row {first} exactly. Remove the copy.",
                             {"first_row": first}))
        else:
            what = "candidate, campaign and stage"
            sink.add(Problem(
                row, None, None, "duplicate_stage",
                f"This row is for the same {what} as row {first} but with different values. "
                f"Keep one row per {what}.", {"first_row": first}))


__all__ = ["CHUNK_ROWS", "STREAM_MIN_BYTES", "Spool", "StreamNotPossible", "stream_funnel"]
