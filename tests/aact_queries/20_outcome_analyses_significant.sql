-- Analyses with a p-value under 0.05, and the outcome each is about.
SELECT o.nct_id, o.title, oa.p_value_modifier, oa.p_value, oa.method
FROM outcome_analyses oa
JOIN outcomes o ON o.id = oa.outcome_id
WHERE oa.p_value < 0.05
ORDER BY o.nct_id;
