-- Trials with results: participants with serious and with other adverse events, summed over terms.
SELECT cv.nct_id, cv.number_of_sae_subjects, cv.number_of_nsae_subjects
FROM calculated_values cv
WHERE cv.were_results_reported = TRUE
ORDER BY cv.nct_id;
