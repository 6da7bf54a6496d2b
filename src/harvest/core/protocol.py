"""Rows of the protocol tables beyond the basics: arms, outcomes, MeSH terms, references, documents, contacts.

Table and column names, and the words in them, follow AACT (CTTI's copy of ClinicalTrials.gov) where a table
matches, so that a query written for AACT reads the same here. A ``*_position`` field links a row to a row of
another table of the same trial (its ``position``); the file turns each into AACT's integer ``*_id``.
"""

from __future__ import annotations

from harvest.core.rows import TableRow


class DesignGroup(TableRow):
    """One arm or group of the protocol."""

    label: str | None = None
    group_type: str | None = None  # EXPERIMENTAL, ACTIVE_COMPARATOR, PLACEBO_COMPARATOR, ...
    description: str | None = None


class DesignGroupIntervention(TableRow):
    """One link between an arm (by its label) and an intervention (by its name and type)."""

    design_group_label: str | None = None
    intervention_type: str | None = None
    intervention_name: str | None = None
    design_group_position: int | None = None  # the arm with that label in ``design_groups`` (None: no such arm)
    intervention_position: int | None = None  # the intervention in ``interventions``


class InterventionOtherName(TableRow):
    intervention_position: int | None = None  # the intervention's position in ``interventions``
    intervention_name: str | None = None
    name: str | None = None


class DesignOutcome(TableRow):
    """One outcome the protocol declares (what the trial promised to measure)."""

    outcome_type: str | None = None  # primary, secondary, other (AACT's words)
    measure: str | None = None
    time_frame: str | None = None
    description: str | None = None


class BrowseTerm(TableRow):
    """One MeSH term the registry derived for a condition or an intervention."""

    mesh_id: str | None = None
    term: str | None = None
    mesh_type: str | None = None  # mesh-list (a term matched to the record) or mesh-ancestor (a broader one)


class BrowseLeaf(TableRow):
    browse: str | None = None  # condition or intervention
    leaf_id: str | None = None
    name: str | None = None
    as_found: str | None = None
    relevance: str | None = None  # HIGH, LOW


class BrowseBranch(TableRow):
    browse: str | None = None
    abbrev: str | None = None
    name: str | None = None


class StudyReference(TableRow):
    pmid: str | None = None
    reference_type: str | None = None  # BACKGROUND, RESULT, DERIVED
    citation: str | None = None


class Retraction(TableRow):
    """A retraction notice PubMed lists for a cited publication (references[].retractions)."""

    reference_position: int | None = None  # the publication in ``study_references``
    pmid: str | None = None
    source: str | None = None


class Link(TableRow):
    url: str | None = None
    description: str | None = None


class ProvidedDocument(TableRow):
    """One large document (protocol, statistical analysis plan, consent form) attached to the record."""

    type_abbrev: str | None = None
    label: str | None = None
    has_protocol: bool | None = None
    has_sap: bool | None = None
    has_icf: bool | None = None
    document_date: str | None = None
    upload_date: str | None = None
    filename: str | None = None
    size: int | None = None


class IpdDocument(TableRow):
    """One document shared with the participant data, and where to ask for it (referencesModule.availIpds)."""

    document_id: str | None = None
    document_type: str | None = None
    url: str | None = None
    comment: str | None = None


class LocationContact(TableRow):
    """A contact or investigator of one site, whatever its role."""

    location_position: int | None = None  # the site's position in ``locations``
    facility: str | None = None
    contact_type: str | None = None  # CONTACT, PRINCIPAL_INVESTIGATOR, ...
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    phone_ext: str | None = None


class IpdInformationType(TableRow):
    name: str | None = None  # STUDY_PROTOCOL, SAP, ICF, CSR, ANALYTIC_CODE


class RemovedCountry(TableRow):
    """A country the trial no longer lists a site in (derivedSection.miscInfoModule.removedCountries)."""

    name: str | None = None


class IdInformation(TableRow):
    """One identifier as the registry gives it, unvalidated: aliases, the organisation's ID, secondary IDs."""

    id_source: str | None = None  # nct_alias, org_study_id or secondary_id
    id_value: str | None = None
    id_type: str | None = None  # the registry's type word (NIH, REGISTRY, EUDRACT_NUMBER, ...)
    id_type_description: str | None = None  # the issuing organisation or registry (domain)
    id_link: str | None = None
