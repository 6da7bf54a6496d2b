"""Visible text as a reader sees it: blocks end lines, source line breaks do not (unless preformatted)."""

from __future__ import annotations

from harvest.sources.htmltext import parse_html, text_lines


def test_blocks_end_lines_and_inline_elements_join() -> None:
    tree = parse_html("<div><h2>Status</h2><p>Unknown</p><p>Phase <b>2</b></p><span>a</span><span>b</span></div>")
    assert text_lines(tree.body) == ["Status", "Unknown", "Phase 2", "ab"]


def test_source_line_breaks_are_spaces_as_in_a_browser() -> None:
    tree = parse_html("<h1><span>Stem Cell Educator\n  Therapy</span>\n<span>in Diabetes</span></h1>")
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
