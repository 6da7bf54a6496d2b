"""Real mirror pages carry analytics and ad scripts between their blocks; a script is never study text.

Each case puts a script (the shape of Google Tag Manager's snippet) into a recorded page at a place where the
parser reads "whatever block comes next", and checks the study is the one the untouched page gives.
"""

from __future__ import annotations

import pytest

from harvest.sources.base import Page
from tests.mirror_helpers import FETCHED, fixture_page, make_source

SCRIPT = "<script>window.dataLayer = window.dataLayer || []; gtag('js', new Date());</script>"

CASES = [
    # ichgcp: the brief summary is the blocks after the official title
    ("ichgcp", "NCT04067674.reconstructed.html", '<section class="study-record__summary mb-4">'),
    # inclinicaltrials: the summary is the first unlabelled block after the heading
    ("inclinicaltrials", "NCT04268537.details.reconstructed.html", '<table class="table table-sm table-bordered'),
]


@pytest.mark.parametrize(("source", "file_name", "before"), CASES)
def test_a_script_between_blocks_changes_nothing(source: str, file_name: str, before: str) -> None:
    fixture = fixture_page(source, file_name)
    html = fixture.file.read_text(encoding="utf-8")
    assert html.count(before) >= 1
    with_script = html.replace(before, SCRIPT + before, 1)
    parser = make_source(source)
    clean = parser.parse(Page(fixture.url, html.encode(), FETCHED, "text/html"))
    scripted = parser.parse(Page(fixture.url, with_script.encode(), FETCHED, "text/html"))
    assert clean.brief_summary  # the case reads a real summary
    assert "dataLayer" not in scripted.model_dump_json()
    assert scripted.model_dump() == clean.model_dump()
