"""The interactions this process is still handling, so a clean stop can wait for their answers.

discord.py starts one task per interaction it receives (a command, a button, a modal) and
keeps no list of them; it names them, and the names are what finds them. Closing the bot closes
its HTTP session, so a handler still running then could not answer at all.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)

# discord.py's names for the tasks that run an interaction's handler (app_commands/tree.py,
# ui/view.py, ui/modal.py); a view's timeout task is not one of them.
HANDLER_TASK_PREFIXES = (
    "CommandTree-invoker",
    "discord-ui-view-dispatch-",
    "discord-ui-dynamic-item-",
    "discord-ui-modal-dispatch-",
)


def handler_tasks() -> set[asyncio.Task[object]]:
    """The interaction handlers running now, other than the caller."""
    current = asyncio.current_task()
    return {
        task
        for task in asyncio.all_tasks()
        if task is not current
        and not task.done()
        and task.get_name().startswith(HANDLER_TASK_PREFIXES)
    }


async def handlers_finished(seconds: float) -> int:
    """Wait up to `seconds` until no interaction handler runs, counting those that start while
    waiting (a stopping bot still answers them "restarting"). Returns how many still run."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while running := handler_tasks():
        left = deadline - loop.time()
        if left <= 0:
            return len(running)
        await asyncio.wait(running, timeout=left)
    return 0
