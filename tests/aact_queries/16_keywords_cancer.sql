-- Keywords that name a cancer.
SELECT k.nct_id, k.name
FROM keywords k
WHERE k.downcase_name LIKE '%cancer%'
ORDER BY k.nct_id;
