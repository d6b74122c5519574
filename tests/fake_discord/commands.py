"""The application commands the bot synced, stored per scope the way Discord stores them."""

from __future__ import annotations

from typing import Any

from tests.fake_discord import rules
from tests.fake_discord.records import DEFAULT_TIMEOUT, Watch
from tests.fake_discord.wire import Snowflakes

JSON = dict[str, Any]
Scope = int | None  # a guild id, or None for global commands


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

    def complete(self, payload: JSON) -> None:
        """Fill what Discord adds to a command interaction: `data.id`, `data.guild_id`, types.

        Discord looks the command up among the guild's commands first, then the global ones;
        an unknown command (a crafted payload) stays as the test built it.
        """
        data = payload["data"]
        guild_id = payload.get("guild_id")
        scopes: list[Scope] = [None] if guild_id is None else [int(guild_id), None]
        for scope in scopes:
            command = self._find(scope, data["name"], data.get("type", 1))
            if command is not None:
                data["id"] = command["id"]
                if scope is not None:
                    data["guild_id"] = str(scope)
                _type_options(data.get("options", []), command.get("options", []))
                return

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
