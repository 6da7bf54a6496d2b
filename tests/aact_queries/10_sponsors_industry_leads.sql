-- Industry-led trials, and how many collaborators each has.
SELECT s.nct_id, s.name,
       (SELECT count(*) FROM sponsors c
        WHERE c.nct_id = s.nct_id AND c.lead_or_collaborator = 'collaborator') AS collaborators
FROM sponsors s
WHERE s.lead_or_collaborator = 'lead' AND s.agency_class = 'INDUSTRY'
ORDER BY s.nct_id;
