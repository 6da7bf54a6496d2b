-- Mean or median age per baseline group, and out of how many participants.
SELECT bm.nct_id, rg.title, bm.param_type, bm.param_value, bm.number_analyzed, bm.number_analyzed_units
FROM baseline_measurements bm
JOIN result_groups rg ON rg.id = bm.result_group_id
WHERE bm.title = 'Age, Continuous'
ORDER BY bm.nct_id;
