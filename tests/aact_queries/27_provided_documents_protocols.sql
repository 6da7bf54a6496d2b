-- Posted protocols and where ClinicalTrials.gov serves them.
SELECT pd.nct_id, pd.document_type, pd.url
FROM provided_documents pd
WHERE pd.has_protocol = TRUE
ORDER BY pd.nct_id;
