"""Flask CLI commands: init-db and users (create, list)."""

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from portal import models
from portal import users
from portal.db import database


def init_app(app: Flask):
    """Register the commands on the app."""
    app.cli.add_command(init_db_command)
    app.cli.add_command(users_group)


@click.command("init-db")
def init_db_command():
    """Create or upgrade the schema (safe to run again)."""
    models.create_schema()
    click.echo(f"Schema ready in {describe_database()}.")


def describe_database():
    """Return the database's name without credentials, for messages."""
    return f"{type(database.obj).__name__} {database.obj.database}"


@click.group("users", cls=AppGroup)
def users_group():
    """Manage user accounts."""
    models.create_schema()


@users_group.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(name, admin, password_stdin):
    """Create user NAME; the password comes from stdin or a hidden prompt."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = users.create(name, password, is_admin=admin)
    except users.UserError as error:
        raise click.ClickException(str(error)) from None
    role = "admin" if user.is_admin else "user"
    click.echo(f"Created {role} {user.username!r}.")


@users_group.command("list")
def list_users_command():
    """List users: name, role, created."""
    for user in users.list_all():
        role = "admin" if user["is_admin"] else "user"
        click.echo(f"{user['username']}\t{role}\t{user['created_at']:%Y-%m-%d %H:%M} UTC")
