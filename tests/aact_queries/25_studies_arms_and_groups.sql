-- Arms of interventional trials, groups of the others.
SELECT s.nct_id, s.study_type, s.number_of_arms, s.number_of_groups
FROM studies s
WHERE s.number_of_arms IS NOT NULL OR s.number_of_groups IS NOT NULL
ORDER BY s.nct_id;
