"""Rows made ready to bind (``store.sql.bindable``: NaN where a value is None) store exactly what the rows with None
store, and compare equal to them when a trial already in the file is written again (``store.changed_rows``).

The rows are a real record's, fixtures/ctgov/studies/NCT02513394.json (a results record: its baseline rows are half
NULLs), parsed by the CT.gov source as a parse worker parses it.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from pathlib import Path

from harvest.core.config import Settings
from harvest.net.http import HttpClient
from harvest.sources.base import Unparsed
from harvest.sources.ctgov import ClinicalTrialsGov
from harvest.store.changed_rows import write_changed
from harvest.store.sql import NULL, bindable, unbound
from harvest.store.studies import CHILD_COLUMNS, child_rows
from harvest.testing import FIXTURES

RECORD = FIXTURES / "ctgov" / "studies" / "NCT02513394.json"


def _children() -> dict[str, list[tuple[object, ...]]]:
    settings = Settings(env={})
    source = ClinicalTrialsGov(HttpClient(settings.http()), settings)
    item = Unparsed(RECORD.as_uri(), "NCT02513394", RECORD.read_bytes(), dt.datetime(2026, 12, 1, tzinfo=dt.UTC), None)
    return child_rows(source.record_of(item).study)


def _table(conn: sqlite3.Connection, table: str) -> str:
    columns = CHILD_COLUMNS[table]
    conn.execute(f"CREATE TABLE {table} ({', '.join(columns)}, PRIMARY KEY (nct_id, position))")
    return f"INSERT INTO {table} VALUES ({', '.join('?' * len(columns))})"


def test_bindable_rows_store_what_rows_with_none_store(tmp_path: Path) -> None:
    children = _children()
    baseline = children["baseline_measurements"]
    nulls = sum(value is None for row in baseline for value in row)
    assert nulls * 3 > sum(len(row) for row in baseline)  # the case this is for: a third or more are NULLs
    with_none, with_nan = sqlite3.connect(tmp_path / "none.db"), sqlite3.connect(tmp_path / "nan.db")
    for table, table_rows in children.items():
        if not table_rows:
            continue
        with_none.executemany(_table(with_none, table), table_rows)
        made = bindable(table_rows)
        # NaN exactly where None was, nowhere else
        assert [v is None for r in table_rows for v in r] == [
            isinstance(v, float) and math.isnan(v) for r in made for v in r
        ]
        with_nan.executemany(_table(with_nan, table), made)
        order = f"SELECT * FROM {table} ORDER BY position"
        assert with_nan.execute(order).fetchall() == with_none.execute(order).fetchall() == table_rows
        typed = f"SELECT {', '.join(f'typeof({c})' for c in CHILD_COLUMNS[table])} FROM {table} ORDER BY position"
        assert with_nan.execute(typed).fetchall() == with_none.execute(typed).fetchall()


def test_bindable_rows_of_a_trial_in_the_file_rewrite_nothing_unless_a_value_differs(tmp_path: Path) -> None:
    table = "baseline_measurements"
    stored = _children()[table]
    conn = sqlite3.connect(tmp_path / "file.db")
    conn.executemany(_table(conn, table), stored)
    columns = CHILD_COLUMNS[table]
    again = bindable(stored)
    assert write_changed(conn, table, columns, 2, ["NCT02513394"], again) == 0
    # One value that was NULL is now given, one that was given is now NULL: two rows written, both as meant.
    first_null = next(i for i, row in enumerate(stored) if None in row[2:])
    column = stored[first_null].index(None, 2)
    filled = list(again[first_null])
    filled[column] = "given now"
    other = 1 if first_null == 0 else 0
    emptied = list(again[other])
    given = next(i for i in range(2, len(columns)) if stored[other][i] is not None)
    emptied[given] = NULL
    again[first_null], again[other] = tuple(filled), tuple(emptied)
    assert write_changed(conn, table, columns, 2, ["NCT02513394"], again) == 2
    now = conn.execute(f"SELECT * FROM {table} ORDER BY position").fetchall()
    assert now[first_null][column] == "given now"
    assert now[other][given] is None
    assert [tuple(unbound(v) for v in row) for row in again] == now
