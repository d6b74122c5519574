"""Who is asking, as far as our rules care: built by the Discord layer from an interaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from i18n.message import Message, Role, msg
from services.errors import NotAllowed
from storage.models import GuildSettings


@dataclass(frozen=True)
class Actor:
    user_id: int
    guild_id: int | None = None
    channel_id: int | None = None
    role_ids: frozenset[int] = field(default_factory=frozenset)
    manage_guild: bool = False
    locale: str | None = None  # the member's Discord language
    guild_locale: str | None = None  # the server's, for what the whole channel reads
    display_name: str | None = None  # as the server shows the member, kept with their votes

    def require_channel(self, refusal: Message | None = None) -> tuple[int, int]:
        """Server-bound commands refuse DMs even when Discord would deliver them."""
        if self.guild_id is None or self.channel_id is None:
            raise NotAllowed(refusal or msg("This command works only in a server channel."))
        return self.guild_id, self.channel_id

    def require_manager(self) -> int:
        """Checked in code: Discord's default permissions can be overridden by server admins."""
        guild_id, _ = self.require_channel()
        if not self.manage_guild:
            raise NotAllowed(msg("Only members with the Manage Server permission may do this."))
        return guild_id

    def require_voter_role(self, settings: GuildSettings) -> None:
        role_id = settings.voter_role_id
        if role_id is not None and role_id not in self.role_ids:
            raise NotAllowed(
                msg(
                    "Only members with the {role} role may vote in this server.", role=Role(role_id)
                )
            )
