-- Countries with sites in at least two trials (sites removed since left out).
SELECT c.name, count(*) AS trials
FROM countries c
WHERE c.removed = FALSE
GROUP BY c.name
HAVING count(*) >= 2;
