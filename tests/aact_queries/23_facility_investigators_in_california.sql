-- Principal investigators of sites in California.
SELECT f.nct_id, f.name AS facility, fi.name AS investigator
FROM facility_investigators fi
JOIN facilities f ON f.id = fi.facility_id
WHERE fi.role = 'PRINCIPAL_INVESTIGATOR' AND f.state = 'California'
ORDER BY f.nct_id;
