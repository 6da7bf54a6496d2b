-- Trials open to healthy volunteers: who, and at what ages.
SELECT e.nct_id, e.gender, e.minimum_age, e.maximum_age
FROM eligibilities e
WHERE e.healthy_volunteers = TRUE
ORDER BY e.nct_id;
