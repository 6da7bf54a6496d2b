-- Trials with sites in the United States, and how many.
SELECT f.nct_id, count(*) AS us_sites
FROM facilities f
WHERE f.country = 'United States'
GROUP BY f.nct_id
ORDER BY f.nct_id;
