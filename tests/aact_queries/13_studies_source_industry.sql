-- Trials registered by a company (AACT's studies.source and source_class).
SELECT s.nct_id, s.source
FROM studies s
WHERE s.source_class = 'INDUSTRY'
ORDER BY s.nct_id;
