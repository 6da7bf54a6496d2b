-- Groups in which participants died (all-cause mortality).
SELECT t.nct_id, t.ctgov_group_code, t.subjects_affected, t.subjects_at_risk
FROM reported_event_totals t
WHERE t.classification = 'Total, all-cause mortality' AND t.subjects_affected > 0
ORDER BY t.nct_id;
