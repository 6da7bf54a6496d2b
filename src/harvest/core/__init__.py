"""The canonical types every layer shares: the Study schema, record types, dates, vocabularies, IDs, errors,
settings. Core imports nothing else of harvest."""
