-- Trials that declare more than one primary outcome.
SELECT d.nct_id, count(*) AS primary_outcomes
FROM design_outcomes d
WHERE d.outcome_type = 'primary'
GROUP BY d.nct_id
HAVING count(*) > 1
ORDER BY d.nct_id;
