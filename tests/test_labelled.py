"""Labels found by their words whatever the markup, and prose rebuilt into paragraphs (sources/labelled.py)."""

from __future__ import annotations

from harvest.sources.reading.htmltext import parse_html
from harvest.sources.reading.labelled import find_labelled, first_text, next_content, prose, unwrap

LABELS = ("Status", "Phase", "Contact", "Summary", "Overall Status", "Start Date")


def values(html: str) -> dict[str, list[str]]:
    found = find_labelled(parse_html(html).body, LABELS)
    return {key: [item.text for item in items] for key, items in found.items()}


def test_the_same_fact_in_every_shape_mirrors_use() -> None:
    shapes = [
        "<table><tr><td>Status</td><td>Recruiting</td></tr></table>",
        "<table><tr><td><b>Status:</b></td><td><span>Recruiting</span></td></tr></table>",
        "<dl><dt>Status</dt><dd>Recruiting</dd></dl>",
        "<div><span>Status</span> <span>Recruiting</span></div>",
        "<div class='row'><div><h3>Status</h3></div><div><p>Recruiting</p></div></div>",
        "<p><strong>STATUS</strong> Recruiting</p>",
    ]
    for html in shapes:
        assert values(html) == {"status": ["Recruiting"]}, html


def test_an_empty_value_stays_empty_and_does_not_swallow_the_next_fact() -> None:
    html = (
        "<div><span>Contact</span> <span></span></div>"
        "<div><span>Status</span> <span>Not yet recruiting</span></div>"
        "<dl><dt>Overall Status</dt><dd></dd><dt>Lastchanged Date</dt><dd>2017-07-13</dd></dl>"
    )
    assert values(html) == {"contact": [""], "status": ["Not yet recruiting"], "overall status": [""]}


def test_a_heading_labels_the_blocks_under_it() -> None:
    html = "<section><h2>Summary</h2><p>One.</p><p>Two.</p></section><h2>Phase</h2><p>Phase 2</p>"
    found = find_labelled(parse_html(html).body, LABELS)
    assert prose(found["summary"][0].nodes) == "One.\n\nTwo."
    assert first_text(found, "Phase") == "Phase 2"
    assert first_text(found, "Start Date", "Status") is None


def test_prose_keeps_paragraphs_and_lists() -> None:
    html = "<div><p>Intro\nwrapped here.</p><ol><li>first</li><li>second</li></ol><ul><li>a</li></ul>tail</div>"
    assert prose([parse_html(html).body]) == "Intro wrapped here.\n\n1. first\n2. second\n\n* a\n\ntail"


def test_unwrap_joins_hard_wraps_and_keeps_numbered_lines() -> None:
    lines = ["The main objectives", "are:", "1. to identify", "the best biomarkers", "2. to evaluate"]
    assert unwrap(lines) == "The main objectives are:\n\n1. to identify the best biomarkers\n2. to evaluate"


def test_a_label_cell_with_a_script_inside_still_ends_the_value_before_it() -> None:
    """``<td>Phase<script>…</script></td>``: text() counts the script, the reader does not."""
    script = "<script>window.dataLayer = window.dataLayer || []; gtag('event', 'view', {page: 'trial'});</script>"
    assert len(script) > 80
    html = f"<table><tr><td>Status</td><td>Recruiting</td><td>Phase{script * 2}</td><td>Phase 2</td></tr></table>"
    assert values(html) == {"status": ["Recruiting"], "phase": ["Phase 2"]}


def test_next_content_skips_scripts_styles_comments_and_blank_text() -> None:
    tree = parse_html(
        "<div><h2>Summary</h2> <!-- ad --> <script>var ads = 1;</script><style>p{}</style> <p>Text</p></div>"
    )
    after = next_content(tree.css_first("h2"))
    assert after is not None and after.tag == "p"
    assert next_content(after) is None
