"""The SQLite file: its tables, and the rows it is given to write. The store knows no site and merges nothing."""
