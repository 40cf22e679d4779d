"""Commands on the database as a whole: init-db, prune and seed-demo."""

import time

import click
from flask import current_app
from flask.cli import with_appcontext

from portal import clock
from portal import schema
from portal.cli.terminal import Bounded
from portal.cli.terminal import OneLineCommand
from portal.cli.terminal import one_line_errors
from portal.cli.terminal import schema_ready
from portal.db import database
from portal.history import demo
from portal.history import retention
from portal.maintenance import refresh_statistics
from portal.security import budgets
from portal.security import policy

MAX_AGE_DAYS = 36500  # keeps a date computed from the number inside what datetime holds


@click.command("init-db", cls=OneLineCommand)
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


def describe_database():
    """Return the database's name without credentials, for messages."""
    return f"{type(database.obj).__name__} {database.obj.database}"


@click.command("prune", cls=OneLineCommand)
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


@click.command("seed-demo", cls=OneLineCommand)
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
