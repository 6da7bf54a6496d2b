-- Trials whose brief summary speaks of vaccines.
SELECT bs.nct_id
FROM brief_summaries bs
WHERE lower(bs.description) LIKE '%vaccin%'
ORDER BY bs.nct_id;
