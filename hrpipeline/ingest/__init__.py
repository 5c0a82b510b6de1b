"""Ingest of zone extracts: read (CSV/XLSX), map NL/FR/EN columns and values, validate,
refuse direct identifiers, and store atomically. See ``docs/extract-formats.md``."""

from hrpipeline.ingest.problems import ExtractInvalid, Problem, problems_to_csv
from hrpipeline.ingest.read import read_table

__all__ = ["ExtractInvalid", "Problem", "problems_to_csv", "read_table"]
