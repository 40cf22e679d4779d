"""`policy`: show the lockout policy in force, and replay the history under a candidate."""

import json
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.cli.terminal import OneLineGroup
from portal.cli.terminal import OneLineUsageError
from portal.cli.terminal import schema_ready
from portal.history import queries
from portal.security import candidates
from portal.security import replay
from portal.security.policy import Policy
from portal.web.templating import duration

LISTED = 20  # accounts named in the text output; --json names them all
FIGURES = (("accounts locked", "accounts_locked"), ("locks", "locks"),
           ("refused unchecked", "refused"), ("owners refused", "owners_refused"),
           ("guesses checked", "guesses_checked"), ("IPs throttled", "ips_throttled"))


@click.group("policy", cls=OneLineGroup)
@with_appcontext
def policy_group():
    """See the lockout policy in force, and what another would have done."""
    schema_ready()


@policy_group.command("show")
def show_policy_command():
    """Print the lockout settings in force, each with what it does."""
    settings = candidates.in_force(current_app.config)
    width = max(len(f"{name}={candidates.shown(value)}") for name, value in settings.items())
    for name, value in settings.items():
        click.echo(f"{name}={candidates.shown(value)}".ljust(width + 2) + meaning(name, value))


@policy_group.command("replay")
@click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE",
              help="A policy setting of the candidate (repeatable), e.g. LOCKOUT_MAX_FAILURES=3.")
@click.option("--since", metavar="DATE",
              help=f"Start (UTC; default {replay.DEFAULT_DAYS} days before the end).")
@click.option("--until", metavar="DATE", help="End, exclusive; a bare date includes that day "
                                               "(UTC; default now).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def replay_policy_command(assignments, since, until, as_json):
    """Replay the recorded attempts under the policy in force and under a candidate."""
    try:
        changes = candidates.assignments(assignments)
        settings, candidate = candidates.changed(current_app.config, changes)
    except candidates.BadCandidate as error:
        raise OneLineUsageError(f"--set: {error}") from None
    start, end = time_range(since, until)
    current = Policy.from_config(current_app.config)
    comparison = replay.compare(current, candidate, start, end)
    if as_json:
        click.echo(json.dumps(comparison.as_dict()))
    else:
        print_comparison(comparison, changes, settings)


def time_range(since, until):
    """Return (since, until) from the options, or stop in one line."""
    try:
        return replay.period(since or "", until or "")
    except queries.BadFilter as bad:
        if bad.field == "range":
            raise OneLineUsageError("--since must be before --until.") from None
        text = since if bad.field == "since" else until
        raise OneLineUsageError(f"--{bad.field} must be an ISO 8601 date or time before "
                                f"9999-12-31 (2026-11-01 or 2026-11-01T08:00Z), got {text!r}.") \
            from None


def print_comparison(comparison, changes, settings):
    """Print the two policies' figures side by side, then the accounts that differ."""
    click.echo(f"Replayed {comparison.attempts:,} attempts from {comparison.since:%Y-%m-%d %H:%M}"
               f" to {comparison.until:%Y-%m-%d %H:%M} UTC.")
    if changes:
        click.echo("Candidate: " + ", ".join(f"{name}={candidates.shown(settings[name])}"
                                             for name in changes))
    else:
        click.echo("Candidate: the policy in force (give --set NAME=VALUE to change it).")
    current, candidate = comparison.current.as_dict(), comparison.candidate.as_dict()
    click.echo(f"{'':20}{'current':>12}{'candidate':>12}")
    for label, key in FIGURES:
        now, then = current[key], candidate[key]
        if isinstance(now, list):
            now, then = len(now), len(then)
        click.echo(f"{label:20}{now:>12,}{then:>12,}")
    only_candidate, only_current = comparison.differing_accounts()
    click.echo("Locked only under the candidate: " + listed(only_candidate))
    click.echo("Locked only under the current: " + listed(only_current))
    click.echo(f"{comparison.unknown_outcomes:,} attempts were recorded without a password check "
               "(refused, or interrupted): where a policy checks them, they count as wrong "
               "guesses. Counters start empty at the start; admin locks are not replayed.")


def listed(names, most=LISTED):
    """Return names comma-separated, the first `most` of them and how many more."""
    if not names:
        return "none"
    more = f" and {len(names) - most:,} more (--json lists them all)" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def meaning(name, value):
    """Return what a policy setting's value does, in a few words."""
    span = duration(timedelta(seconds=value)) if type(value) is int else ""  # bool is no span
    return {
        "LOCKOUT_MAX_FAILURES": f"an account locks after {value} failures in a row (each "
                                "known device, and all unknown clients together)",
        "LOCKOUT_WAIT": f"the first lock lasts {span}",
        "LOCKOUT_WAIT_FACTOR": f"each further lock lasts {value} times longer",
        "LOCKOUT_MAX_WAIT": f"up to {span}",
        "LOCKOUT_MAX_TEMPORARY": f"after {value} locks in a row the account is flagged for "
                                 "review",
        "LOCKOUT_PERMANENT": "and the lock after them is permanent" if value
                             else "and every lock still ends by itself",
        "LOCKOUT_RESET_AFTER": f"failures are forgotten {span} after the last",
        "IP_MAX_FAILURES": f"an address (IPv6: its /64) is throttled after {value} failures",
        "IP_WINDOW": f"within {span} of its first",
        "IP_ALLOWLIST": f"the IP throttle spares {value}" if value
                        else "the IP throttle spares no address",
    }[name]
