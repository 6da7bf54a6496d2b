-- The values of every primary outcome, joined the way AACT's ids join them.
SELECT o.nct_id, o.title, om.title AS measurement_title, om.ctgov_group_code, om.param_value, om.units
FROM outcomes o
JOIN outcome_measurements om ON om.outcome_id = o.id
WHERE o.outcome_type = 'PRIMARY'
ORDER BY o.nct_id;
