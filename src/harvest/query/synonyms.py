"""Search synonyms: British and American spellings, and the many names of a few conditions.

The groups ship in ``synonyms.txt`` beside this module (with their sources); ``HARVEST_SYNONYMS`` names a file of
more groups in the same form. Groups that share a name are one group, so a user's file can extend a bundled
group as well as add new ones. A typed word belongs to a group when it is one of its names, or one of them
plus a final "s" (tumours: tumour), compared by ``key``: lower case, common punctuation read as spaces, so
``COVID 19`` and ``covid-19,`` are ``covid 19``. ``key`` does only what SQL's ``lower()`` and ``replace()`` can
do the same way, so the search in SQL (``fts_query``) expands exactly as ``harvest search`` does.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harvest.core.errors import InputError

BUNDLED = Path(__file__).with_name("synonyms.txt")
ENV_VAR = "HARVEST_SYNONYMS"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(text: str) -> str:
    """Lower case as SQLite's ``lower()``: ASCII letters only."""
    return text.translate(_ASCII_LOWER)


# The punctuation read as a space: what sits inside or around the names people type (COVID-19, SARS-CoV/2,
# covid19,). Not all of ASCII's: each is one nested replace() in SQL, and SQLite's parser nests only so deep.
_PUNCTUATION = "-_,.;:/()'!?"
_AS_SPACE = str.maketrans(_PUNCTUATION, " " * len(_PUNCTUATION))
SQUEEZES = 5  # runs of up to 2**5 spaces become one: the same fixed number of passes in SQL (key_sql)


def key(text: str) -> str:
    """What a name or typed words are compared by: lower case, common punctuation as spaces, spaces squeezed."""
    spaced = fold(text).translate(_AS_SPACE)
    for _ in range(SQUEEZES):
        spaced = spaced.replace("  ", " ")
    return spaced.strip(" ")


def key_sql(expression: str) -> str:
    """``key`` in SQL."""
    sql = f"lower({expression})"
    for ch in _PUNCTUATION:
        sql = f"replace({sql}, '{ch.replace(chr(39), chr(39) * 2)}', ' ')"
    for _ in range(SQUEEZES):
        sql = f"replace({sql}, '  ', ' ')"
    return f"trim({sql}, ' ')"


def parse(text: str, where: str) -> list[list[str]]:
    """The groups in a synonyms file: one per line, names separated by commas; ``#`` starts a comment."""
    groups = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        names = [" ".join(fold(name).split()) for name in content.split(",")]
        if any(not name for name in names) or len(names) < 2:
            raise InputError(f"{where}, line {number}: a group is two or more names separated by commas: {line!r}")
        if any(not key(name) for name in names):
            raise InputError(f"{where}, line {number}: a name needs a letter or a digit: {line!r}")
        if any('"' in name or "*" in name for name in names):
            raise InputError(f"{where}, line {number}: a name cannot hold a double quote or a *: {line!r}")
        groups.append(names)
    return groups


def merged(groups: Iterable[list[str]]) -> tuple[tuple[str, ...], ...]:
    """Groups that share a name become one (names in first-seen order)."""
    kept: list[list[str]] = []
    for group in groups:
        sharing = [g for g in kept if set(g) & set(group)]
        target: list[str] = []
        for old in sharing:
            kept.remove(old)
            target.extend(old)
        target.extend(group)
        kept.append(list(dict.fromkeys(target)))
    return tuple(tuple(group) for group in kept)


@dataclass(frozen=True)
class Synonyms:
    """Groups of interchangeable names; ``expand`` gives what a typed word also finds."""

    groups: tuple[tuple[str, ...], ...] = ()
    _index: dict[str, tuple[int, ...]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, list[int]] = {}
        for number, group in enumerate(self.groups):
            for name in group:
                index.setdefault(key(name), []).append(number)
        object.__setattr__(self, "_index", {name: tuple(numbers) for name, numbers in index.items()})

    def expand(self, typed: str, typed_key: str | None = None) -> list[str]:
        """The other names a typed word or phrase also finds, sorted (empty when it is in no group). ``typed_key``:
        its key when it is not ``key(typed)`` (words typed apart: their keys joined by spaces)."""
        typed_key = key(typed) if typed_key is None else typed_key
        numbers = set(self._index.get(typed_key, ()))
        if typed_key.endswith("s"):
            numbers |= set(self._index.get(typed_key[:-1], ()))
        names = {name for number in numbers for name in self.groups[number]}
        return sorted(names - {fold(typed)})

    @property
    def longest(self) -> int:
        """The most words a name's key has (typed words are joined into a name up to this many)."""
        return max((len(key(name).split(" ")) for group in self.groups for name in group), default=1)

    def rows(self) -> list[tuple[int, str, str]]:
        """(group number, key, name) for every name: the table the search in SQL expands with."""
        return [(number, key(name), name) for number, group in enumerate(self.groups) for name in group]


def load(env: Mapping[str, str] | None = None) -> Synonyms:
    """The bundled groups and those of the file ``HARVEST_SYNONYMS`` names (if set)."""
    groups = parse(BUNDLED.read_text(encoding="utf-8"), str(BUNDLED.name))
    extra = (env if env is not None else os.environ).get(ENV_VAR, "").strip()
    if extra:
        path = Path(extra).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{ENV_VAR}={extra!r}: cannot read it ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise InputError(f"{ENV_VAR}={extra!r}: not UTF-8 text") from None
        groups += parse(text, extra)
    return Synonyms(merged(groups))


NONE = Synonyms()
