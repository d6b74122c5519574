"""LOG_FORMAT=json: every line the bot logs is one JSON object, and holds no secret."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

from tests.bot_world import BotWorld, public_result
from tests.helpers_faults import bot_process, connected_member


async def test_json_logs_are_one_object_per_line_without_secrets(
    world: BotWorld, tmp_path: Path
) -> None:
    await world.add_link()
    member, api_token = await connected_member(world)
    async with bot_process(world, tmp_path, LOG_FORMAT="json", LOG_LEVEL="DEBUG") as process:
        await public_result(await world.vote(member))
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            assert await process.wait() == 0

    text = (tmp_path / "stderr.txt").read_text()
    entries = [json.loads(line) for line in text.splitlines()]
    assert len(entries) >= 3
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry), entry
        assert entry["time"].endswith("+00:00")
    assert any(entry["message"].startswith("received SIGTERM") for entry in entries)
    assert world.settings.token_key is not None
    secrets = [
        api_token,
        world.demo.link_token,
        world.settings.discord_token.get_secret_value(),
        world.settings.token_key.get_secret_value(),
    ]
    assert [secret for secret in secrets if secret in text] == []
