"""Where each command is offered: in servers that installed the app, or also through a member's
own install (user installs) in DMs and group DMs.

Commands that read or change a server's links and settings stay with the server; a member's
own games, account, reminders and help go wherever the member installed the app.
"""

from __future__ import annotations

from typing import TypeVar

from discord import app_commands

T = TypeVar("T")


def anywhere(item: T) -> T:
    """integration_types [0, 1], contexts [0, 1, 2]."""
    item = app_commands.allowed_installs(guilds=True, users=True)(item)
    return app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)(item)


def server_only(item: T) -> T:
    """integration_types [0], contexts [0]."""
    item = app_commands.allowed_installs(guilds=True, users=False)(item)
    return app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)(item)
