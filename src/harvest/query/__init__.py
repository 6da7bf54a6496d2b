"""Reading the file: search, export, stats and Datasette metadata. Read-only."""
