"""One trial, one row: the precedence merge, equivalence of values, and field-level diffs (pure functions)."""

from harvest.merge.diff import diff_studies
from harvest.merge.equivalence import equivalent, jsonable, normal_text
from harvest.merge.precedence import merge, order_records

__all__ = ["diff_studies", "equivalent", "jsonable", "merge", "normal_text", "order_records"]
