-- How long trials took to report results and to reach primary completion (AACT's months of 30 days).
SELECT cv.nct_id, cv.months_to_report_results, cv.actual_duration, cv.registered_in_calendar_year
FROM calculated_values cv
WHERE cv.months_to_report_results IS NOT NULL OR cv.actual_duration IS NOT NULL
ORDER BY cv.nct_id;
