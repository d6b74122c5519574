"""Clean stops: SIGTERM or SIGINT lets the calls already sent settle before the bot closes.

A stop ends within its grace and HARD_STOP_SECONDS more, whatever the database, the tracker or
Discord do; a second signal ends the process at once. Calls cut off either way stay pending and
the next start settles them as unknown.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from discord_layer.host import Host

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
HARD_STOP_SECONDS = 5.0
# The watchdog ends the process this much before the bound, for the exit itself.
_EXIT_MARGIN_SECONDS = 0.5
EXIT_CUT_OFF = 1


def exit_now(status: int, reason: str, *args: object) -> None:
    """End the process at once, without waiting for anything: what is pending stays pending."""
    log.warning(reason, *args)
    logging.shutdown()  # flush what the log holds
    os._exit(status)


def start_watchdog(seconds: float) -> threading.Timer:
    """End the process after `seconds`, from a thread: a busy or stuck event loop cannot stop it."""
    timer = threading.Timer(
        seconds,
        exit_now,
        (EXIT_CUT_OFF, "the stop did not finish within %g s; exiting now", seconds),
    )
    timer.daemon = True
    timer.start()
    return timer


@contextmanager
def stop_on_signals(bot: Host, grace: float) -> Iterator[None]:
    """While the block runs, a stop signal starts `bot.stop_gracefully(grace)` and a watchdog
    that ends the process HARD_STOP_SECONDS after the grace; a second signal ends it at once."""
    loop = asyncio.get_running_loop()
    stopping: set[asyncio.Task[None]] = set()

    def on_signal(signum: signal.Signals) -> None:
        if stopping or bot.stopping:
            exit_now(
                128 + signum, "received %s again: a second stop signal exits at once", signum.name
            )
        log.info("received %s: stopping within %g s", signum.name, grace)
        start_watchdog(grace + HARD_STOP_SECONDS - _EXIT_MARGIN_SECONDS)
        task = asyncio.create_task(bot.stop_gracefully(grace), name="clean stop")
        stopping.add(task)

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        yield
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
