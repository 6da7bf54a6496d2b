"""What harvest writes does not change unless we mean it to: a fresh harvest of the fixtures, dumped, equals the
golden dump (see tests/golden.py; ``python -m tests.golden`` rewrites it after a deliberate change)."""

from __future__ import annotations

import difflib
from pathlib import Path

from tests.golden import COMMANDS, GOLDEN, fresh_dump


def test_a_harvest_of_the_fixtures_writes_the_golden_file(tmp_path: Path) -> None:
    codes, text = fresh_dump(tmp_path)
    # veeva's fixtures hold two dead links (404) and a page that lost its layout: new trouble on a first run, exit 1.
    assert list(zip([" ".join(c) for c in COMMANDS], codes, strict=True)) == [
        ("run --source ctgov", 0),
        ("run --source veeva", 1),
        ("run --source inclinicaltrials", 0),
        ("run --source ichgcp", 0),
        ("run --source ctgov", 0),
        ("reparse", 0),
    ]
    expected = GOLDEN.read_text(encoding="utf-8")
    if text != expected:
        diff = difflib.unified_diff(expected.splitlines(), text.splitlines(), "golden", "now", lineterm="", n=0)
        raise AssertionError("the harvest differs from tests/golden/fixtures.dump:\n" + "\n".join(list(diff)[:60]))
