"""What a person types into a search box, as an FTS5 query: in Python (``harvest search``) and, the same, in SQL
(the canned query ``search_studies``, where Datasette binds the typed text as ``:q``).

The rules, in the order they apply:

- Words are separated by white space; a "double-quoted phrase" is one term; a trailing ``*`` makes a word a
  prefix (``immuno*``). ``OR``, ``NOT``, ``-``, ``:`` and brackets are plain words. A term of ASCII punctuation
  alone has no words and is left out.
- Every term must match, in any column of the index (``store.fts``).
- When every term is an NCT number, the query is those trials: the ``nct_id`` column of the index holds each
  trial's NCT number, former numbers (aliases) and secondary IDs, so an old number finds the trial it became.
- A term (not a prefix) that is a name in a synonyms group (``query.synonyms``) also finds the group's other
  names: ``tumour`` is ``("tumour" OR "tumor")``.

The SQL form is checked against the Python one, string for string, by a property test.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from harvest.core.errors import QueryError
from harvest.query.synonyms import NONE, Synonyms

# A double-quoted phrase, or a run of non-space characters.
_TERM = re.compile(r'"([^"]*)"|(\S+)')
_NO_WORDS = string.punctuation + " "  # a term of these characters alone holds no token
_NCT = re.compile(r"[Nn][Cc][Tt][0-9]{8}")
_WHITE = "\t\n\v\f\r"  # turned into spaces before the text is split (as the SQL form does)


@dataclass(frozen=True)
class Term:
    """One term of a typed query: ``text`` as typed (a phrase without its quotes)."""

    text: str
    prefix: bool = False

    def quoted(self) -> str:
        return _quoted(self.text) + ("*" if self.prefix else "")


@dataclass(frozen=True)
class Query:
    """A typed query taken apart: its terms, the other names each term also finds, and the FTS5 expression."""

    terms: tuple[Term, ...]
    expansions: tuple[tuple[str, ...], ...]  # per term: the synonyms it also finds (empty: none)
    nct_ids: tuple[str, ...]  # when every term is an NCT number: those numbers (upper case)

    @property
    def expression(self) -> str:
        if self.nct_ids:
            return "nct_id : (" + " OR ".join(_quoted(n) for n in self.nct_ids) + ")"
        plain = [t.quoted() for t, more in zip(self.terms, self.expansions, strict=True) if not more]
        grouped = [
            "(" + " OR ".join([t.quoted(), *(_quoted(name) for name in more)]) + ")"
            for t, more in zip(self.terms, self.expansions, strict=True)
            if more
        ]
        if not grouped:
            return " ".join(plain)
        # Plain terms stay together (FTS5's implicit AND); an explicit AND joins them to the groups.
        return " AND ".join(([f"({' '.join(plain)})"] if plain else []) + grouped)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def parse(text: str, synonyms: Synonyms = NONE) -> Query:
    """Take apart what a person typed (see the module's rules); a query with no word is a ``QueryError``."""
    spaced = (text or "").translate({ord(ch): " " for ch in _WHITE})
    terms = []
    for phrase, word in _TERM.findall(spaced):
        prefix = bool(word) and word.endswith("*")
        term = phrase if phrase else (word.rstrip("*") if prefix else word)
        if term.strip(_NO_WORDS):
            terms.append(Term(term, prefix))
    if not terms:
        raise QueryError(f"nothing to search for in {text!r} (give at least one word)")
    if all(not t.prefix and _NCT.fullmatch(t.text) for t in terms):
        return Query(tuple(terms), tuple(() for _ in terms), tuple(t.text.upper() for t in terms))
    expansions = tuple(() if t.prefix else tuple(synonyms.expand(t.text)) for t in terms)
    return Query(tuple(terms), expansions, ())


def plain_query(text: str, synonyms: Synonyms = NONE) -> str:
    """Turn what a person typed into an FTS5 query that cannot be a syntax error."""
    return parse(text, synonyms).expression


# -- the same in SQL ------------------------------------------------------------------------------------

# A typed query (:q) taken apart in SQL. Whitespace is spaces, tabs and line breaks; a "phrase" runs to the
# next double quote; any other run of non-spaces is a word, a trailing * making it a prefix.
_SCAN = r"""
  typed(text) AS (SELECT replace(replace(replace(replace(replace(coalesce(:q, ''),
      char(9), ' '), char(10), ' '), char(11), ' '), char(12), ' '), char(13), ' ')),
  scan(n, rest) AS (
    SELECT 0, ltrim(text, ' ') FROM typed
    UNION ALL
    SELECT n + 1, ltrim(CASE
        WHEN substr(rest, 1, 1) = '"' AND instr(substr(rest, 2), '"') > 0
          THEN substr(rest, instr(substr(rest, 2), '"') + 2)
        WHEN instr(rest, ' ') > 0 THEN substr(rest, instr(rest, ' '))
        ELSE '' END, ' ')
    FROM scan WHERE rest != ''
  ),
  pieces(n, quoted, closing, word) AS (
    SELECT n, substr(rest, 1, 1) = '"' AND instr(substr(rest, 2), '"') > 0, instr(substr(rest, 2), '"'),
      CASE WHEN instr(rest, ' ') > 0 THEN substr(rest, 1, instr(rest, ' ') - 1) ELSE rest END
    FROM scan WHERE rest != ''
  ),
  terms(n, term, prefix) AS (
    SELECT n, CASE WHEN quoted THEN substr((SELECT rest FROM scan WHERE scan.n = pieces.n), 2, closing - 1)
        ELSE rtrim(word, '*') END,
      NOT quoted AND substr(word, -1) = '*'
    FROM pieces
  ),"""

_NCT_GLOB = "NCT" + "[0-9]" * 8


_NO_WORDS_SQL = "'" + _NO_WORDS.replace("'", "''") + "'"


def query_sql(synonyms: Synonyms = NONE) -> str:
    """``WITH RECURSIVE`` CTEs ending in ``expression(fts)``: ``parse(:q, synonyms).expression`` in SQL (``'""'``,
    matching nothing, when nothing was typed), and ``matched(n, term, name)``: each term's synonyms."""
    rows = synonyms.rows()
    names = (
        "VALUES " + ", ".join(f"({number}, '{name.replace(chr(39), chr(39) * 2)}')" for number, name in rows)
        if rows
        else "SELECT NULL, NULL WHERE 0"
    )
    return f"""WITH RECURSIVE{_SCAN}
  kept(n, term, prefix) AS (
    SELECT n, term, prefix FROM terms
    WHERE trim(term, {_NO_WORDS_SQL}) != ''
  ),
  synonym(grp, name) AS ({names}),
  matched(n, term, name) AS (
    SELECT DISTINCT k.n, k.term, b.name FROM kept k
    JOIN synonym a ON a.name = lower(k.term) OR a.name || 's' = lower(k.term)
    JOIN synonym b ON b.grp = a.grp
    WHERE NOT k.prefix AND b.name != lower(k.term)
  ),
  quoted(n, q) AS (
    SELECT n, '"' || replace(term, '"', '""') || '"' || CASE WHEN prefix THEN '*' ELSE '' END FROM kept
  ),
  numbers(alone) AS (
    SELECT count(*) > 0 AND count(*) = (SELECT count(*) FROM kept) FROM kept
    WHERE NOT prefix AND upper(term) GLOB '{_NCT_GLOB}'
  ),
  plain(text) AS (
    SELECT group_concat(q, ' ') FROM (SELECT q FROM quoted WHERE n NOT IN (SELECT n FROM matched) ORDER BY n)
  ),
  grouped(text) AS (
    SELECT group_concat(g, ' AND ') FROM (
      SELECT '(' || q || ' OR ' || (SELECT group_concat('"' || name || '"', ' OR ')
          FROM (SELECT name FROM matched m WHERE m.n = quoted.n ORDER BY name)) || ')' AS g
      FROM quoted WHERE n IN (SELECT n FROM matched) ORDER BY n)
  ),
  expression(fts) AS (
    SELECT CASE
      WHEN (SELECT alone FROM numbers) THEN 'nct_id : (' || (SELECT group_concat('"' || upper(term) || '"', ' OR ')
          FROM (SELECT term FROM kept ORDER BY n)) || ')'
      WHEN (SELECT text FROM grouped) IS NULL THEN coalesce((SELECT text FROM plain), '""')
      ELSE coalesce('(' || (SELECT text FROM plain) || ') AND ', '') || (SELECT text FROM grouped)
    END
  )"""
