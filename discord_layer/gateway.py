"""Closing the gateway before the HTTP session, so a stop answers every interaction it received.

Discord keeps sending events until it reads the bot's close frame. discord.py's own close
discards what arrives after it sent that frame, and closes the HTTP session moments later: an
interaction sent in that instant was received and never acknowledged. Sending the close frame
ourselves and reading on until Discord's reply hands every such interaction to its handler,
while the HTTP session is still open to answer it.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct

import aiohttp
import discord.gateway

NORMAL_CLOSURE = 1000


async def close_and_read_to_the_end(
    sockets: list[discord.gateway.DiscordWebSocket], disconnected: asyncio.Event, seconds: float
) -> int:
    """Send each connection's close frame, then wait up to `seconds` for Discord's replies while
    discord.py goes on dispatching what arrives first; `disconnected` is set at each disconnect.
    Returns how many did not close in time."""
    for gateway in sockets:
        if not gateway.socket.closed:
            with contextlib.suppress(ConnectionError):  # dropped meanwhile: nothing more comes
                await gateway.socket.send_frame(
                    struct.pack("!H", NORMAL_CLOSURE), aiohttp.WSMsgType.CLOSE
                )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while open_ := sum(not gateway.socket.closed for gateway in sockets):
        left = deadline - loop.time()
        if left <= 0:
            return open_
        disconnected.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(disconnected.wait(), left)
    return 0
