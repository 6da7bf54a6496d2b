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
  names: ``tumour`` is ``("tumour" OR "tumor")``. So do unquoted words that together are a name (the longest
  such run, from the left): ``coronavirus disease 2019 vaccine`` is ``(("coronavirus" "disease" "2019") OR
  "covid-19" OR …) AND "vaccine"``: the words anywhere, as before, or any other name.

The SQL form is checked against the Python one, string for string, by a property test.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from harvest.core.errors import QueryError
from harvest.query.synonyms import NONE, Synonyms, key, key_sql

# A double-quoted phrase, or a run of non-space characters.
_TERM = re.compile(r'"([^"]*)"|(\S+)')
_NO_WORDS = string.punctuation + " "  # a term of these characters alone holds no token
_NCT = re.compile(r"[Nn][Cc][Tt][0-9]{8}")
_WHITE = "\t\n\v\f\r"  # turned into spaces before the text is split (as the SQL form does)


@dataclass(frozen=True)
class Term:
    """One term of a typed query: ``text`` as typed (a phrase without its quotes), or ``words``: unquoted words
    that together are a synonym's name (``text`` is them joined by spaces)."""

    text: str
    prefix: bool = False
    words: tuple[str, ...] = ()

    def quoted(self) -> str:
        """The term alone in FTS5 syntax: a phrase, a prefix, or its words (each must match, anywhere)."""
        if self.words:
            return "(" + " ".join(_quoted(word) for word in self.words) + ")"
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


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def parse(text: str, synonyms: Synonyms = NONE) -> Query:
    """Take apart what a person typed (see the module's rules); a query with no word is a ``QueryError``."""
    spaced = (text or "").translate({ord(ch): " " for ch in _WHITE})
    typed: list[tuple[str, bool, bool]] = []  # (term, prefix, quoted)
    for phrase, word in _TERM.findall(spaced):
        prefix = bool(word) and word.endswith("*")
        term = phrase if phrase else (word.rstrip("*") if prefix else word)
        if term.strip(_NO_WORDS):
            typed.append((term, prefix, bool(phrase)))
    if not typed:
        raise QueryError(f"nothing to search for in {text!r} (give at least one word)")
    if all(not prefix and _NCT.fullmatch(term) for term, prefix, _ in typed):
        terms = tuple(Term(term) for term, _, _ in typed)
        return Query(terms, tuple(() for _ in terms), tuple(term.upper() for term, _, _ in typed))
    terms = _runs(typed, synonyms)
    expansions = tuple(() if t.prefix else tuple(synonyms.expand(t.text, _key(t))) for t in terms)
    return Query(terms, expansions, ())


def _key(term: Term) -> str:
    return " ".join(key(word) for word in term.words) if term.words else key(term.text)


def _runs(typed: list[tuple[str, bool, bool]], synonyms: Synonyms) -> tuple[Term, ...]:
    """The terms, unquoted words that together are a synonym's name joined into one (the longest, leftmost)."""
    terms, i = [], 0
    while i < len(typed):
        length = 1
        for span in range(min(synonyms.longest, len(typed) - i), 1, -1):
            words = typed[i : i + span]
            unquoted = all(not prefix and not quoted for _, prefix, quoted in words)
            run_key = " ".join(key(term) for term, _, _ in words)
            if unquoted and synonyms.expand(" ".join(term for term, _, _ in words), run_key):
                length = span
                break
        if length > 1:
            words = tuple(term for term, _, _ in typed[i : i + length])
            terms.append(Term(" ".join(words), words=words))
        else:
            terms.append(Term(typed[i][0], typed[i][1]))
        i += length
    return tuple(terms)


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
  terms(n, term, prefix, quoted) AS (
    SELECT n, CASE WHEN quoted THEN substr((SELECT rest FROM scan WHERE scan.n = pieces.n), 2, closing - 1)
        ELSE rtrim(word, '*') END,
      NOT quoted AND substr(word, -1) = '*', quoted
    FROM pieces
  ),"""

_NCT_GLOB = "NCT" + "[0-9]" * 8


_NO_WORDS_SQL = "'" + _NO_WORDS.replace("'", "''") + "'"


def query_sql(synonyms: Synonyms = NONE) -> str:
    """``WITH RECURSIVE`` CTEs ending in ``expression(fts)``: ``parse(:q, synonyms).expression`` in SQL (``'""'``,
    matching nothing, when nothing was typed), and ``matched(n, term, q, name)``: each term's synonyms (``q``: the
    term alone in FTS5 syntax)."""
    rows = synonyms.rows()
    names = (
        "VALUES " + ", ".join(f"({number}, {_literal(name_key)}, {_literal(name)})" for number, name_key, name in rows)
        if rows
        else "SELECT NULL, NULL, NULL WHERE 0"
    )
    return f"""WITH RECURSIVE{_SCAN}
  kept(n, term, prefix, quoted) AS (
    SELECT row_number() OVER (ORDER BY n), term, prefix, quoted FROM terms
    WHERE trim(term, {_NO_WORDS_SQL}) != ''
  ),
  synonym(grp, key, name) AS ({names}),
  keyed(n, term, prefix, quoted, key) AS (SELECT n, term, prefix, quoted, {key_sql("term")} FROM kept),
  runs(n, span, key) AS (
    SELECT n, 1, key FROM keyed WHERE NOT prefix AND NOT quoted
    UNION ALL
    SELECT r.n, r.span + 1, r.key || ' ' || x.key FROM runs r JOIN keyed x ON x.n = r.n + r.span
    WHERE NOT x.prefix AND NOT x.quoted AND r.span < {synonyms.longest}
  ),
  named(n, span, key) AS (
    SELECT n, span, key FROM runs r
    WHERE span > 1 AND EXISTS (SELECT 1 FROM synonym s WHERE s.key = r.key OR s.key || 's' = r.key)
  ),
  walk(n, span) AS (
    SELECT 1, coalesce((SELECT max(span) FROM named WHERE n = 1), 1) WHERE EXISTS (SELECT 1 FROM kept)
    UNION ALL
    SELECT w.n + w.span, coalesce((SELECT max(span) FROM named d WHERE d.n = w.n + w.span), 1) FROM walk w
    WHERE w.n + w.span <= (SELECT max(n) FROM kept)
  ),
  units(n, term, prefix, key, q) AS (
    SELECT w.n,
      (SELECT group_concat(term, ' ') FROM (SELECT term FROM kept k WHERE k.n >= w.n AND k.n < w.n + w.span
          ORDER BY k.n)),
      w.span = 1 AND k.prefix,
      CASE WHEN w.span = 1 THEN k.key ELSE (SELECT key FROM named d WHERE d.n = w.n AND d.span = w.span) END,
      CASE WHEN w.span = 1 THEN '"' || replace(k.term, '"', '""') || '"' || CASE WHEN k.prefix THEN '*' ELSE '' END
        ELSE '(' || (SELECT group_concat('"' || replace(term, '"', '""') || '"', ' ') FROM (SELECT term FROM kept x
          WHERE x.n >= w.n AND x.n < w.n + w.span ORDER BY x.n)) || ')' END
    FROM walk w JOIN keyed k ON k.n = w.n
  ),
  matched(n, term, q, name) AS (
    SELECT DISTINCT u.n, u.term, u.q, b.name FROM units u
    JOIN synonym a ON a.key = u.key OR a.key || 's' = u.key
    JOIN synonym b ON b.grp = a.grp
    WHERE NOT u.prefix AND b.name != lower(u.term)
  ),
  numbers(alone) AS (
    SELECT count(*) > 0 AND count(*) = (SELECT count(*) FROM kept) FROM kept
    WHERE NOT prefix AND upper(term) GLOB '{_NCT_GLOB}'
  ),
  plain(text) AS (
    SELECT group_concat(q, ' ') FROM (SELECT q FROM units WHERE n NOT IN (SELECT n FROM matched) ORDER BY n)
  ),
  grouped(text) AS (
    SELECT group_concat(g, ' AND ') FROM (
      SELECT '(' || q || ' OR ' || (SELECT group_concat('"' || name || '"', ' OR ')
          FROM (SELECT name FROM matched m WHERE m.n = units.n ORDER BY name)) || ')' AS g
      FROM units WHERE n IN (SELECT n FROM matched) ORDER BY n)
  ),
  expression(fts) AS (
    SELECT CASE
      WHEN (SELECT alone FROM numbers) THEN 'nct_id : (' || (SELECT group_concat('"' || upper(term) || '"', ' OR ')
          FROM (SELECT term FROM kept ORDER BY n)) || ')'
      WHEN (SELECT text FROM grouped) IS NULL THEN coalesce((SELECT text FROM plain), '""')
      ELSE coalesce('(' || (SELECT text FROM plain) || ') AND ', '') || (SELECT text FROM grouped)
    END
  )"""
