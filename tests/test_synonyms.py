"""The synonym groups and how typed words meet them: the bundled file, the key words are compared by, runs of
unquoted words that are a name, and a user's groups joining ours."""

from __future__ import annotations

import pytest

from harvest.query import synonyms
from harvest.query.fts_query import parse
from harvest.query.synonyms import Synonyms, key
from harvest.query.synonyms import parse as parse_groups

BUNDLED = synonyms.load({})


def test_the_bundled_groups_are_well_formed_and_sourced() -> None:
    text = synonyms.BUNDLED.read_text(encoding="utf-8")
    assert "VarCon" in text and "lod.nal.usda.gov/nalt/338899" in text  # where the names come from
    assert all(len(group) >= 2 for group in BUNDLED.groups)
    spelled = {name for group in BUNDLED.groups for name in group}
    for british, american in (("tumour", "tumor"), ("anaemia", "anemia"), ("oesophageal", "esophageal"),
                              ("paediatric", "pediatric")):  # fmt: skip
        assert {british, american} <= spelled
        assert BUNDLED.expand(british) == [american] and BUNDLED.expand(american) == [british]
    covid = BUNDLED.expand("covid-19")
    assert {"covid", "2019-ncov", "sars-cov-2"} <= set(covid)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("COVID-19", "covid 19"),
        ("covid19,", "covid19"),
        ("SARS-CoV/2", "sars cov 2"),
        ("  a -- b  ", "a b"),
        ("Étude", "Étude"),
    ],  # fmt: skip  (non-ASCII letters stay as typed, as SQLite's lower() leaves them)
)
def test_key(typed: str, expected: str) -> None:
    assert key(typed) == expected


def test_plurals_and_spellings_by_key() -> None:
    assert BUNDLED.expand("tumours") == ["tumor", "tumour"]
    assert "covid" in BUNDLED.expand("COVID 19") and "covid-19" in BUNDLED.expand("Covid-19,")
    assert BUNDLED.expand("cancer") == []


@pytest.mark.parametrize(
    ("typed", "terms"),
    [
        ("coronavirus disease 2019 vaccine", ["coronavirus disease 2019", "vaccine"]),
        ("SARS-CoV 2 infection", ["SARS-CoV 2", "infection"]),
        ("covid 19", ["covid 19"]),
        ('"coronavirus disease" 2019', ["coronavirus disease", "2019"]),  # a quoted phrase is not joined
        ("coronavirus disease* 2019", ["coronavirus", "disease", "2019"]),  # nor a prefix
    ],
)
def test_unquoted_words_that_are_a_name_are_one_term(typed: str, terms: list[str]) -> None:
    assert [t.text for t in parse(typed, BUNDLED).terms] == terms


def test_a_joined_run_keeps_its_words_as_one_alternative() -> None:
    expression = parse("coronavirus disease 2019", BUNDLED).expression
    assert expression.startswith('(("coronavirus" "disease" "2019") OR ')  # the words anywhere, as before
    assert '"sars-cov-2"' in expression


def test_a_users_group_that_shares_a_name_joins_ours() -> None:
    mine = parse_groups("covid19, wuhan pneumonia\nwort, alcohol\n", "mine.txt")
    merged = Synonyms(synonyms.merged([*parse_groups(synonyms.BUNDLED.read_text(encoding="utf-8"), "x"), *mine]))
    assert "wuhan pneumonia" in merged.expand("sars-cov-2")
    assert merged.expand("wort") == ["alcohol"]
    assert len(merged.groups) == len(BUNDLED.groups) + 1
