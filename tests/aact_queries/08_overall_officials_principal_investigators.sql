-- Principal investigators and their affiliations.
SELECT oo.nct_id, oo.name, oo.affiliation
FROM overall_officials oo
WHERE oo.role = 'PRINCIPAL_INVESTIGATOR'
ORDER BY oo.nct_id;
