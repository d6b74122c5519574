"""Turns to IDENTIFY on Discord's gateway, taken in the database that every process shares.

Discord starts `max_concurrency` sessions per 5 seconds, one per bucket (shard id %
max_concurrency; 1 bucket for most bots), and answers more with an invalid session: a process
that started together with another, or restarted right after its last IDENTIFY, lost a turn and
tried again later. Each IDENTIFY now takes the bucket's next free slot first and waits for it.
A RESUME continues a session and needs no turn (discord.py calls the hook for IDENTIFY only).
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import discord
import discord.http

from storage.interface import Storage

log = logging.getLogger(__name__)

# Between two turns: the window (DISCORD_IDENTIFY_WINDOW_SECONDS, Discord's 5 s) times this, for
# room when one turn's IDENTIFY goes out a little late (an event loop busy with the start, the
# database's answer on its way back): 6 s on Discord.
TURN_SPACING = 1.2
# discord.py gives up on a connection (this wait included) after 60 s; a turn further off means
# more processes start at once than turns fit in that time: the IDENTIFY goes out anyway, and
# Discord's invalid session makes discord.py try again.
LONGEST_WAIT_SECONDS = 50.0
GATEWAY_QUESTION_SECONDS = 10.0


class StoppedWaiting(ConnectionError):
    """The bot closed while a shard waited for its turn: discord.py's connect loop ends quietly
    on a connection error once the client is closed."""


class IdentifyTurns:
    def __init__(self, db: Storage, window: float) -> None:
        self._db = db
        self._spacing = window * TURN_SPACING
        self._closed = asyncio.Event()
        self.max_concurrency = 1  # until Discord says otherwise: always safe

    async def learn_limits(self, http: discord.http.HTTPClient) -> None:
        """Ask Discord how many buckets the bot has (GET /gateway/bot); without an answer, one."""
        try:
            async with asyncio.timeout(GATEWAY_QUESTION_SECONDS):
                _, _, limit = await http.get_bot_gateway()
        except (discord.DiscordException, aiohttp.ClientError, OSError) as error:
            log.warning("no session start limit from Discord (%s); one IDENTIFY at a time", error)
            return
        self.max_concurrency = max(1, int(limit["max_concurrency"]))
        log.info(
            "Discord starts %d sessions at once and %d more today",
            self.max_concurrency,
            limit["remaining"],
        )

    async def wait_for_turn(self, shard_id: int | None) -> None:
        """Take the next free turn of the shard's bucket and wait until it comes.

        Raises StorageError when the database gives no turn within its deadline, and
        StoppedWaiting when the bot closes meanwhile.
        """
        bucket = (shard_id or 0) % self.max_concurrency
        wait = await self._db.take_identify_slot(bucket, spacing=self._spacing)
        if wait > LONGEST_WAIT_SECONDS:
            log.warning(
                "shard %s: the next turn to IDENTIFY is %.0f s away; more processes are starting"
                " at once than take turns within %g s, so this one goes ahead",
                shard_id,
                wait,
                LONGEST_WAIT_SECONDS,
            )
            wait = LONGEST_WAIT_SECONDS
        if wait > 0:
            log.info("shard %s: waiting %.1f s for its turn to IDENTIFY", shard_id, wait)
        try:
            async with asyncio.timeout(wait):
                await self._closed.wait()
        except TimeoutError:
            return
        raise StoppedWaiting("the bot closed while waiting for its turn to IDENTIFY")

    def close(self) -> None:
        self._closed.set()
