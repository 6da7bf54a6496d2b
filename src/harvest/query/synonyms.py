"""Search synonyms: British and American spellings, and the many names of a few conditions.

The groups ship in ``synonyms.txt`` beside this module (with their sources); ``HARVEST_SYNONYMS`` names a file of
more groups in the same form. Groups that share a name are one group, so a user's file can extend a bundled
group as well as add new ones. A typed word belongs to a group when it is one of its names, or one of them
plus a final "s" (tumours: tumour), compared in lower case (ASCII letters only, as SQLite's ``lower()`` does,
so the search in SQL (``fts_query``) expands exactly as ``harvest search`` does).
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
        if any('"' in name or "*" in name for name in names):
            raise InputError(f"{where}, line {number}: a name cannot hold a double quote or a *: {line!r}")
        groups.append(names)
    return groups


def _merged(groups: Iterable[list[str]]) -> tuple[tuple[str, ...], ...]:
    """Groups that share a name become one (names in first-seen order)."""
    merged: list[list[str]] = []
    for group in groups:
        joined = [g for g in merged if set(g) & set(group)]
        target: list[str] = []
        for old in joined:
            merged.remove(old)
            target.extend(old)
        target.extend(group)
        merged.append(list(dict.fromkeys(target)))
    return tuple(tuple(group) for group in merged)


@dataclass(frozen=True)
class Synonyms:
    """Groups of interchangeable names; ``expand`` gives what a typed word also finds."""

    groups: tuple[tuple[str, ...], ...] = ()
    _index: dict[str, tuple[int, ...]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, list[int]] = {}
        for number, group in enumerate(self.groups):
            for name in group:
                index.setdefault(name, []).append(number)
        object.__setattr__(self, "_index", {name: tuple(numbers) for name, numbers in index.items()})

    def expand(self, typed: str) -> list[str]:
        """The other names a typed word or phrase also finds, sorted (empty when it is in no group)."""
        key = fold(typed)
        numbers = set(self._index.get(key, ()))
        if key.endswith("s"):
            numbers |= set(self._index.get(key[:-1], ()))
        names = {name for number in numbers for name in self.groups[number]}
        return sorted(names - {key})

    def rows(self) -> list[tuple[int, str]]:
        """(group number, name) for every name: the table the search in SQL expands with."""
        return [(number, name) for number, group in enumerate(self.groups) for name in group]


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
    return Synonyms(_merged(groups))


NONE = Synonyms()
