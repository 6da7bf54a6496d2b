-- Trials per phase, as AACT writes phases (PHASE1/PHASE2).
SELECT s.phase, count(*) AS trials
FROM studies s
WHERE s.phase IS NOT NULL
GROUP BY s.phase;
