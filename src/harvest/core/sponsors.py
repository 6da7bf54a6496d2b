"""Sponsor names as organisations: the key that makes the obvious spellings of one company one name.

"Pfizer", "Pfizer Inc" and "PFIZER INC." are one company, and "3M" and "3m" are one: FDAAA TrialsTracker
folds case and punctuation (its sponsors are keyed by a slug of the name); harvest also folds accents and
drops the corporate suffixes a company writes or leaves out (Inc, Ltd, LLC, GmbH, S.A., AG, plc, Corporation
and their kin). Nothing else is guessed: "Pfizer" and "Pfizer Pharmaceuticals" keep different keys, and a
watchdog joins them by hand (``harvest sponsors --import``), as EU TrialsTracker does before it publishes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Legal-form words a company name may end with (several may: "Co., Ltd.", "GmbH & Co. KG"), as they read once
# dots are dropped and the name is folded: "S.A." reads "sa", "S.p.A." "spa", "N.V." "nv".
CORPORATE_SUFFIXES = frozenset(
    {
        "inc", "incorporated", "corp", "corporation", "co", "company", "companies", "ltd", "limited", "llc",
        "llp", "lp", "plc", "gmbh", "mbh", "ag", "kg", "kgaa", "sa", "sas", "sarl", "sl", "srl", "spa", "bv",
        "nv", "ab", "as", "asa", "oy", "oyj", "aps", "kk", "pty", "pte", "ulc", "se",
    }
)  # fmt: skip

_DOTS = re.compile(r"\.")
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def _fold(text: str) -> str:
    """Case and accents folded: "Société" and "SOCIETE" read the same."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def sponsor_key(name: str) -> str:
    """The normalised key of a sponsor name: folded, punctuation gone, trailing legal forms dropped.

    >>> sponsor_key("PFIZER INC.") == sponsor_key("Pfizer") == sponsor_key("Pfizer, Inc")
    True
    """
    folded = _fold(name).replace("&", " and ")
    # Dots go without a space, so initials stay one word ("S.A." -> "sa", "M.D. Anderson" -> "md anderson").
    words = _NOT_WORD.sub(" ", _DOTS.sub("", folded)).split()
    while len(words) > 1 and words[-1] in CORPORATE_SUFFIXES:
        words.pop()
        if len(words) > 1 and words[-1] == "and":  # "Eli Lilly and Company", "Johnson & Johnson Co"
            words.pop()
    return " ".join(words) if words else folded.strip()


def preferred_spelling(counts: Iterable[tuple[str, int]]) -> str:
    """The spelling that names an organisation: the one on most trials, then the shortest, then the first in
    alphabetical order (so the choice does not depend on the order the names were found in)."""
    return min(counts, key=lambda item: (-item[1], len(item[0]), item[0]))[0]
