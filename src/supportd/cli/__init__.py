"""The `supportd` command: one click group, and the commands of each module of this
package (`server`: serve, migrate, export, import; `accounts`: accounts, keys, audit;
`advisor`; `staff`: staff, cases; `users`: the Support Center's users; `demo`;
`notifications`: outbox and webhooks). They reach the store through
`store.with_store`."""

from __future__ import annotations

import click

from supportd.cli import accounts, advisor, demo, notifications, server, staff, users


@click.group()
@click.version_option(package_name="supportd")
def main() -> None:
    """supportd: a self-hostable implementation of the AWS Support API."""


for _command in (
    *server.COMMANDS,
    *accounts.COMMANDS,
    advisor.advisor,
    *staff.COMMANDS,
    users.users,
    *demo.COMMANDS,
    *notifications.COMMANDS,
):
    main.add_command(_command)
