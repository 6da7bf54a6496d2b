-- Trials first submitted in 2019 or later.
SELECT s.nct_id, s.study_first_submitted_date
FROM studies s
WHERE s.study_first_submitted_date >= '2019-01-01'
ORDER BY s.nct_id;
