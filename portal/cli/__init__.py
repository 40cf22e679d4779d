"""Flask CLI commands (thin: they call into the packages): init-db, users (create,
set-password, role, delete, list, lock, unlock), ips (list, lift), policy (show, replay),
prune and seed-demo.

Every error is one line on standard error and a non-zero exit (cli.terminal).
"""

from flask import Flask

from portal.cli.database_commands import init_db_command
from portal.cli.database_commands import prune_command
from portal.cli.database_commands import seed_demo_command
from portal.cli.ip_commands import ips_group
from portal.cli.policy_commands import policy_group
from portal.cli.user_commands import users_group


def init_app(app: Flask):
    """Register the commands on the app."""
    app.cli.add_command(init_db_command)
    app.cli.add_command(users_group)
    app.cli.add_command(ips_group)
    app.cli.add_command(policy_group)
    app.cli.add_command(prune_command)
    app.cli.add_command(seed_demo_command)
