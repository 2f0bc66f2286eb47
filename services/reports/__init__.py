"""Performance reports per portfolio and period: figures, HTML and CSV files, and their catalog."""
