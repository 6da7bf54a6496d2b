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

from harvest.core.coerce import repair
from harvest.core.dates import DateFormatError, check_iso_partial
from harvest.core.errors import InvalidRecord
from harvest.core.ids import NCT_RE, IdScheme
from harvest.core.protocol import (
    BrowseBranch,
    BrowseLeaf,
    BrowseTerm,
    DesignGroup,
    DesignGroupIntervention,
    DesignOutcome,
    IdInformation,
    InterventionOtherName,
    IpdDocument,
    IpdInformationType,
    Link,
    LocationContact,
    ProvidedDocument,
    RemovedCountry,
    Retraction,
    StudyReference,
)
from harvest.core.results import (
    BaselineCount,
    BaselineMeasurement,
    DropWithdrawal,
    Milestone,
    Outcome,
    OutcomeAnalysis,
    OutcomeCount,
    OutcomeMeasurement,
    ReportedEvent,
    ReportedEventTotal,
    ResultAgreement,
    ResultContact,
    ResultGroup,
)
from harvest.core.rows import row_model
from harvest.core.tracking import PendingResult, Submission
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
    # Enum fields hold their plain values (``"RECRUITING"``, equal to ``OverallStatus.RECRUITING``): rows built from
    # a study then hold plain strings, which a parse worker sends to the writer at half the cost of enum members.
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=True)


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
    latitude: float | None = None
    longitude: float | None = None


class Contact(_Model):
    """A named person or office: central contacts and overall officials."""

    role: str  # CENTRAL_CONTACT, PRINCIPAL_INVESTIGATOR, STUDY_CHAIR, STUDY_DIRECTOR, ...
    name: str | None = None
    affiliation: str | None = None
    phone: str | None = None
    email: str | None = None
    phone_ext: str | None = None
    # Which list the source gave it in: central (contacts for enrolment) or official (who oversees the trial).
    kind: Literal["central", "official"] | None = None


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
    # Submission and posting dates (QC: when the registry's quality control finished).
    first_submitted: IsoPartialDate | None = None
    first_submitted_qc: IsoPartialDate | None = None
    results_first_submitted: IsoPartialDate | None = None
    results_first_submitted_qc: IsoPartialDate | None = None
    results_first_posted: PartialDate | None = None
    disp_first_submitted: IsoPartialDate | None = None  # certificate of delay for results
    disp_first_submitted_qc: IsoPartialDate | None = None
    disp_first_posted: PartialDate | None = None
    last_update_submitted: IsoPartialDate | None = None
    results_waived: bool | None = None
    delayed_posting: bool | None = None
    has_expanded_access: bool | None = None
    expanded_access_nctid: str | None = None  # the expanded-access record of this trial's drug
    expanded_access_status_for_nctid: str | None = None  # AVAILABLE, NO_LONGER_AVAILABLE, ...
    expanded_access_type_individual: bool | None = None  # (expanded-access records) for individual patients
    expanded_access_type_intermediate: bool | None = None
    expanded_access_type_treatment: bool | None = None
    # Oversight (FDAAA 801)
    is_fda_regulated_drug: bool | None = None
    is_fda_regulated_device: bool | None = None
    is_unapproved_device: bool | None = None
    is_ppsd: bool | None = None
    is_us_export: bool | None = None
    has_dmc: bool | None = None
    fdaaa801_violation: bool | None = None
    # Sponsor and responsible party
    organization: str | None = None  # the organisation that registered the trial (AACT: source)
    organization_class: str | None = None
    responsible_party_type: str | None = None
    responsible_party_name: str | None = None
    responsible_party_title: str | None = None
    responsible_party_affiliation: str | None = None
    responsible_party_old_name_title: str | None = None  # records from before 2017 name the party in one line
    responsible_party_old_organization: str | None = None
    # Design beyond the basics
    intervention_model_description: str | None = None
    observational_model: str | None = None
    time_perspective: str | None = None
    masking_description: str | None = None
    who_masked: list[str] = Field(default_factory=list)
    patient_registry: bool | None = None
    target_duration: str | None = None
    biospec_retention: str | None = None
    biospec_description: str | None = None
    # Eligibility beyond the basics
    gender_based: bool | None = None
    gender_description: str | None = None
    sampling_method: str | None = None
    population: str | None = None
    std_ages: list[str] = Field(default_factory=list)
    # Individual participant data sharing
    ipd_sharing: str | None = None
    ipd_description: str | None = None
    ipd_time_frame: str | None = None
    ipd_access_criteria: str | None = None
    ipd_url: str | None = None
    # Results, module level
    limitations_and_caveats: str | None = None
    baseline_population: str | None = None
    participant_flow_recruitment_details: str | None = None
    participant_flow_pre_assignment_details: str | None = None
    reported_events_time_frame: str | None = None
    reported_events_description: str | None = None
    reported_events_frequency_threshold: str | None = None
    baseline_type_units_analyzed: str | None = None  # what the baseline counts when not participants
    participant_flow_units_analyzed: str | None = None  # what the participant flow counts when not participants
    # Child tables (one row per element, table named after the field)
    design_groups: list[DesignGroup] = Field(default_factory=list)
    design_group_interventions: list[DesignGroupIntervention] = Field(default_factory=list)
    intervention_other_names: list[InterventionOtherName] = Field(default_factory=list)
    design_outcomes: list[DesignOutcome] = Field(default_factory=list)
    browse_conditions: list[BrowseTerm] = Field(default_factory=list)
    browse_interventions: list[BrowseTerm] = Field(default_factory=list)
    browse_leaves: list[BrowseLeaf] = Field(default_factory=list)
    browse_branches: list[BrowseBranch] = Field(default_factory=list)
    study_references: list[StudyReference] = Field(default_factory=list)
    retractions: list[Retraction] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    provided_documents: list[ProvidedDocument] = Field(default_factory=list)
    documents: list[IpdDocument] = Field(default_factory=list)
    location_contacts: list[LocationContact] = Field(default_factory=list)
    ipd_information_types: list[IpdInformationType] = Field(default_factory=list)
    removed_countries: list[RemovedCountry] = Field(default_factory=list)
    id_information: list[IdInformation] = Field(default_factory=list)
    result_groups: list[ResultGroup] = Field(default_factory=list)
    milestones: list[Milestone] = Field(default_factory=list)
    drop_withdrawals: list[DropWithdrawal] = Field(default_factory=list)
    baseline_counts: list[BaselineCount] = Field(default_factory=list)
    baseline_measurements: list[BaselineMeasurement] = Field(default_factory=list)
    outcomes: list[Outcome] = Field(default_factory=list)
    outcome_counts: list[OutcomeCount] = Field(default_factory=list)
    outcome_measurement_values: list[OutcomeMeasurement] = Field(default_factory=list)
    outcome_analyses: list[OutcomeAnalysis] = Field(default_factory=list)
    reported_event_stats: list[ReportedEvent] = Field(default_factory=list)
    reported_event_totals: list[ReportedEventTotal] = Field(default_factory=list)
    result_agreements: list[ResultAgreement] = Field(default_factory=list)
    result_contacts: list[ResultContact] = Field(default_factory=list)
    submissions: list[Submission] = Field(default_factory=list)
    pending_results: list[PendingResult] = Field(default_factory=list)
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
        # pydantic's serializer is deterministic (declaration order) and several times faster than json.dumps;
        # its bytes are hashed as they come (``model_dump_json`` would decode them for ``_digest`` to encode again)
        return hashlib.sha256(self.__pydantic_serializer__.to_json(self, exclude={"provenance"})).hexdigest()[:32]

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
        # Over the instance's own values, is_empty inlined: called for every study written, over ~150 fields.
        return {
            name
            for name, value in self.__dict__.items()
            if value is not None and value != [] and value != {} and value != "" and name in _DESCRIBING
        }


_PROVENANCE_KEY = ',"provenance":'


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# The fields that describe a trial (merge, provenance and change history work field by field over these).
STUDY_FIELDS: tuple[str, ...] = tuple(
    name for name in Study.model_fields if name not in {"nct_id", "provenance", "unmapped"}
)


_DESCRIBING = frozenset(STUDY_FIELDS)

# Study fields that are tables of their own (field name = table name) -> their row model.
ROW_TABLES = {
    name: model for name, info in Study.model_fields.items() if (model := row_model(info.annotation)) is not None
}

# The fields the registry's results section fills (posted with results, empty before): the results row tables,
# their module texts, and the results dates and flag.
RESULTS_FIELDS: frozenset[str] = frozenset(
    {name for name, model in ROW_TABLES.items() if model.__module__ == "harvest.core.results"}
    | {"has_results", "results_first_submitted", "results_first_submitted_qc", "results_first_posted",
       "limitations_and_caveats", "baseline_population", "participant_flow_recruitment_details",
       "participant_flow_pre_assignment_details", "reported_events_time_frame", "reported_events_description",
       "reported_events_frequency_threshold", "baseline_type_units_analyzed", "participant_flow_units_analyzed"}
)  # fmt: skip


def is_empty(value: Any) -> bool:
    return value is None or value == [] or value == {} or value == ""


def content_hash(data: Any) -> str:
    """The digest of any JSON-able value, keys sorted (a merged study's attribution, for one)."""
    return _digest(json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")))


def build_study(data: dict[str, Any], *, url: str | None = None, coerce: bool = False) -> Study:
    """Validate parsed data into a Study, turning pydantic's report into one line naming the fields.

    ``coerce``: a value of the wrong type is coerced or left out, and noted in ``unmapped`` (``core.coerce``),
    instead of rejecting the record; for data a source does not control (the registry's JSON).
    """
    rounds = 0
    while True:
        try:
            return Study.model_validate(data)
        except ValidationError as exc:
            rounds += 1
            if not coerce or rounds > _REPAIR_ROUNDS or not repair(data, exc.errors()):
                raise _invalid(exc, url) from None


# A repair can uncover another error underneath (a date emptied, then the date struct without its value).
_REPAIR_ROUNDS = 4


def _invalid(exc: ValidationError, url: str | None) -> InvalidRecord:
    problems = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {error['msg']}")
    more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    return InvalidRecord("invalid record: " + "; ".join(problems) + more, url=url)
