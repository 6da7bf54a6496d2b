-- Participants with a serious adverse event, summed over terms, per group (AACT's result_group_id).
SELECT re.nct_id, rg.title, sum(re.subjects_affected) AS affected
FROM reported_events re
JOIN result_groups rg ON rg.id = re.result_group_id
WHERE re.event_type = 'serious'
GROUP BY re.nct_id, rg.id, rg.title
ORDER BY re.nct_id;
