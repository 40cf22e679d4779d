"""The login history: recording attempts, reading them back (filters, pages, charts, CSV,
an account's activity) and keeping the table in shape (retention, partitions, demo data)."""
