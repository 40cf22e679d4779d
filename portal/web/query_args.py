"""Filters typed into a page's query string, kept as typed so a form and a URL can show them."""

from dataclasses import asdict
from dataclasses import fields


class TypedFilters:
    """A dataclass of str fields read from a query string (the history's, the audit log's)."""

    @classmethod
    def from_args(cls, args):
        """Read the filters from a query string, trimmed."""
        return cls(**{f.name: (args.get(f.name) or "").strip() for f in fields(cls)})

    def args(self):
        """Return the filters that are set, for url_for."""
        return {name: value for name, value in asdict(self).items() if value}
