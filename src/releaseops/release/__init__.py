"""The release: its record, the target, the environment and the preflight."""
