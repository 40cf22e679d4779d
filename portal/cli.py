"""Flask CLI commands: init-db, users (create, set-password, role, delete, list, lock,
unlock), ips (list, lift), prune and seed-demo."""

import getpass
import sys
import time
from datetime import timedelta

import click
from flask import Flask
from flask import current_app
from flask.cli import AppGroup
from flask.cli import with_appcontext

from portal import clock
from portal import db
from portal import schema
from portal.accounts import users
from portal.db import database
from portal.history import demo
from portal.history import partitions
from portal.history import retention
from portal.maintenance import refresh_statistics
from portal.models import USERNAME_MAX
from portal.models import bounded
from portal.security import admin_locks
from portal.security import budgets
from portal.security import guards
from portal.security import ip_throttles
from portal.security import lock_states
from portal.security import policy
from portal.security import recovery


def init_app(app: Flask):
    """Register the commands on the app."""
    app.cli.add_command(init_db_command)
    app.cli.add_command(users_group)
    app.cli.add_command(ips_group)
    app.cli.add_command(prune_command)
    app.cli.add_command(seed_demo_command)


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create or upgrade the schema (safe to run again)."""
    done = one_line_errors(schema.upgrade)
    refresh_statistics()
    where = describe_database()
    if done.created:
        click.echo(f"Created the schema in {where}.")
    elif done.recognised:
        click.echo(f"Recognised a database made before migrations, at {done.reached}.")
    if done.applied:
        click.echo(f"Applied {', '.join(done.applied)}.")
    click.echo(f"Schema ready in {where}.")


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


# Bounds that keep a date computed from the number inside the years datetime can hold.
MAX_LOCK_HOURS = 100 * 365 * 24
MAX_AGE_DAYS = 36500


def describe_database():
    """Return the database's name without credentials, for messages."""
    return f"{type(database.obj).__name__} {database.obj.database}"


@click.group("users", cls=OneLineGroup)
@with_appcontext
def users_group():
    """Manage user accounts."""
    schema_ready()


@users_group.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(name, admin, password_stdin):
    """Create user NAME; the password comes from stdin or a hidden prompt."""
    user = refused_in_one_line(users.create, name, read_password(password_stdin), is_admin=admin)
    role = "admin" if user.is_admin else "user"
    click.echo(f"Created {role} {user.username!r}.")


def read_password(from_stdin):
    """Return a new password from one line of stdin, or from a hidden prompt typed twice."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def refused_in_one_line(change, *args, **kwargs):
    """Run an account change; a UserError (a rule, a guard) stops the command in one line."""
    try:
        return change(*args, **kwargs)
    except guards.Refused as refused:
        hint = "" if refused.code == guards.GONE else " (--force does it anyway)"
        raise click.ClickException(f"{refused}{hint}") from None
    except users.UserError as error:
        raise click.ClickException(str(error)) from None


@users_group.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def set_password_command(name, password_stdin):
    """Give user NAME a new password and end all of its sessions."""
    user = existing_user(name)
    refused_in_one_line(recovery.set_password, user, read_password(password_stdin), cli_actor())
    click.echo(f"Set a new password for {user.username!r}; its sessions have ended.")


@users_group.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(["admin", "user"]))
@click.option("--force", is_flag=True, help="Demote even the last admin.")
def role_command(name, role, force):
    """Make user NAME an admin or a plain user."""
    user = existing_user(name)
    if refused_in_one_line(recovery.set_role, user, role == "admin", cli_actor(), force=force):
        click.echo(f"{user.username!r} is now {'an admin' if role == 'admin' else 'a user'}.")
    else:
        click.echo(f"{user.username!r} is already {'an admin' if role == 'admin' else 'a user'}.")


@users_group.command("delete")
@click.argument("name")
@click.option("--force", is_flag=True, help="Delete even the last admin.")
def delete_command(name, force):
    """Delete user NAME and its sessions; the login history and audit trail keep its name."""
    user = existing_user(name)
    refused_in_one_line(recovery.delete, user, cli_actor(), force=force)
    click.echo(f"Deleted {user.username!r}; its attempts and audit events are kept.")


@users_group.command("lock")
@click.argument("name")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@click.option("--hours", type=Bounded(1, MAX_LOCK_HOURS),
              help=f"Lift the lock after this many hours (1 to {MAX_LOCK_HOURS}: 100 years).")
@click.option("--force", is_flag=True, help="Lock even the last admin.")
def lock_user_command(name, reason, hours, force):
    """Lock user NAME (all devices) and end all of its sessions."""
    if not reason.strip():
        raise click.ClickException("Give a reason with --reason.")
    user = existing_user(name)
    refused_in_one_line(admin_locks.lock, user, reason,
                        timedelta(hours=hours) if hours else None, cli_actor(), None, force=force)
    click.echo(f"Locked {user.username!r}" + (f" for {hours} h." if hours else " until unlocked."))


@users_group.command("unlock")
@click.argument("name")
def unlock_user_command(name):
    """Lift every lock on user NAME (forgetting the failures behind them) and its review."""
    user = existing_user(name)
    if admin_locks.unlock(user, cli_actor(), None):
        click.echo(f"Unlocked {user.username!r}.")
    else:
        click.echo(f"Nothing to unlock: {user.username!r} is not locked.")


def existing_user(name):
    """Return the user called NAME or stop with a clear message."""
    user = users.by_name(name)
    if user is None:
        raise click.ClickException(f"No user named {name!r}.")
    return user


def cli_actor():
    """Name the person at the terminal in the audit trail."""
    return bounded(f"cli:{getpass.getuser()}", USERNAME_MAX)


@users_group.command("list")
def list_users_command():
    """List users, tab-separated under a header: name, role, lock state, created."""
    click.echo("NAME\tROLE\tSTATE\tCREATED")
    for user in lock_states.user_rows(limit=None):
        role = "admin" if user.is_admin else "user"
        click.echo(f"{user.username}\t{role}\t{describe_state(user.state)}\t"
                   f"{user.created_at:%Y-%m-%d %H:%M} UTC")


def describe_state(state):
    """Name a LockState in the words of the users page's badge."""
    until = f" until {state.until:%Y-%m-%d %H:%M} UTC" if state.until else ""
    words = {"admin": f"locked by admin{until}", "permanent": "locked until unlocked",
             "temporary": f"locked{until}", "open": "active"}[state.kind]
    if state.flagged_at:
        return "flagged for review" if state.kind == "open" else f"{words}, flagged for review"
    return words


@click.group("ips", cls=OneLineGroup)
@with_appcontext
def ips_group():
    """See and lift IP throttles."""
    schema_ready()


@ips_group.command("list")
def list_ips_command():
    """List the addresses throttled now: address (IPv6: /64), failures, when it ends."""
    found = ip_throttles.throttled(limit=None)
    if not found:
        click.echo("No address is throttled.")
        return
    click.echo("ADDRESS\tFAILURES\tENDS (UTC)")
    for row in found:
        click.echo(f"{row.ip}\t{row.failures}\t{row.ends_at:%Y-%m-%d %H:%M:%S}")


@ips_group.command("lift")
@click.argument("address")
def lift_ip_command(address):
    """Lift the throttle on ADDRESS (an IPv6 address lifts its /64), on the audit trail."""
    try:
        key = ip_throttles.lift(address, cli_actor())
    except ip_throttles.NotAnAddress:
        raise click.ClickException(f"{address!r} is not an IP address.") from None
    if key is None:
        click.echo(f"{address} is not throttled: nothing to lift.")
    else:
        click.echo(f"Lifted the throttle on {key}.")


@click.command("prune")
@with_appcontext
@click.option("--older-than", "days", type=Bounded(1, MAX_AGE_DAYS), required=True,
              help=f"Delete attempts older than this many days (1 to {MAX_AGE_DAYS}).")
@click.option("--batch", type=click.IntRange(min=100, max=100_000), default=retention.BATCH,
              show_default=True, help="Rows per transaction.")
def prune_command(days, batch):
    """Delete old attempts in batches, keeping daily summaries of them."""
    schema_ready()
    started = time.perf_counter()
    done = retention.prune(days, batch)
    with database.atomic():
        expired, windows = budgets.forget_expired(
            clock.now(), policy.Policy.from_config(current_app.config))
    refresh_statistics()
    if done["partitions"]:
        click.echo(f"Dropped {len(done['partitions'])} monthly partitions: "
                   f"{', '.join(done['partitions'])}.")
    click.echo(f"Deleted {done['attempts']} attempts in {done['batches']} batches and "
               f"{done['sessions']} ended sessions older than {days} days, and "
               f"{expired} failure budgets and {windows} IP windows that had run out, in "
               f"{time.perf_counter() - started:.1f} s; daily summaries keep their counts.")


@click.command("seed-demo")
@with_appcontext
@click.option("--users", "user_count", type=click.IntRange(min=1, max=1_000_000), default=200,
              show_default=True)
@click.option("--attempts", "attempt_count", type=click.IntRange(min=0, max=100_000_000),
              default=20_000, show_default=True)
@click.option("--seed", "seed_value", type=int, default=1, show_default=True,
              help="Random seed: the same seed gives the same history.")
@click.option("--yes", "confirmed", is_flag=True,
              help="Seed a database that holds accounts seed-demo did not create.")
def seed_demo_command(user_count, attempt_count, seed_value, confirmed):
    """Fill the database with realistic fake users and login history (90 days)."""
    schema_ready()
    # Demo accounts have a published password: beside real ones (production) they are a
    # way in, so adding them there takes an explicit --yes.
    stranger = None if confirmed else demo.account_not_from_demo()
    if stranger is not None:
        raise click.ClickException(
            f"{describe_database()} holds accounts seed-demo did not create ({stranger!r}), "
            f"and demo accounts' password is published: add --yes to seed it anyway.")
    started = time.perf_counter()
    users_made, attempts_made = demo.seed(user_count, attempt_count, seed_value)
    refresh_statistics()
    click.echo(f"Created {users_made} demo users (password {demo.DEMO_PASSWORD!r}) and "
               f"{attempts_made} attempts in {time.perf_counter() - started:.1f} s.")
