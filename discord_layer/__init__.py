"""The Discord layer's helpers: what the extensions in `cogs/` share to parse, answer and render."""
