"""The application commands the bot synced, stored per scope the way Discord stores them."""

from __future__ import annotations

from typing import Any

from tests.fake_discord import rules
from tests.fake_discord.records import DEFAULT_TIMEOUT, Watch
from tests.fake_discord.wire import Snowflakes

JSON = dict[str, Any]
Scope = int | None  # a guild id, or None for global commands
GUILD_CONTEXT = 0
GUILD_INSTALL = "0"
EVERY_CONTEXT = [0, 1, 2]


class CommandNotOffered(AssertionError):
    """Discord would not send this command: it does not list it where the member is."""


def offered(command: JSON, scope: Scope, context: int, owners: set[str]) -> bool:
    """Whether Discord lists `command` in a `context` (0 server, 1 the bot's DM, 2 group DMs and
    other DMs) for an interaction authorised by `owners` ("0" a server install, "1" a user's).

    Commands synced to one server are offered there only, through the server's install; global
    commands where their `contexts` and `integration_types` allow it.
    """
    if scope is not None:
        return context == GUILD_CONTEXT and GUILD_INSTALL in owners
    contexts = command.get("contexts")
    if context not in (EVERY_CONTEXT if contexts is None else contexts):
        return False
    return bool(owners & {str(kind) for kind in command.get("integration_types") or [0]})


class CommandRegistry:
    """Keep each scope's commands with stable ids, count syncs, and type interaction options."""

    def __init__(self, application_id: int, snowflakes: Snowflakes) -> None:
        self._application_id = application_id
        self._snowflakes = snowflakes
        self._scopes: dict[Scope, list[JSON]] = {}
        self._syncs: dict[Scope, int] = {}
        self._watch = Watch()

    def overwrite(self, scope: Scope, payload: list[JSON]) -> list[JSON]:
        """Bulk overwrite: a command keeps its id across syncs by (name, type); others go."""
        rules.check_commands(payload)
        previous = {(c["name"], c["type"]): c["id"] for c in self._scopes.get(scope, [])}
        stored = []
        for command in payload:
            kind = command.get("type", 1)
            stored.append(
                {
                    "default_member_permissions": None,
                    "nsfw": False,
                    "contexts": None,
                    "integration_types": [0],
                    **command,
                    "type": kind,
                    "id": previous.get((command["name"], kind)) or str(self._snowflakes.next()),
                    "application_id": str(self._application_id),
                    "version": str(self._snowflakes.next()),
                }
                | ({} if scope is None else {"guild_id": str(scope)})
            )
        self._scopes[scope] = stored
        self._syncs[scope] = self._syncs.get(scope, 0) + 1
        self._watch.changed()
        return stored

    def synced(self, scope: Scope) -> list[JSON]:
        return self._scopes.get(scope, [])

    def sync_count(self, scope: Scope) -> int:
        return self._syncs.get(scope, 0)

    async def wait_for_sync(
        self, scope: Scope, count: int = 1, within: float = DEFAULT_TIMEOUT
    ) -> list[JSON]:
        where = "globally" if scope is None else f"to guild {scope}"
        return await self._watch.until(
            lambda: self._scopes[scope] if self.sync_count(scope) >= count else None,
            lambda: f"the bot synced {where} {self.sync_count(scope)} times, not {count}",
            within,
        )

    def offered_names(
        self, context: int, owners: set[str], guild_id: int | None = None
    ) -> list[str]:
        """The commands Discord lists to a member in this context (its `/` menu)."""
        scopes: list[Scope] = [None] if guild_id is None else [guild_id, None]
        return sorted(
            command["name"]
            for scope in scopes
            for command in self.synced(scope)
            if offered(command, scope, context, owners)
        )

    def complete(self, payload: JSON) -> None:
        """Fill what Discord adds to a command interaction: `data.id`, `data.guild_id`, types.

        Discord looks the command up among the guild's commands first, then the global ones,
        and sends only commands it offers in the interaction's context (`CommandNotOffered`
        otherwise); an unknown command (a crafted payload) stays as the test built it.
        """
        data = payload["data"]
        guild_id = payload.get("guild_id")
        context = payload.get("context", GUILD_CONTEXT)
        owners = set(payload.get("authorizing_integration_owners") or {GUILD_INSTALL: ""})
        scopes: list[Scope] = [None] if guild_id is None else [int(guild_id), None]
        found = False
        for scope in scopes:
            command = self._find(scope, data["name"], data.get("type", 1))
            found = found or command is not None
            if command is not None and offered(command, scope, context, owners):
                data["id"] = command["id"]
                if scope is not None:
                    data["guild_id"] = str(scope)
                _type_options(data.get("options", []), command.get("options", []))
                return
        if found:
            raise CommandNotOffered(
                f"Discord does not offer /{data['name']} in context {context} "
                f"(authorised by {sorted(owners)})"
            )

    def _find(self, scope: Scope, name: str, kind: int) -> JSON | None:
        matches = (c for c in self.synced(scope) if (c["name"], c["type"]) == (name, kind))
        return next(matches, None)


def _type_options(options: list[JSON], definitions: list[JSON]) -> None:
    by_name = {d["name"]: d for d in definitions}
    for option in options:
        definition = by_name.get(option["name"])
        if definition is None:
            continue
        option["type"] = definition["type"]
        if definition["type"] in (1, 2):
            _type_options(option.get("options", []), definition.get("options", []))
