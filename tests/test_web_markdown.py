"""The registry's Markdown on the trial page: lists nest, escapes are undone, and no HTML gets through."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harvest.web.markdown import render


def test_criteria_render_as_paragraphs_and_nested_lists() -> None:
    text = (
        "Inclusion Criteria:\n\n* Age **18** or over\n\n  * or 16 \\[with consent\\]\n* ECOG 0-1\n\n"
        "Exclusion:\n1. Prior \\>10 mg"
    )
    assert render(text) == (
        "<p>Inclusion Criteria:</p><ul><li>Age <strong>18</strong> or over<ul><li>or 16 [with consent]</li></ul>"
        "</li><li>ECOG 0-1</li></ul><p>Exclusion:</p><ol><li>Prior &gt;10 mg</li></ol>"
    )


def test_nothing_renders_as_nothing() -> None:
    assert render(None) == "" and render("\n\n") == ""


@given(st.text(alphabet=st.sampled_from(list("<>&\"'*- 1.\\\nab"))))
def test_the_records_text_cannot_open_a_tag(text: str) -> None:
    html = render(text)
    for tag in ("p", "ul", "ol", "li", "strong"):
        html = html.replace(f"<{tag}>", "").replace(f"</{tag}>", "")
    assert "<" not in html
