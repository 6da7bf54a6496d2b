-- Cancer trials found through MeSH: a condition under Neoplasms, and the terms matched to each trial.
SELECT b.nct_id, b.mesh_term
FROM browse_conditions b
WHERE b.mesh_type = 'mesh-list'
  AND b.nct_id IN (SELECT a.nct_id FROM browse_conditions a
                   WHERE a.downcase_mesh_term = 'neoplasms' AND a.mesh_type = 'mesh-ancestor')
ORDER BY b.nct_id;
