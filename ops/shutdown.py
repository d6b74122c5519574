"""Clean stops: SIGTERM or SIGINT lets the calls already sent settle before the bot closes."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from discord_layer.host import Host

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def stop_on_signals(bot: Host, grace: float) -> Iterator[None]:
    """While the block runs, a stop signal starts `bot.stop_gracefully(grace)` (once)."""
    loop = asyncio.get_running_loop()
    stopping: set[asyncio.Task[None]] = set()

    def on_signal(signum: signal.Signals) -> None:
        if stopping or bot.stopping:
            log.info("received %s while stopping; still stopping", signum.name)
            return
        log.info("received %s: stopping within %g s", signum.name, grace)
        task = asyncio.create_task(bot.stop_gracefully(grace), name="clean stop")
        stopping.add(task)

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        yield
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
