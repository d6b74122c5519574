"""The extensions: each cog parses an interaction, calls a service and renders the answer."""
