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

    def format_message(self):
        """Return the message as click worded it (no "Invalid value:" before a whole one)."""
        if self.param is None and self.param_hint is None:
            return self.message
        return super().format_message()

    def show(self, file=None):
        """Print "Error: ..." alone, as every other error of the CLI is."""
        click.echo(f"Error: {self.format_message()}", file=file, err=file is None)


class OneLineParsing:
    """Report a usage mistake (a missing option, a value not among the choices) in one
    line, as every other error of the CLI, rather than click's usage block."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent, **extra)
        except OneLineUsageError:
            raise
        except click.UsageError as error:
            raise OneLineUsageError(error.format_message(), error.ctx) from None


class OneLineCommand(OneLineParsing, click.Command):
    """A command whose usage mistakes are one line."""


class OneLineGroup(OneLineParsing, AppGroup):
    """A command group whose commands (and itself) report usage mistakes in one line."""

    command_class = OneLineCommand


def cli_actor():
    """Name the person at the terminal in the audit trail."""
    return bounded(f"cli:{getpass.getuser()}", USERNAME_MAX)
