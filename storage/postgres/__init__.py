"""The PostgreSQL backend: several bot processes, on several machines, sharing one database."""
