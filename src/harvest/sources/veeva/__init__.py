"""ClinicalTrials.Veeva (ctv.veeva.com): CT.gov records republished as server-rendered HTML.

The site's module is a package: ``page`` reads a page, ``fields`` maps what it shows, ``identity`` matches
a page without an NCT number by title, ``source`` is the ``veeva`` source.

Pages live at ``/study/<slug>`` (the title, cut at 100 characters, slugged)
and are found through the sitemap index; robots.txt disallows
``/study-search``. The parser is label-driven: it reads the page as a reader
sees it (one line per block, via ``htmltext``), finds the headings the site
prints (``Status`` or ``Status and phase``, ``Conditions``, ``Identifiers``,
``About``, ``Enrollment``, ...) and takes the lines that follow each, whatever
tags or classes carry them.

Quirks of the site, all handled here:

- The NCT number is the first line under ``Identifiers``, and only there: the
  block can be empty (seed 004), so a page may show no NCT at all. Such a page
  is identified through ClinicalTrials.gov by exact title, or left unresolved.
- Status words are ctv's own ("Enrolling" = RECRUITING); a word the
  vocabulary does not know is kept in ``unmapped`` and never guessed.
- The title is the brief title plus " (ACRONYM)"; sponsor names may be
  translated ("Civil Hospices of Lyon" for "Hospices Civils de Lyon").
- Locations are loaded by script ("Loading..."), so the HTML never has them.
- One observed render shows the headings with every value missing: a page
  without the values every study page has raises ``LayoutChanged``.
"""

from harvest.sources.veeva.identity import TitleMatch, match_title
from harvest.sources.veeva.source import Veeva

__all__ = ["TitleMatch", "Veeva", "match_title"]
