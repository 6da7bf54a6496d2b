-- Whom to contact first about enrolment.
SELECT cc.nct_id, cc.name, cc.email, cc.phone
FROM central_contacts cc
WHERE cc.contact_type = 'primary'
ORDER BY cc.nct_id;
