"""The canonical study: the one shape every source maps onto and the store writes.

Values use ClinicalTrials.gov's API enum words (RECRUITING, PHASE2, ...), dates
keep the precision and type their source gave, text is stored as given
(markdown escapes and all). A value the schema rejects fails validation with a
message naming the field, so a parser bug is caught before anything is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from harvest.core.dates import DateFormatError, check_iso_partial
from harvest.core.errors import InvalidRecord
from harvest.core.ids import NCT_RE, IdScheme
from harvest.core.vocab import InterventionType, OverallStatus, Phase, Sex, StudyType

DateType = Literal["ACTUAL", "ESTIMATED"]
NctResolution = Literal["api", "url", "identifiers", "label", "title-exact"]


def _check_nct(value: str) -> str:
    if not NCT_RE.match(value):
        raise ValueError(f"{value!r} is not an NCT number (NCT + 8 digits)")
    return value


def _check_partial_date(value: str) -> str:
    try:
        return check_iso_partial(value)
    except DateFormatError as exc:
        raise ValueError(str(exc)) from None


NctId = Annotated[str, AfterValidator(_check_nct)]
IsoPartialDate = Annotated[str, AfterValidator(_check_partial_date)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PartialDate(_Model):
    """A date as precise as its source said: '2020', '2020-02' or '2020-02-10', actual or estimated."""

    value: IsoPartialDate
    type: DateType | None = None

    @property
    def precision(self) -> str:
        return {4: "year", 7: "month", 10: "day"}[len(self.value)]


class Intervention(_Model):
    type: InterventionType | None = None
    name: str
    description: str | None = None


class Location(_Model):
    facility: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    status: OverallStatus | None = None


class Contact(_Model):
    """A named person or office: central contacts and overall officials."""

    role: str  # CENTRAL_CONTACT, PRINCIPAL_INVESTIGATOR, STUDY_CHAIR, STUDY_DIRECTOR, ...
    name: str | None = None
    affiliation: str | None = None
    phone: str | None = None
    email: str | None = None


class SecondaryId(_Model):
    scheme: IdScheme
    value: str = Field(min_length=1)
    domain: str | None = None


class Collaborator(_Model):
    """An organisation that helps run the trial, and its agency class where the source gives one."""

    name: str = Field(min_length=1)
    # CT.gov's agency class (NIH, FED, OTHER_GOV, INDIV, INDUSTRY, NETWORK, AMBIG, OTHER, UNKNOWN), as given.
    sponsor_class: str | None = None


class Provenance(_Model):
    """Where a source record came from, and how its NCT number was established."""

    source: str
    url: str
    fetched_at: dt.datetime
    nct_resolution: NctResolution | None = None
    language: str | None = None


# No trial enrolls a billion people; a larger number is a garbled page, and could not be stored as an INTEGER.
MAX_ENROLLMENT = 10**9


class Study(_Model):
    """One trial as one source described it (or, after merging, as harvest believes it is)."""

    nct_id: NctId
    nct_aliases: list[NctId] = Field(default_factory=list)
    brief_title: str | None = None
    official_title: str | None = None
    acronym: str | None = None
    overall_status: OverallStatus | None = None
    last_known_status: OverallStatus | None = None
    why_stopped: str | None = None
    status_verified_date: PartialDate | None = None
    study_type: StudyType | None = None
    phases: list[Phase] = Field(default_factory=list)
    start_date: PartialDate | None = None
    primary_completion_date: PartialDate | None = None
    completion_date: PartialDate | None = None
    first_posted: PartialDate | None = None
    last_update_posted: PartialDate | None = None
    enrollment: int | None = Field(default=None, ge=0, le=MAX_ENROLLMENT)
    enrollment_type: DateType | None = None
    allocation: str | None = None
    intervention_model: str | None = None
    primary_purpose: str | None = None
    masking: str | None = None
    sex: Sex | None = None
    minimum_age: str | None = None
    maximum_age: str | None = None
    healthy_volunteers: bool | None = None
    eligibility_criteria: str | None = None
    brief_summary: str | None = None
    detailed_description: str | None = None
    conditions: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    interventions: list[Intervention] = Field(default_factory=list)
    lead_sponsor: str | None = None
    lead_sponsor_class: str | None = None
    collaborators: list[Collaborator] = Field(default_factory=list)
    locations: list[Location] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)
    identifiers: list[SecondaryId] = Field(default_factory=list)
    has_results: bool | None = None
    # Display words a parser found but could not map (field -> word as shown); kept, reported, never guessed.
    unmapped: dict[str, str] = Field(default_factory=dict)
    provenance: Provenance

    @field_validator(
        "brief_title",
        "official_title",
        "acronym",
        "why_stopped",
        "eligibility_criteria",
        "brief_summary",
        "detailed_description",
        "lead_sponsor",
        "minimum_age",
        "maximum_age",
    )
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value if value is None or value.strip() else None

    @field_validator("collaborators", mode="before")
    @classmethod
    def _names_are_collaborators(cls, value: Any) -> Any:
        """Mirrors show names only, and records stored before classes were kept hold plain names."""
        if isinstance(value, list):
            return [{"name": item} if isinstance(item, str) else item for item in value]
        return value

    def content_hash(self) -> str:
        """Hash of what the record says, not of when or where it was fetched.

        The raw API JSON changes at every data release (versionHolder, reordered
        derived lists) even when the study did not, so change detection hashes this.
        """
        # pydantic's serializer is deterministic (declaration order) and several times faster than json.dumps
        return _digest(self.model_dump_json(exclude={"provenance"}))

    def record_json(self) -> tuple[str, str]:
        """The record as JSON (all of it, as ``source_records.record`` holds it) and its ``content_hash``.

        The store needs both for every record it writes; this serialises once instead of twice. The
        provenance is the last field, so the record without it is the JSON up to that key, closed: the same
        text ``content_hash`` hashes. (Inside JSON strings every quote is escaped, so the key cannot be
        mistaken for text.)
        """
        text = self.model_dump_json()
        cut = text.rfind(_PROVENANCE_KEY)
        if cut < 0:  # pragma: no cover - provenance is required, so always serialised
            return text, self.content_hash()
        return text, _digest(text[:cut] + "}")

    def populated_fields(self) -> set[str]:
        return {name for name in STUDY_FIELDS if not is_empty(getattr(self, name))}


_PROVENANCE_KEY = ',"provenance":'


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# The fields that describe a trial (merge, provenance and change history work field by field over these).
STUDY_FIELDS: tuple[str, ...] = tuple(
    name for name in Study.model_fields if name not in {"nct_id", "provenance", "unmapped"}
)


def is_empty(value: Any) -> bool:
    return value is None or value == [] or value == {} or value == ""


def content_hash(data: Any) -> str:
    """The digest of any JSON-able value, keys sorted (a merged study's attribution, for one)."""
    return _digest(json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")))


def build_study(data: dict[str, Any], *, url: str | None = None) -> Study:
    """Validate parsed data into a Study, turning pydantic's report into one line naming the fields."""
    try:
        return Study.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:3]:
            where = ".".join(str(part) for part in error["loc"])
            problems.append(f"{where}: {error['msg']}")
        more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
        raise InvalidRecord("invalid record: " + "; ".join(problems) + more, url=url) from None
