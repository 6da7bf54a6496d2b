-- NIH grant numbers given as secondary ids, with their links.
SELECT i.nct_id, i.id_value, i.id_type_description, i.id_link
FROM id_information i
WHERE i.id_source = 'secondary_id' AND i.id_type = 'NIH'
ORDER BY i.nct_id;
