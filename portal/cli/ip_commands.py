"""`ips`: list the throttled addresses and lift a throttle."""

import click
from flask.cli import with_appcontext

from portal.cli.terminal import OneLineGroup
from portal.cli.terminal import cli_actor
from portal.cli.terminal import schema_ready
from portal.security import ip_throttles


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
