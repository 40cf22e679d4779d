"""`users`: create, set-password, role, delete, list, lock and unlock accounts."""

import sys
from datetime import timedelta

import click
from flask.cli import with_appcontext

from portal.accounts import users
from portal.cli.terminal import Bounded
from portal.cli.terminal import OneLineGroup
from portal.cli.terminal import cli_actor
from portal.cli.terminal import schema_ready
from portal.security import admin_locks
from portal.security import guards
from portal.security import lock_states
from portal.security import recovery

MAX_LOCK_HOURS = 100 * 365 * 24  # keeps the lock's end inside what datetime holds


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


@users_group.command("list")
def list_users_command():
    """List users, tab-separated under a header: name, role, lock state, created."""
    click.echo("NAME\tROLE\tSTATE\tCREATED")
    for user in lock_states.user_rows():
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
