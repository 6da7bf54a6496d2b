"""Builders of trials for the compliance tests: real API v2 records from fixtures/ctgov/studies with one thing
changed (each test names the case it builds), stored as a run stores them, and judged at a fixed date."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harvest.core.records import SourceRecord
from harvest.query import compliance
from harvest.sources.base import Batch
from harvest.sources.ctgov import ClinicalTrialsGov
from harvest.store.database import Store
from tests.conftest import STUDIES, apply, load_study, parse_ctgov

AS_OF = dt.date(2025, 1, 1)
REAL = sorted(p.name.removesuffix(".json") for p in STUDIES.glob("NCT*.json") if ".reconstructed." not in p.name)

Record = dict[str, Any]


def built(nct: str, *changes: Callable[[Record], None]) -> Record:
    """A copy of the real record ``nct`` with ``changes`` applied."""
    record = copy.deepcopy(load_study(nct))
    for change in changes:
        change(record)
    return record


def status_module(record: Record) -> Record:
    return record["protocolSection"]["statusModule"]


def results_submitted(day: str | None) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        if day is None:
            status_module(record).pop("resultsFirstSubmitDate", None)
        else:
            status_module(record)["resultsFirstSubmitDate"] = day

    return change


def certificate(day: str | None) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        if day is None:
            status_module(record).pop("dispFirstSubmitDate", None)
        else:
            status_module(record)["dispFirstSubmitDate"] = day

    return change


def completed(day: str) -> Callable[[Record], None]:
    """Both completion dates moved to ``day``."""

    def change(record: Record) -> None:
        status_module(record)["primaryCompletionDateStruct"] = {"date": day, "type": "ACTUAL"}
        status_module(record)["completionDateStruct"] = {"date": day, "type": "ACTUAL"}

    return change


def primary_completion(day: str) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        status_module(record)["primaryCompletionDateStruct"] = {"date": day, "type": "ACTUAL"}

    return change


def started(day: str) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        status_module(record)["startDateStruct"] = {"date": day, "type": "ACTUAL"}

    return change


def status(word: str) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        status_module(record)["overallStatus"] = word

    return change


def phases(*words: str) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        record["protocolSection"]["designModule"]["phases"] = list(words)

    return change


def purpose(word: str) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        record["protocolSection"]["designModule"]["designInfo"]["primaryPurpose"] = word

    return change


def fda_flags(drug: bool, device: bool) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        oversight = record["protocolSection"].setdefault("oversightModule", {})
        oversight["isFdaRegulatedDrug"] = drug
        oversight["isFdaRegulatedDevice"] = device

    return change


def us_sites_in(country: str | None) -> Callable[[Record], None]:
    """Every United States site moved to ``country``, or dropped (None)."""

    def change(record: Record) -> None:
        module = record["protocolSection"]["contactsLocationsModule"]
        kept = []
        for location in module["locations"]:
            if location.get("country") == "United States":
                if country is None:
                    continue
                location["country"] = country
            kept.append(location)
        module["locations"] = kept

    return change


def renumbered(nct: str) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        record["protocolSection"]["identificationModule"]["nctId"] = nct

    return change


def store_of(path: Path, source: ClinicalTrialsGov, *records: Record) -> Store:
    store = Store(path)
    batch = []
    for raw in records:
        study = parse_ctgov(source, raw)
        batch.append(
            SourceRecord("ctgov", f"/studies/{study.nct_id}", study.provenance.url, study, json.dumps(raw).encode())
        )
    apply(store, Batch(records=batch), source="ctgov")
    return store


def judged(
    tmp_path: Path, source: ClinicalTrialsGov, *records: Record, as_of: dt.date = AS_OF, standard: str = "fdaaa"
) -> dict[str, dict[str, Any]]:
    """NCT number -> its results_compliance row at ``as_of``, for a file holding ``records``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    store = store_of(tmp_path / "h.db", source, *records)
    try:
        rows = compliance.trials(store.db.conn, as_of, standard=standard)
    finally:
        store.close()
    return {row[0]: dict(zip(compliance.RESULT_COLUMNS, row, strict=True)) for row in rows}


def one(
    tmp_path: Path, source: ClinicalTrialsGov, record: Record, as_of: dt.date = AS_OF, standard: str = "fdaaa"
) -> dict[str, Any]:
    (row,) = judged(tmp_path, source, record, as_of=as_of, standard=standard).values()
    return row


def outcome_of(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["act_kind"],
        row["completion_date_used"],
        row["due_date"],
        row["outcome"],
        row["days_late"],
        row["finable_days_late"],
    )


def lead_sponsor(name: str) -> Callable[[Record], None]:
    def change(record: Record) -> None:
        record["protocolSection"]["sponsorCollaboratorsModule"]["leadSponsor"]["name"] = name

    return change


def submitted_to_qc(*submissions: dict[str, Any]) -> Callable[[Record], None]:
    """Submissions of results to the registry's quality control, as API v2 carries them (shaped as the OpenAPI
    spec in fixtures/ctgov/openapi declares: ``derivedSection.miscInfoModule.submissionTracking.submissionInfos``,
    each with ``releaseDate`` and maybe ``resetDate``, ``unreleaseDate`` or ``unreleaseDateUnknown``) and, from
    the same dates, the ``unpostedEvents`` annotation (RELEASE, RESET, UNRELEASE)."""

    def change(record: Record) -> None:
        infos = [dict(item, mcpReleaseN=n) for n, item in enumerate(submissions, 1)]
        misc = record.setdefault("derivedSection", {}).setdefault("miscInfoModule", {})
        misc["submissionTracking"] = {"submissionInfos": infos}
        events = []
        for item in submissions:
            events.append({"type": "RELEASE", "date": item["releaseDate"]})
            if "resetDate" in item:
                events.append({"type": "RESET", "date": item["resetDate"]})
            if "unreleaseDate" in item:
                events.append({"type": "UNRELEASE", "date": item["unreleaseDate"]})
            elif item.get("unreleaseDateUnknown"):
                events.append({"type": "UNRELEASE", "dateUnknown": True})
        annotation = record.setdefault("annotationSection", {}).setdefault("annotationModule", {})
        annotation["unpostedAnnotation"] = {"unpostedResponsibleParty": "built", "unpostedEvents": events}

    return change


def row_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(compliance.RESULT_COLUMNS, row, strict=True))


def add_version(store: Store, nct: str, version: int, day: str, record: Record, source: ClinicalTrialsGov) -> None:
    """One past version of a trial, as ``harvest history`` stores it (``study_versions``)."""
    study = parse_ctgov(source, record)
    text, digest = study.record_json()
    store.conn.execute(
        "INSERT INTO study_versions (nct_id, version, version_date, overall_status, content_hash, record) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (nct, version, day, study.overall_status, digest, text),
    )


def last_updated(day: str) -> Callable[[Record], None]:
    """The record's own version date (``lastUpdateSubmitDate``): it stands from then on."""

    def change(record: Record) -> None:
        status_module(record)["lastUpdateSubmitDate"] = day

    return change
