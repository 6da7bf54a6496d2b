"""Rows of the registry's results-submission tracking: what was submitted to its quality control, and when.

Results sent to ClinicalTrials.gov are checked (quality control, QC) before they are posted; until then the
record has no ``resultsFirstSubmitDate`` but tracks each submission: ``submissions`` (the API's
``submissionTracking.submissionInfos``, one row per submission with its return and cancellation) and
``pending_results`` (the ``unpostedEvents`` annotation, one row per event, as AACT shapes it). The compliance
rules count a submission as reporting unless the sponsor cancelled it.
"""

from __future__ import annotations

from harvest.core.rows import TableRow


class Submission(TableRow):
    """One submission of results to the registry's quality control."""

    release_date: str | None = None  # submitted (released) to the registry
    reset_date: str | None = None  # returned to the sponsor after review
    unrelease_date: str | None = None  # cancelled by the sponsor
    unrelease_date_unknown: bool | None = None  # cancelled, on a date the registry does not know
    mcp_release_n: int | None = None  # the registry's submission number


class PendingResult(TableRow):
    """One event of results not yet posted (AACT: pending_results)."""

    event: str | None = None  # RELEASE, RESET or UNRELEASE
    event_date_description: str | None = None  # the date as written
    event_date: str | None = None
