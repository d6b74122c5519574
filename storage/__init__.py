"""The bot's memory behind one interface (`storage.interface.Storage`).

SQLite lives in `storage/sqlite/`, PostgreSQL in `storage/postgres/`; what both use stays here.
"""
