-- Participants who started and who completed, per trial.
SELECT m.nct_id, m.title, sum(m.count) AS participants
FROM milestones m
WHERE m.title IN ('STARTED', 'COMPLETED')
GROUP BY m.nct_id, m.title
ORDER BY m.nct_id;
