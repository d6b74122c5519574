"""The bot's memory: one SQLite database, opened through `storage.database.Database`."""
