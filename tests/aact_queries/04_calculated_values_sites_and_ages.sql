-- Interventional trials: how many sites, in the US or not, and the minimum age as a number and unit.
SELECT cv.nct_id, cv.number_of_facilities, cv.has_us_facility, cv.has_single_facility,
       cv.minimum_age_num, cv.minimum_age_unit
FROM calculated_values cv
JOIN studies s ON s.nct_id = cv.nct_id
WHERE s.study_type = 'INTERVENTIONAL'
ORDER BY cv.nct_id;
