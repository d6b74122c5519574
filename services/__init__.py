"""The bot's rules (vote limits, attribution, permissions), callable without Discord."""
