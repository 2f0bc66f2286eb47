"""The `tickwork` command: every operator action, from a shell."""
