"""Database maintenance: backups (with verified restores), optimize, and their catalog."""
