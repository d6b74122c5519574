"""Prove the fake Discord with a real discord.py bot logged into it over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fake_discord import (
    GUILD_CATEGORY,
    Channel,
    FakeDiscord,
    Member,
    OptionValue,
    autocomplete,
    button_click,
    modal_submit,
    point_discord_py_at,
    running_bot,
    slash,
)
from tests.fake_discord.commands import offered
from tests.fake_discord.fixtures import fake_discord_fixture as fake_discord_fixture
from tests.fake_discord.rules import check_commands
from tests.fake_discord.wire import Refusal

GUILD_ID = 4_000_001
GENERAL = Channel(4_000_010, "general", GUILD_ID)
ELSEWHERE = Channel(4_000_020, "elsewhere", 4_000_002)
CATEGORY = Channel(4_000_030, "a category", GUILD_ID, GUILD_CATEGORY)
ALICE = Member(5_000_001, "alice")
BOB = Member(5_000_002, "bob")
FRUITS = ("apple", "apricot", "banana")


class AnswerModal(discord.ui.Modal, title="Question"):
    answer = discord.ui.TextInput(label="Answer", custom_id="answer")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"you said {self.answer.value}", ephemeral=True)


class LabelledModal(discord.ui.Modal, title="Labelled question"):
    answer = discord.ui.Label(text="Answer", component=discord.ui.TextInput(custom_id="labelled"))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        assert isinstance(self.answer.component, discord.ui.TextInput)
        value = self.answer.component.value
        await interaction.response.send_message(f"you said {value}", ephemeral=True)


class VoteView(discord.ui.View):
    @discord.ui.button(label="Yes", custom_id="vote:yes")
    async def yes(
        self, interaction: discord.Interaction, button: discord.ui.Button[VoteView]
    ) -> None:
        await interaction.response.edit_message(content="voted yes", view=None)

    @discord.ui.button(label="No", custom_id="vote:no")
    async def no(
        self, interaction: discord.Interaction, button: discord.ui.Button[VoteView]
    ) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="voted no", view=None)


class Probe(commands.Cog):
    """One command per behaviour of the fake that the tests check."""

    game = app_commands.Group(name="game", description="Dice games")

    @app_commands.command()
    async def ping(self, interaction: discord.Interaction) -> None:
        """Answer at once."""
        mentions = discord.AllowedMentions.none()
        await interaction.response.send_message("pong", allowed_mentions=mentions)

    @app_commands.command()
    async def secret(self, interaction: discord.Interaction, text: str) -> None:
        """Defer privately, then answer in the deferred message."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(f"noted: {text}")

    @app_commands.command()
    async def announce(self, interaction: discord.Interaction) -> None:
        """Defer publicly: the first follow-up stays public whatever it asks."""
        await interaction.response.defer()
        await interaction.followup.send("announced", ephemeral=True)
        await interaction.followup.send("just for you", ephemeral=True)

    @app_commands.command()
    async def twice(self, interaction: discord.Interaction) -> None:
        """Acknowledge twice, past discord.py's own guard."""
        await interaction.response.send_message("first")
        try:
            await discord.InteractionResponse(interaction).send_message("second")
        except discord.HTTPException as error:
            await interaction.followup.send(f"refused {error.code}")

    @app_commands.command()
    async def empty(self, interaction: discord.Interaction) -> None:
        """Send an empty message, then answer properly."""
        try:
            await interaction.response.send_message()
        except discord.HTTPException as error:
            await interaction.response.send_message(f"refused {error.code}", ephemeral=True)

    @app_commands.command()
    async def form(self, interaction: discord.Interaction) -> None:
        """Open a modal with a text input in an action row."""
        await interaction.response.send_modal(AnswerModal())

    @app_commands.command()
    async def labelled(self, interaction: discord.Interaction) -> None:
        """Open a modal with a text input in a label."""
        await interaction.response.send_modal(LabelledModal())

    @app_commands.command()
    async def pick(self, interaction: discord.Interaction, fruit: str) -> None:
        """Pick a fruit."""
        await interaction.response.send_message(f"picked {fruit}")

    @pick.autocomplete("fruit")
    async def pick_fruit(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f, value=f) for f in FRUITS if f.startswith(current)]

    @game.command()
    async def roll(self, interaction: discord.Interaction, sides: int, loud: bool = False) -> None:
        """Roll a die."""
        await interaction.response.send_message(f"rolled a d{sides}{'!' if loud else ''}")

    @app_commands.command()
    async def whisper(self, interaction: discord.Interaction, member: discord.Member) -> None:
        """Send a DM."""
        await interaction.response.defer(ephemeral=True)
        try:
            await member.send("psst")
        except discord.Forbidden as error:
            await interaction.followup.send(f"closed {error.code}")
        else:
            await interaction.followup.send("delivered")

    @app_commands.command()
    async def post(self, interaction: discord.Interaction) -> None:
        """Answer privately, post publicly in the channel, then edit that post."""
        await interaction.response.send_message("posting", ephemeral=True)
        assert isinstance(interaction.channel, discord.TextChannel)
        message = await interaction.channel.send("hello channel")
        await message.edit(content="hello channel (edited)")

    @app_commands.command()
    async def relay(
        self, interaction: discord.Interaction, channel: app_commands.AppCommandChannel
    ) -> None:
        """Post in any channel."""
        await interaction.response.defer(ephemeral=True)
        try:
            await interaction.client.get_partial_messageable(channel.id).send("relayed")
        except discord.HTTPException as error:
            await interaction.followup.send(f"refused {error.status} {error.code}")
        else:
            await interaction.followup.send("relayed")

    @app_commands.command()
    async def vote(self, interaction: discord.Interaction) -> None:
        """Post a message with a button."""
        await interaction.response.send_message("vote now", view=VoteView())


class ProbeTree(app_commands.CommandTree):
    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        assert isinstance(interaction.client, ProbeBot)
        interaction.client.failures.put_nowait(error)


class ProbeBot(commands.Bot):
    def __init__(self) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned, intents=intents, tree_cls=ProbeTree
        )
        self.failures: asyncio.Queue[app_commands.AppCommandError] = asyncio.Queue()

    async def setup_hook(self) -> None:
        await self.add_cog(Probe())
        guild = discord.Object(GUILD_ID)
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)

    async def next_failure(self) -> Exception:
        async with asyncio.timeout(10):
            failure = await self.failures.get()
        assert isinstance(failure, app_commands.CommandInvokeError), failure
        return failure.original


@pytest.fixture
async def bot(fake_discord: FakeDiscord) -> AsyncIterator[ProbeBot]:
    fake_discord.add_guild(GUILD_ID, "Probe guild", channels=[GENERAL, CATEGORY])
    async with running_bot(fake_discord, ProbeBot()) as client:
        assert isinstance(client, ProbeBot)
        yield client
    assert fake_discord.unhandled == [], "discord.py called routes the fake does not serve"


def in_general(command: str, *path: str, **options: OptionValue) -> dict[str, Any]:
    return slash(command, *path, options=options, member=ALICE, channel=GENERAL)


async def test_wrong_token_is_refused(fake_discord: FakeDiscord) -> None:
    point_discord_py_at(fake_discord.api_base)
    client = discord.Client(intents=discord.Intents(guilds=True))
    with pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    await client.close()


async def test_sync_stores_guild_commands_with_stable_ids(
    bot: ProbeBot, fake_discord: FakeDiscord
) -> None:
    synced = await fake_discord.wait_for_sync(GUILD_ID)
    registered = bot.tree.get_commands(guild=discord.Object(GUILD_ID))
    assert sorted(c["name"] for c in synced) == sorted(c.name for c in registered)
    assert len(synced) == 13
    assert (fake_discord.sync_count(GUILD_ID), fake_discord.sync_count()) == (1, 0)
    assert {c["guild_id"] for c in synced} == {str(GUILD_ID)}
    assert {c["application_id"] for c in synced} == {str(fake_discord.application_id)}
    game = next(c for c in synced if c["name"] == "game")
    roll = game["options"][0]
    assert (roll["name"], roll["type"]) == ("roll", 1)
    assert [(o["name"], o["type"]) for o in roll["options"]] == [("sides", 4), ("loud", 5)]

    ids = {c["name"]: c["id"] for c in synced}
    again = await bot.tree.sync(guild=discord.Object(GUILD_ID))
    assert {c.name: str(c.id) for c in again} == ids
    assert fake_discord.sync_count(GUILD_ID) == 2


async def test_sync_refuses_an_invalid_command(bot: ProbeBot, fake_discord: FakeDiscord) -> None:
    bad = [{"name": "Bad Name", "description": "capitals and spaces", "type": 1}]
    with pytest.raises(discord.HTTPException) as refused:
        await bot.http.bulk_upsert_guild_commands(fake_discord.application_id, GUILD_ID, bad)
    assert (refused.value.status, refused.value.code) == (400, 50035)
    assert fake_discord.sync_count(GUILD_ID) == 1


async def test_sync_refuses_channel_types_on_an_option_that_is_no_channel(
    bot: ProbeBot, fake_discord: FakeDiscord
) -> None:
    option = {"name": "text", "description": "d", "type": 3, "channel_types": [0]}
    bad = [{"name": "probe", "description": "d", "type": 1, "options": [option]}]
    with pytest.raises(discord.HTTPException) as refused:
        await bot.http.bulk_upsert_guild_commands(fake_discord.application_id, GUILD_ID, bad)
    assert (refused.value.status, refused.value.code) == (400, 50035)


async def test_immediate_answer_is_public_and_records_allowed_mentions(
    bot: ProbeBot, fake_discord: FakeDiscord
) -> None:
    exchange = await fake_discord.interact(in_general("ping"))
    final = await exchange.final()
    assert (final.content, final.ephemeral, final.channel_id) == ("pong", False, GENERAL.id)
    assert final.allowed_mentions == {"parse": []}
    assert exchange.callback is not None
    assert exchange.callback.type == 4
    assert exchange.ack_delay is not None
    assert 0 <= exchange.ack_delay < 3
    assert exchange.payload["data"]["guild_id"] == str(GUILD_ID)


async def test_subcommand_options_are_typed_from_the_synced_definition(
    bot: ProbeBot, fake_discord: FakeDiscord
) -> None:
    exchange = await fake_discord.interact(in_general("game", "roll", sides=20, loud=True))
    assert (await exchange.final()).content == "rolled a d20!"
    game = next(c for c in fake_discord.synced_commands(GUILD_ID) if c["name"] == "game")
    assert exchange.payload["data"]["id"] == game["id"]
    [roll] = exchange.payload["data"]["options"]
    assert [(o["name"], o["type"]) for o in roll["options"]] == [("sides", 4), ("loud", 5)]


async def test_ephemeral_deferral_keeps_its_answer_private(
    bot: ProbeBot, fake_discord: FakeDiscord
) -> None:
    exchange = await fake_discord.interact(in_general("secret", text="hi"))
    acknowledged = await exchange.acknowledged()
    assert (acknowledged.type, acknowledged.data) == (5, {"flags": 64})
    final = await exchange.final()
    assert (final.content, final.ephemeral) == ("noted: hi", True)
    assert [m.id for m in exchange.messages] == [final.id]
    # The placeholder appeared with the deferral; the answer only when it was filled.
    assert exchange.kept_at[final.id] >= exchange.dispatched_at + acknowledged.delay
    assert exchange.answered_at is not None
    assert exchange.answered_at > exchange.kept_at[final.id]


async def test_follow_up_after_public_defer_stays_public(
    bot: ProbeBot, fake_discord: FakeDiscord
) -> None:
    exchange = await fake_discord.interact(in_general("announce"))
    final = await exchange.final()
    assert (final.content, final.ephemeral) == ("announced", False)
    second = await exchange.wait_for_message(lambda m: m.id != final.id)
    assert (second.content, second.ephemeral) == ("just for you", True)


async def test_second_acknowledgement_is_refused(bot: ProbeBot, fake_discord: FakeDiscord) -> None:
    exchange = await fake_discord.interact(in_general("twice"))
    refused = await exchange.rejected()
    assert (refused.status, refused.code) == (400, 40060)
    await exchange.wait_for_message(lambda m: m.content.startswith("refused"))
    assert [m.content for m in exchange.messages] == ["first", "refused 40060"]


async def test_late_acknowledgement_is_refused(bot: ProbeBot, fake_discord: FakeDiscord) -> None:
    fake_discord.ack_deadline = 0.0
    exchange = await fake_discord.interact(in_general("ping"))
    refused = await exchange.rejected()
    assert (refused.status, refused.code) == (404, 10062)
    failure = await bot.next_failure()
    assert isinstance(failure, discord.NotFound)
    assert failure.code == 10062
    assert exchange.callback is None
    assert exchange.messages == []


async def test_follow_up_after_token_expiry_is_refused(
    bot: ProbeBot, fake_discord: FakeDiscord
) -> None:
    fake_discord.token_lifetime = 0.0
    exchange = await fake_discord.interact(in_general("secret", text="late"))
    refused = await exchange.rejected()
    assert (refused.status, refused.code) == (401, 50027)
    failure = await bot.next_failure()
    assert isinstance(failure, discord.HTTPException)
    assert failure.code == 50027


async def test_empty_message_is_refused(bot: ProbeBot, fake_discord: FakeDiscord) -> None:
    exchange = await fake_discord.interact(in_general("empty"))
    refused = await exchange.rejected()
    assert (refused.status, refused.code) == (400, 50006)
    final = await exchange.final()
    assert (final.content, final.ephemeral) == ("refused 50006", True)


@pytest.mark.parametrize(("command", "field"), [("form", "answer"), ("labelled", "labelled")])
async def test_modal_round_trip(
    bot: ProbeBot, fake_discord: FakeDiscord, command: str, field: str
) -> None:
    opened = await fake_discord.interact(in_general(command))
    modal = await opened.modal()
    assert list(modal.inputs()) == [field]
    submit = modal_submit(modal, {field: "42"}, member=ALICE, channel=GENERAL)
    submitted = await fake_discord.interact(submit)
    final = await submitted.final()
    assert (final.content, final.ephemeral) == ("you said 42", True)


async def test_autocomplete_offers_choices(bot: ProbeBot, fake_discord: FakeDiscord) -> None:
    typing = autocomplete(
        "pick", focused="fruit", options={"fruit": "ap"}, member=ALICE, channel=GENERAL
    )
    exchange = await fake_discord.interact(typing)
    choices = await exchange.autocomplete_choices()
    assert [c["name"] for c in choices] == ["apple", "apricot"]


@pytest.mark.parametrize(("button", "answer"), [("vote:yes", "voted yes"), ("vote:no", "voted no")])
async def test_button_click_updates_its_message(
    bot: ProbeBot, fake_discord: FakeDiscord, button: str, answer: str
) -> None:
    vote = await (await fake_discord.interact(in_general("vote"))).final()
    assert [b["custom_id"] for b in vote.components[0]["components"]] == ["vote:yes", "vote:no"]
    click = button_click(button, message_id=vote.id, member=BOB, channel=GENERAL)
    clicked = await fake_discord.interact(click)
    final = await clicked.final()
    assert (final.id, final.content, final.components) == (vote.id, answer, [])
    assert fake_discord.message(vote.id) == final


async def test_gateway_drop_then_next_interaction_is_answered(
    bot: ProbeBot, fake_discord: FakeDiscord
) -> None:
    await fake_discord.gateway.drop()
    exchange = await fake_discord.interact(in_general("ping"))
    assert (await exchange.final()).content == "pong"
    gateway = fake_discord.gateway
    assert (gateway.identify_count, gateway.resume_count, gateway.connected) == (1, 1, True)
    assert gateway.intents == discord.Intents(guilds=True).value


async def raw_identify(fake: FakeDiscord, shard: tuple[int, int]) -> dict[str, Any]:
    """Open a gateway connection, IDENTIFY as `shard`, and return the first answer after HELLO."""
    async with aiohttp.ClientSession() as session, session.ws_connect(fake.gateway_url) as ws:
        hello = await ws.receive_json(timeout=5)
        assert hello["op"] == 10
        await ws.send_json({"op": 2, "d": {"token": fake.token, "intents": 0, "shard": shard}})
        return await ws.receive_json(timeout=5)


async def test_a_second_identify_within_five_seconds_gets_an_invalid_session(
    fake_discord: FakeDiscord,
) -> None:
    first = await raw_identify(fake_discord, (0, 1))
    second = await raw_identify(fake_discord, (0, 1))

    assert (first["op"], first["t"]) == (0, "READY")
    assert (second["op"], second["d"]) == (9, False)
    assert fake_discord.gateway.refused_identifies == [(0, 1)]
    assert fake_discord.gateway.identify_count == 1


async def test_each_bucket_of_max_concurrency_identifies_once_per_window(
    fake_discord: FakeDiscord,
) -> None:
    fake_discord.gateway.max_concurrency = 2
    url = f"{fake_discord.api_base}/gateway/bot"
    headers = {"Authorization": f"Bot {fake_discord.token}"}
    async with aiohttp.ClientSession(headers=headers) as session, session.get(url) as response:
        limit = (await response.json())["session_start_limit"]

    answers = [await raw_identify(fake_discord, (shard, 4)) for shard in (0, 1, 2, 3)]

    assert limit["max_concurrency"] == 2
    assert [answer["op"] for answer in answers] == [0, 0, 9, 9]
    assert fake_discord.gateway.refused_identifies == [(2, 4), (3, 4)]


async def test_channel_posts_are_kept_apart_from_the_exchange(
    bot: ProbeBot, fake_discord: FakeDiscord
) -> None:
    exchange = await fake_discord.interact(in_general("post"))
    posted = await fake_discord.wait_for_channel_message(
        GENERAL.id, lambda m: "edited" in m.content
    )
    assert (posted.content, posted.ephemeral) == ("hello channel (edited)", False)
    assert [(m.content, m.ephemeral) for m in exchange.messages] == [("posting", True)]
    assert fake_discord.channel_messages(GENERAL.id) == [posted]


async def test_posting_in_a_guild_the_bot_is_not_in_is_forbidden(
    bot: ProbeBot, fake_discord: FakeDiscord
) -> None:
    fake_discord.add_channel(ELSEWHERE)
    exchange = await fake_discord.interact(in_general("relay", channel=ELSEWHERE))
    assert (await exchange.final()).content == "refused 403 50001"
    assert fake_discord.channel_messages(ELSEWHERE.id) == []
    relayed = await fake_discord.interact(in_general("relay", channel=GENERAL))
    assert (await relayed.final()).content == "relayed"
    assert [m.content for m in fake_discord.channel_messages(GENERAL.id)] == ["relayed"]


async def test_posting_in_a_category_is_refused(bot: ProbeBot, fake_discord: FakeDiscord) -> None:
    exchange = await fake_discord.interact(in_general("relay", channel=CATEGORY))
    assert (await exchange.final()).content == "refused 400 50008"
    assert fake_discord.channel_messages(CATEGORY.id) == []


async def test_direct_messages_open_and_closed(bot: ProbeBot, fake_discord: FakeDiscord) -> None:
    delivered = await fake_discord.interact(in_general("whisper", member=BOB))
    assert (await delivered.final()).content == "delivered"
    assert [m.content for m in fake_discord.dm_messages(BOB.id)] == ["psst"]
    assert fake_discord.dm_channel_json(BOB.id)["recipients"] == [BOB.user.to_json()]

    fake_discord.close_dms(BOB.id)
    refused = await fake_discord.interact(in_general("whisper", member=BOB))
    assert (await refused.final()).content == "closed 50007"
    assert [m.content for m in fake_discord.dm_messages(BOB.id)] == ["psst"]
    assert [e.code for e in fake_discord.errors] == [50007]


async def test_interaction_in_direct_messages_is_answered_there(
    bot: ProbeBot, fake_discord: FakeDiscord
) -> None:
    exchange = await fake_discord.interact(slash("ping", user=BOB.user))
    final = await exchange.final()
    assert (final.content, final.channel_id) == ("pong", fake_discord.dm_channel_id(BOB.id))
    assert "member" not in exchange.payload
    assert exchange.payload["context"] == 1


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("contexts", [0, 3]),
        ("contexts", []),
        ("integration_types", [0, 0]),
        ("integration_types", [2]),
    ],
)
def test_sync_refuses_unknown_contexts_and_integration_types(field: str, values: list[int]) -> None:
    command = {"name": "dice", "description": "Roll.", "type": 1, field: values}

    with pytest.raises(Refusal) as refused:
        check_commands([command])

    assert refused.value.code == 50035


EVERYWHERE = {"name": "dice", "contexts": [0, 1, 2], "integration_types": [0, 1]}
SERVER_ONLY = {"name": "vote", "contexts": [0], "integration_types": [0]}


@pytest.mark.parametrize(
    ("command", "scope", "context", "owners", "expected"),
    [
        (EVERYWHERE, None, 2, {"1"}, True),  # a user's install, in a group DM
        (SERVER_ONLY, None, 2, {"1"}, False),
        (SERVER_ONLY, None, 1, {"0"}, False),  # not in the bot's DM either
        (SERVER_ONLY, None, 0, {"1"}, False),  # a server that did not install the app
        (SERVER_ONLY, None, 0, {"0", "1"}, True),
        (EVERYWHERE, 810, 1, {"0"}, False),  # commands of one server: offered there only
        (SERVER_ONLY, 810, 0, {"0"}, True),
    ],
)
def test_commands_are_offered_where_their_installs_and_contexts_allow(
    command: dict, scope: int | None, context: int, owners: set[str], expected: bool
) -> None:
    assert offered(command, scope, context, owners) is expected
