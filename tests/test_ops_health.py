"""`/healthz` and `/metrics` over real HTTP, against the real bot in the fake Discord."""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import CtVoteBot, assemble
from tests.bot_world import ALICE, BotWorld, bot_environment, public_result
from tests.fake_discord import running_bot
from tests.helpers_faults import connected_member, private_answer
from tracker.sandbox import Fault

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


async def health_becomes(url: str, status: int) -> str:
    """Poll /healthz until it answers `status`; its text."""
    async with asyncio.timeout(10):
        while True:
            got, text = await get(f"{url}/healthz")
            if got == status:
                return text
            await asyncio.sleep(0.02)


async def scrape(url: str) -> Samples:
    status, text = await get(f"{url}/metrics")
    assert status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def moved(before: Samples, after: Samples) -> Samples:
    return {
        key: value - before.get(key, 0.0)
        for key, value in after.items()
        if value != before.get(key)
    }


async def probe(url: str) -> tuple[int, str]:
    """The container's health check (`python -m ops.probe`): its exit status and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ops.probe",
        env=bot_environment(HTTP_PORT=url.rsplit(":", 1)[1]),
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    return process.returncode or 0, stderr.decode()


@pytest.fixture
async def bot_with_http(world: BotWorld) -> AsyncIterator[tuple[CtVoteBot, str]]:
    """The world's bot again, with HTTP_PORT set; yielded before it connects to Discord."""
    await world.stop()
    async with assemble(world.settings.model_copy(update={"http_port": 0})) as bot:
        assert bot.ops_server is not None
        assert bot.ops_server.url is not None
        yield bot, bot.ops_server.url


async def test_healthz_is_503_until_connected_and_while_the_gateway_is_down(
    world: BotWorld, bot_with_http: tuple[CtVoteBot, str]
) -> None:
    bot, url = bot_with_http
    assert await health_becomes(url, 503) == "gateway: 0 of 1 connections up\n"

    async with running_bot(world.fake, bot):
        assert await health_becomes(url, 200) == "ok\n"
        assert await probe(url) == (0, "")

        world.fake.gateway.accepting.clear()  # an outage: the bot cannot reconnect
        await world.fake.gateway.drop()
        assert await health_becomes(url, 503) == "gateway: 0 of 1 connections up\n"
        assert await probe(url) == (1, "ctvote probe: 503 gateway: 0 of 1 connections up\n")
        world.fake.gateway.accepting.set()
        assert await health_becomes(url, 200) == "ok\n"
        assert (await world.answer("account", "status", member=ALICE)).ephemeral  # it serves again


async def test_metrics_count_each_call_by_game_and_outcome_and_carry_no_ids(
    world: BotWorld, bot_with_http: tuple[CtVoteBot, str]
) -> None:
    bot, url = bot_with_http
    async with running_bot(world.fake, bot):
        await health_becomes(url, 200)
        await world.add_link()
        members = [await connected_member(world) for _ in range(4)]
        before = await scrape(url)

        for member, _ in members[:2]:
            await public_result(await world.vote(member))
        world.sandbox.queue_fault(Fault.not_ok_200())
        await private_answer(await world.vote(members[2][0]))
        world.sandbox.queue_fault(Fault.html_500(apply_game=True))
        await private_answer(await world.vote(members[3][0]))
        after = await scrape(url)

    changes = moved(before, after)
    calls = {key[1]: value for key, value in changes.items() if key[0] == "ctvote_game_calls_total"}
    assert calls == {
        (("game", "link"), ("outcome", "played")): 2,
        (("game", "link"), ("outcome", "refused")): 1,
        (("game", "link"), ("outcome", "unknown")): 1,
    }
    assert changes[("ctvote_tracker_call_seconds_count", (("game", "link"),))] == 4
    assert changes[("ctvote_discord_ack_seconds_count", ())] == 4
    errors = {key[1]: value for key, value in changes.items() if key[0] == "ctvote_errors_total"}
    assert errors == {(("kind", "refused"),): 1, (("kind", "server_error"),): 1}
    assert after[("ctvote_calls_under_way", ())] == 0
    assert after[("ctvote_shards_connected", ())] == 1
    latency = after[("ctvote_gateway_latency_seconds", ())]
    assert math.isnan(latency) or latency >= 0

    _, text = await get(f"{url}/metrics")
    secrets = [str(member.id) for member, _ in members] + [token for _, token in members]
    assert [secret for secret in secrets if secret in text] == []
    assert world.demo.link_token not in text


async def test_card_edits_and_reminders_are_counted(world: BotWorld) -> None:
    await world.add_link()
    member, _ = await connected_member(world)
    await world.answer("remind", "on", member=member)
    registry = world.bot.metrics.registry
    edits = registry.get_sample_value("ctvote_card_edits_total") or 0
    await public_result(await world.vote(member))
    await poll(lambda: (registry.get_sample_value("ctvote_card_edits_total") or 0) > edits)

    world.sandbox.advance(timedelta(hours=25))
    await world.fake.wait_for_channel_message(world.fake.dm_channel_id(member.id))
    await poll(lambda: registry.get_sample_value("ctvote_reminders_sent_total") == 1)


async def poll(condition: Callable[[], bool]) -> None:
    """Wait for a counter that moves just after the message it counts was delivered."""
    async with asyncio.timeout(10):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)
