"""One trial, one row: the precedence merge, equivalence of values, and field-level diffs (pure functions)."""
