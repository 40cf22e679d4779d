"""What every command shares: one-line errors, the schema check, who is at the terminal."""

import getpass

import click
from flask.cli import AppGroup

from portal import db
from portal import schema
from portal.history import partitions
from portal.models import USERNAME_MAX
from portal.models import bounded


def schema_ready():
    """Create a new database's schema, or stop when an existing one needs init-db first."""
    one_line_errors(schema.ensure_current)


def one_line_errors(step):
    """Run a schema step; a database or schema it cannot use stops the command in one line."""
    db.check_connection()
    try:
        return step()
    except (schema.SchemaError, partitions.PartitionError) as error:
        raise click.ClickException(str(error)) from None


class Bounded(click.IntRange):
    """A whole number in a range; one out of it stops the command in one line (no usage)."""

    def fail(self, message, param=None, ctx=None):
        raise OneLineUsageError(message, ctx, param)


class OneLineUsageError(click.BadParameter):
    """A bad parameter, shown as its one line: the usage is under --help."""

    def show(self, file=None):
        """Print "Error: ..." alone, as every other error of the CLI is."""
        click.echo(f"Error: {self.format_message()}", file=file, err=file is None)


class OneLineGroup(AppGroup):
    """A command group whose commands report a usage mistake (a missing option, a value
    not among the choices) in one line, as every other error of the CLI."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except OneLineUsageError:
            raise
        except click.UsageError as error:
            raise OneLineUsageError(error.format_message(), error.ctx) from None


def cli_actor():
    """Name the person at the terminal in the audit trail."""
    return bounded(f"cli:{getpass.getuser()}", USERNAME_MAX)
