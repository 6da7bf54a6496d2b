"""The file handed to other engines: ``harvest publish`` (PostgreSQL, in AACT's ``ctgov`` schema) and
``harvest export --format parquet`` (a Parquet file per table). Both read the file read-only, through the store,
and type each column by what it holds (``store.kinds``); neither fetches anything nor changes a trial's rows."""
