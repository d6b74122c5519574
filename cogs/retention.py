"""The servers' retention, applied once at start and then daily by whichever process claims it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from discord.ext import commands, tasks

from services.privacy import PrivacyService

if TYPE_CHECKING:
    from discord_layer.host import Host

log = logging.getLogger(__name__)

CHECK_EVERY_HOURS = 1  # each round asks whether a day has passed since the last run anywhere


class Retention(commands.Cog):
    def __init__(self, privacy: PrivacyService) -> None:
        self.privacy = privacy
        self.started = False

    async def cog_load(self) -> None:
        self.apply.start()

    async def cog_unload(self) -> None:
        self.apply.cancel()

    @tasks.loop(hours=CHECK_EVERY_HOURS)
    async def apply(self) -> None:
        at_start, self.started = not self.started, True
        try:
            await self.privacy.apply_retention(at_start=at_start)
        except Exception:  # the next round tries again; a stopped loop would keep names forever
            log.exception("retention round failed")


async def setup(bot: Host) -> None:
    await bot.add_cog(Retention(bot.services.privacy))
