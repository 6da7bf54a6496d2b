-- What placebo arms receive: arms and interventions joined through AACT's ids.
SELECT dg.nct_id, dg.title, i.intervention_type, i.name
FROM design_group_interventions dgi
JOIN design_groups dg ON dg.id = dgi.design_group_id
JOIN interventions i ON i.id = dgi.intervention_id
WHERE dg.group_type = 'PLACEBO_COMPARATOR'
ORDER BY dg.nct_id;
