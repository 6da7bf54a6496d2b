-- Completed trials: when they started and reached primary completion, as the registry wrote it.
SELECT s.nct_id, s.start_month_year, s.primary_completion_month_year, s.primary_completion_date_type
FROM studies s
WHERE s.overall_status = 'COMPLETED'
ORDER BY s.nct_id;
