"""The SQLite backend: one file, one process, zero setup."""
