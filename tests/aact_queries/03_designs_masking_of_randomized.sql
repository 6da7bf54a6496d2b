-- Randomized trials by masking.
SELECT d.masking, count(*) AS trials
FROM designs d
WHERE d.allocation = 'RANDOMIZED' AND d.masking IS NOT NULL
GROUP BY d.masking;
