"""Flask plumbing with no domain logic: htmx, headers, error pages, logs, Jinja filters,
the client's IP and user agent."""
