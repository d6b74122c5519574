"""Running the bot for months: the command line, clean stops, health, metrics, backups, keys."""
