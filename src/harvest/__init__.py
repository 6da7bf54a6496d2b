"""harvest: clinical-trial records from ClinicalTrials.gov and its mirrors, in one clean SQLite file."""

__version__ = "0.2.0"
