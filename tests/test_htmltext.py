"""Visible text as a reader sees it: blocks end lines, source line breaks do not (unless preformatted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvest.sources.reading import htmltext
from harvest.sources.reading.htmltext import parse_html, text_lines

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_blocks_end_lines_and_inline_elements_join() -> None:
    tree = parse_html("<div><h2>Status</h2><p>Unknown</p><p>Phase <b>2</b> of <em>3</em></p></div>")
    assert text_lines(tree.body) == ["Status", "Unknown", "Phase 2 of 3"]


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        # A status badge beside a phase badge, as component kits write them: no whitespace between.
        ('<div class="badges"><span>Unknown</span><span>Phase 2</span></div>', ["Unknown", "Phase 2"]),
        (
            "<dd><a href='#'>Sepsis</a><a href='#'>Septic Shock</a><a href='#'>Immunosuppression</a></dd>",
            ["Sepsis", "Septic Shock", "Immunosuppression"],
        ),
        ("<p><span>Unknown</span> <span>Phase 2</span></p>", ["Unknown", "Phase 2"]),  # whitespace alone is no text
        ("<p><span>Lyon</span><span>, France</span></p>", ["Lyon, France"]),  # punctuation continues the value
        # Inline runs inside a sentence join as a browser joins them.
        ("<p>The <b>drug</b> was <a href='#'>given</a><em>daily</em>.</p>", ["The drug was givendaily."]),
        ("<p>Enrollment <em>120</em><span>(estimated)</span></p>", ["Enrollment 120(estimated)"]),
    ],
)
def test_element_boundaries_separate_the_values_of_a_list(html: str, expected: list[str]) -> None:
    tree = parse_html(html)
    assert text_lines(tree.body) == expected
    node = tree.body.child
    assert text_lines(node) == expected  # the same from the container itself (the one-line shortcut or the walk)


def test_source_line_breaks_are_spaces_as_in_a_browser() -> None:
    tree = parse_html("<h1>Stem Cell Educator\n  Therapy <span>in\n Diabetes</span>\n</h1>")
    assert text_lines(tree.body) == ["Stem Cell Educator Therapy in Diabetes"]


def test_preformatted_text_keeps_its_line_breaks() -> None:
    html = '<div style="white-space: pre-line">one\ntwo</div><pre>three\nfour</pre><p>five<br>six</p>'
    tree = parse_html(html)
    assert text_lines(tree.body) == ["one", "two", "three", "four", "five", "six"]
    assert text_lines(tree.css_first("div")) == ["one", "two"]  # also when the walk starts at the element


def test_scripts_styles_and_comments_are_not_text() -> None:
    tree = parse_html("<p>a<script>var x = 1;</script><style>p{}</style><!-- note -->b</p>")
    assert text_lines(tree.body) == ["ab"]


def test_deep_nesting_does_not_exhaust_the_stack() -> None:
    tree = parse_html("<div>" * 5000 + "deep" + "</div>" * 5000)
    assert text_lines(tree.body) == ["deep"]


def test_comment_inside_an_inline_element_is_not_text() -> None:
    tree = parse_html("<p>x <span>a<!-- note -->b</span> <em>c&nbsp; d</em></p>")
    assert text_lines(tree.css_first("span")) == ["ab"]
    assert text_lines(tree.css_first("p")) == ["x ab c d"]


@pytest.mark.parametrize(
    ("html", "selector", "expected"),
    [
        ("<p><a href='#'>Phase <b>2</b></a></p>", "a", ["Phase 2"]),
        ("<p><span>Not yet\n   recruiting&nbsp;&nbsp;(est.)\n</span></p>", "span", ["Not yet recruiting (est.)"]),
        (
            "<table><tr><td>\n  Enrollment <em>120</em>\n  <span>(estimated)</span>\n</td></tr></table>",
            "td",
            ["Enrollment 120 (estimated)"],
        ),
        ("<p><span> \n&nbsp; </span></p>", "span", []),
    ],
)
def test_the_one_line_shortcut_on_inline_only_elements(html: str, selector: str, expected: list[str]) -> None:
    node = parse_html(html).css_first(selector)
    assert htmltext._one_line(node)  # the shortcut, not the walk, renders these
    assert text_lines(node) == expected


def test_the_one_line_shortcut_renders_every_fixture_element_as_the_walk_does() -> None:
    """``text_lines`` hands elements with no line break inside to lexbor's ``text()``; on every such element of
    every recorded mirror page that must give exactly what the Python walk gives. (Other elements are left out:
    for them ``text_lines`` runs the walk itself, so comparing would compare the walk with itself.)"""
    pages = sorted(FIXTURES.glob("*/*.html"))
    assert pages, "no mirror fixtures found"
    compared = 0
    for page in pages:
        tree = parse_html(page.read_bytes())
        for node in tree.root.traverse():
            if node.tag.startswith("-") or not htmltext._one_line(node):
                continue
            walked: list[str] = []
            htmltext._walk(node, walked)
            expected = [" ".join(line.split()) for line in "".join(walked).split("\n")]
            assert text_lines(node) == [line for line in expected if line], (page.name, node.tag)
            compared += 1
    assert compared > 350  # the fixtures hold 360 such elements (the others have blocks or lists of values inside)
