"""Property: every HTML parser, fed damaged or random HTML, returns a Study or raises a typed ParseError.

Nothing else may escape (no IndexError, AttributeError, ValidationError, DateFormatError, InvalidNCTId...):
the run loop quarantines typed errors page by page, anything else would stop a nightly run. Covers every
registered MirrorSource, so a new site module is fuzzed as soon as it is registered with fixtures.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from harvest.core.ids import is_nct
from harvest.core.schema import Study
from harvest.sources import registered
from harvest.sources.base import Page
from harvest.sources.mirror import MirrorSource
from harvest.sources.reading.labelled import elements
from tests.mirror_helpers import FETCHED, TYPED, fixture_pages, make_source

HTML_SOURCES = sorted(name for name, cls in registered().items() if issubclass(cls, MirrorSource))
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Words the parsers look for, so random pages reach past the first check.
WORDS = [
    "Status",
    "Overall Status",
    "Recruiting",
    "Not yet recruiting",
    "Withheld",
    "NCT number",
    "NCT04268537",
    "nct0426",
    "Official title:",
    "— ACRONYMOfficial title:",
    "Clinical Trial Summary",
    "Clinical Trial Description",
    "Related Conditions & MeSH terms",
    "X, Y Clinical Trial",
    "Est. completion date",
    "Study Start (Actual)",
    "Verified date",
    "February 2020",
    "04/05/2016",
    "February 30, 2020",
    "Enrollment",
    "120",
    "-1",
    "99999999999999999999",
    "Phase",
    "Phase 2/Phase 9",
    "N/A",
    "[Redacted]",
    "Age group",
    "18 Years and older",
    "Gender",
    "Accepts healthy volunteers",
    "April 15, 2022 updated by: Someone",
    "updated by:",
    "Study Overview",
    "Identifiers",
    "Conditions",
    "Lead Sponsor",
    "Collaborator",
    " ; ",
    "1. item",
]
TAGS = ["div", "p", "span", "section", "h1", "h2", "h3", "table", "tr", "td", "th", "dl", "dt", "dd", "ul", "li"]

_TOKEN = re.compile(r"(<[^>]*>)")
_TAG_NAME = re.compile(r"^(</?)([a-zA-Z][a-zA-Z0-9]*)")


def _documents(name: str) -> list[tuple[str, str]]:
    return [(page.url, page.file.read_text(encoding="utf-8")) for page in fixture_pages(name)]


DOCUMENTS = {name: _documents(name) for name in HTML_SOURCES}
SOURCES = {name: make_source(name) for name in HTML_SOURCES}  # parsers keep no state between pages
texts = st.one_of(st.sampled_from(WORDS), st.text(max_size=40))


# -- mutations: on the token stream (tags and text between them) and on the element tree -----------


def _span(draw: st.DrawFn, size: int) -> tuple[int, int]:
    start = draw(st.integers(0, max(0, size - 1)))
    return start, min(size, start + draw(st.integers(1, 12)))


def delete_tokens(draw: st.DrawFn, html: str) -> str:
    tokens = _TOKEN.split(html)
    start, end = _span(draw, len(tokens))
    return "".join(tokens[:start] + tokens[end:])


def duplicate_tokens(draw: st.DrawFn, html: str) -> str:
    tokens = _TOKEN.split(html)
    start, end = _span(draw, len(tokens))
    return "".join(tokens[:end] + tokens[start:end] + tokens[end:])


def shuffle_tokens(draw: st.DrawFn, html: str) -> str:
    tokens = _TOKEN.split(html)
    start, end = _span(draw, len(tokens))
    return "".join(tokens[:start] + draw(st.permutations(tokens[start:end])) + tokens[end:])


def truncate(draw: st.DrawFn, html: str) -> str:
    return html[: draw(st.integers(0, len(html)))]


def inject_text(draw: st.DrawFn, html: str) -> str:
    tokens = _TOKEN.split(html)
    at = draw(st.integers(0, len(tokens)))
    return "".join([*tokens[:at], draw(texts), *tokens[at:]])


def swap_tag(draw: st.DrawFn, html: str) -> str:
    tokens = _TOKEN.split(html)
    tags = [i for i, token in enumerate(tokens) if _TAG_NAME.match(token)]
    if not tags:
        return html
    index = draw(st.sampled_from(tags))
    tokens[index] = _TAG_NAME.sub(lambda m: m.group(1) + draw(st.sampled_from(TAGS)), tokens[index], count=1)
    return "".join(tokens)


def _tree_op(draw: st.DrawFn, html: str, op: str) -> str:
    tree = LexborHTMLParser(html)
    nodes = list(elements(tree.body))[1:]  # not <body> itself
    if not nodes:
        return html
    node = draw(st.sampled_from(nodes))
    if op == "delete":
        node.decompose()
    elif op == "duplicate":
        node.insert_after(node.clone())
    else:  # shuffle the node's children
        children = []
        child = node.child
        while child is not None:
            children.append(child)
            child = child.next
        for child in draw(st.permutations(children)):
            node.insert_child(child.clone())
            child.decompose()
    return tree.html or ""


def delete_element(draw: st.DrawFn, html: str) -> str:
    return _tree_op(draw, html, "delete")


def duplicate_element(draw: st.DrawFn, html: str) -> str:
    return _tree_op(draw, html, "duplicate")


def shuffle_children(draw: st.DrawFn, html: str) -> str:
    return _tree_op(draw, html, "shuffle")


MUTATIONS = [
    delete_tokens,
    duplicate_tokens,
    shuffle_tokens,
    truncate,
    inject_text,
    swap_tag,
    delete_element,
    duplicate_element,
    shuffle_children,
]


@st.composite
def mutated(draw: st.DrawFn, name: str) -> tuple[str, str]:
    url, html = draw(st.sampled_from(DOCUMENTS[name]))
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=4)):
        html = mutation(draw, html)
    return url, html


random_html = st.recursive(
    texts.map(lambda text: text.replace("<", "&lt;")),
    lambda children: st.tuples(st.sampled_from(TAGS), st.lists(children, max_size=4)).map(
        lambda pair: f"<{pair[0]}>{''.join(pair[1])}</{pair[0]}>"
    ),
    max_leaves=25,
)


def check(name: str, url: str, content: bytes) -> None:
    try:
        study = SOURCES[name].parse(Page(url, content, FETCHED, "text/html; charset=utf-8"))
    except TYPED:
        return
    assert isinstance(study, Study) and is_nct(study.nct_id)
    assert study.provenance.source == name


@pytest.mark.parametrize("name", HTML_SOURCES)
@FUZZ
@given(data=st.data())
def test_mutated_fixture_pages(name: str, data: st.DataObject) -> None:
    url, html = data.draw(mutated(name))
    check(name, url, html.encode("utf-8", errors="surrogatepass"))


@pytest.mark.parametrize("name", HTML_SOURCES)
@FUZZ
@given(body=random_html, url_index=st.integers(0, 10), raw=st.booleans())
def test_random_html(name: str, body: str, url_index: int, raw: bool) -> None:
    urls = [page.url for page in fixture_pages(name)] + [SOURCES[name].base_url + "/"]
    html = body if raw else f"<!DOCTYPE html><html lang='en'><body><main>{body}</main></body></html>"
    check(name, urls[url_index % len(urls)], html.encode("utf-8", errors="surrogatepass"))


@pytest.mark.parametrize("name", HTML_SOURCES)
@settings(max_examples=60, deadline=None)
@given(content=st.binary(max_size=3000))
def test_random_bytes(name: str, content: bytes) -> None:
    check(name, fixture_pages(name)[0].url, content)
