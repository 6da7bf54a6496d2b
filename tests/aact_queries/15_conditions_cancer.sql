-- Trials with a condition that names a cancer.
SELECT DISTINCT c.nct_id
FROM conditions c
WHERE c.downcase_name LIKE '%cancer%'
ORDER BY c.nct_id;
