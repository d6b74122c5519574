"""`/help`, command mentions, and the bot's own permissions, end to end in en, de and fr.

The real bot in the fake Discord: what a member sees privately, in their language, with mentions
that point at the commands Discord stored at sync.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from tests.bot_world import (
    ALICE,
    BOT_MUTED,
    BOT_NO_EMBEDS,
    BOT_UNSEEN,
    GENERAL,
    GUILD_ID,
    MODERATOR,
    BotWorld,
    public_messages,
    refusal,
)
from tests.fake_discord import Channel, Member, SentMessage, slash

LANGUAGES = ("en-US", "de", "fr")
TOPICS = ("voting", "account", "moderators", "games", "privacy")
# A command mention, and the value to type after it when the text names one (`/help account`).
MENTION = re.compile(r"</([-_a-z]+(?: [-_a-z]+){0,2}):(\d+)>(?: `([-_a-z]+)`)?")
# One short screen: what a member reads (a mention shows as `/name`), title and footer included.
ONE_SCREEN = 700
TITLES = {
    "en-US": {
        "voting": "How voting works",
        "account": "Your tracker account",
        "moderators": "For moderators",
        "games": "Games",
        "privacy": "Your data",
    },
    "de": {
        "voting": "So funktioniert das Abstimmen",
        "account": "Dein Tracker-Konto",
        "moderators": "Für die Moderation",
        "games": "Spiele",
        "privacy": "Deine Daten",
    },
    "fr": {
        "voting": "Comment fonctionne le vote",
        "account": "Votre compte tracker",
        "moderators": "Pour la modération",
        "games": "Parties",
        "privacy": "Vos données",
    },
}
# What each language calls a permission the bot lacks, as Discord's settings name it.
PERMISSIONS = {
    "en-US": {"view": "View Channel", "send": "Send Messages", "embed": "Embed Links"},
    "de": {"view": "Kanal ansehen", "send": "Nachrichten senden", "embed": "Links einbetten"},
    "fr": {"view": "Voir le salon", "send": "Envoyer des messages", "embed": "Intégrer des liens"},
}
LACKING = {BOT_UNSEEN.id: "view", BOT_MUTED.id: "send", BOT_NO_EMBEDS.id: "embed"}


def speaking(member: Member, locale: str) -> Member:
    return replace(member, locale=locale)


def mentions(text: str) -> list[tuple[str, int]]:
    return [(name, int(command_id)) for name, command_id, _ in MENTION.findall(text)]


def assert_mentions_synced_commands(world: BotWorld, text: str) -> None:
    """Every mention names a command (and subcommand) Discord stored, by the id it gave it, and
    a value named after it is one of its option's choices."""
    synced = {command["name"]: command for command in world.fake.synced_commands(GUILD_ID)}
    for name, command_id, value in MENTION.findall(text):
        top, *sub = name.split(" ")
        assert top in synced, name
        assert int(synced[top]["id"]) == int(command_id), (name, command_id)
        options = synced[top].get("options") or []
        for part in sub:
            (option,) = [o for o in options if o["name"] == part and o["type"] in (1, 2)]
            options = option.get("options") or []
        if value:
            assert value in [choice["value"] for choice in options[0]["choices"]], (name, value)
    assert "`/" not in text, "a command shown as code: its id was unknown"


def visible(text: str) -> str:
    """The text as a member reads it: Discord shows a command mention as `/name`."""
    return re.sub(r"</([^:>]+):\d+>", r"/\1", text)


def embed_text(embed: dict[str, Any]) -> str:
    return "\n".join([embed.get("title", ""), embed.get("description", "")])


async def ask_help(world: BotWorld, member: Member, topic: str | None) -> SentMessage:
    exchange = await world.command("help", member=member, topic=topic)
    answer = await exchange.final()
    assert public_messages(exchange) == [], exchange.messages
    return answer


@pytest.mark.parametrize("locale", LANGUAGES)
@pytest.mark.parametrize("topic", [*TOPICS, None], ids=[*TOPICS, "default"])
async def test_each_topic_is_one_private_screen_in_the_members_language(
    world: BotWorld, locale: str, topic: str | None
) -> None:
    answer = await ask_help(world, speaking(ALICE, locale), topic)

    assert answer.ephemeral
    (embed,) = answer.embeds
    assert embed["title"] == TITLES[locale][topic or "voting"]
    assert len(visible(embed_text(embed))) + len(embed["footer"]["text"]) <= ONE_SCREEN
    assert mentions(embed["description"]), "a topic names the commands it explains"
    assert_mentions_synced_commands(world, embed_text(embed))


async def test_topics_mention_the_commands_they_explain(world: BotWorld) -> None:
    explained = {
        "voting": {"vote add", "vote sub", "vote rand", "account status", "remind on", "help"},
        "account": {"account connect", "account disconnect", "account status"},
        "moderators": {"links add", "links card", "links list", "config voter-role"},
        "games": {"dice", "luck", "dom dice", "dom luck", "dom link"},
        "privacy": {"account forget", "account data", "account privacy", "config retention"},
    }
    for topic, names in explained.items():
        (embed,) = (await ask_help(world, ALICE, topic)).embeds
        assert names <= {name for name, _ in mentions(embed["description"])}, topic


async def test_mentions_keep_their_ids_after_a_restart_without_a_sync(world: BotWorld) -> None:
    before = (await ask_help(world, ALICE, "games")).embeds[0]["description"]
    syncs = world.fake.sync_count(GUILD_ID)

    await world.restart()
    after = (await ask_help(world, ALICE, "games")).embeds[0]["description"]

    assert world.fake.sync_count(GUILD_ID) == syncs
    assert after == before


async def test_a_database_without_the_ids_asks_discord_for_them(world: BotWorld) -> None:
    application_id = world.fake.application_id
    await world.db.set_meta(f"command_ids:{application_id}:{GUILD_ID}", "")
    await world.restart()

    (embed,) = (await ask_help(world, ALICE, "account")).embeds

    assert mentions(embed["description"])
    assert_mentions_synced_commands(world, embed["description"])


async def test_the_card_links_to_help_voting(world: BotWorld) -> None:
    await world.add_link()
    card = await world.fake.wait_for_channel_message(GENERAL.id, lambda m: bool(m.components))

    last = card.embeds[0]["fields"][-1]["value"]

    assert world.mention("help", "voting") in last
    assert_mentions_synced_commands(world, last)


@pytest.mark.parametrize("locale", LANGUAGES)
async def test_refusals_that_ask_to_connect_name_help_account(world: BotWorld, locale: str) -> None:
    alice = speaking(ALICE, locale)
    await world.add_link(anonymous=False)

    refusals = [
        await refusal(await world.vote(alice)),  # the link counts connected accounts only
        await refusal(await world.command("dice", member=alice)),  # games need an account
    ]

    for answer in refusals:
        assert world.mention("help", "account") in answer.content, answer.content
        assert world.mention("account connect") in answer.content, answer.content
        assert_mentions_synced_commands(world, answer.content)
    assert world.sandbox.requests == []


@pytest.mark.parametrize("locale", LANGUAGES)
@pytest.mark.parametrize("channel", [BOT_UNSEEN, BOT_MUTED, BOT_NO_EMBEDS], ids=lambda c: c.name)
@pytest.mark.parametrize("typed_there", [False, True], ids=["option", "typed-there"])
async def test_links_add_names_the_permission_the_bot_lacks_and_stores_nothing(
    world: BotWorld, locale: str, channel: Channel, typed_there: bool
) -> None:
    moderator = speaking(MODERATOR, locale)
    options = {"token": world.demo.link_token} | ({} if typed_there else {"channel": channel})
    where = channel if typed_there else GENERAL

    answer = await refusal(
        await world.run(slash("links", "add", options=options, member=moderator, channel=where))
    )

    names = PERMISSIONS[locale]
    missing = LACKING[channel.id]
    assert names[missing] in answer.content, answer.content
    for other in set(names) - {missing}:
        assert names[other] not in answer.content, answer.content
    assert f"<#{channel.id}>" in answer.content
    assert await world.db.links_in_guild(GUILD_ID) == []
    assert world.fake.channel_messages(channel.id) == []


async def test_links_card_checks_the_bots_permissions_too(world: BotWorld) -> None:
    await world.add_link()
    moved = await world.run(
        slash(
            "links",
            "card",
            options={"name": "link", "channel": BOT_NO_EMBEDS},
            member=MODERATOR,
            channel=GENERAL,
        )
    )

    answer = await refusal(moved)

    assert "Embed Links" in answer.content
    assert world.fake.channel_messages(BOT_NO_EMBEDS.id) == []


async def test_a_log_channel_needs_no_embeds(world: BotWorld) -> None:
    chosen = await world.run(
        slash(
            "config",
            "log-channel",
            options={"channel": BOT_NO_EMBEDS},
            member=MODERATOR,
            channel=GENERAL,
        )
    )
    answer = await chosen.final()
    assert answer.content == f"The moderators' log is now <#{BOT_NO_EMBEDS.id}>.", answer.content


async def test_help_answers_in_direct_messages_too(world: BotWorld) -> None:
    exchange = await world.run(slash("help", options={"topic": "account"}, user=ALICE.user))
    answer = await exchange.final()

    assert answer.ephemeral
    (embed,) = answer.embeds
    assert embed["title"] == TITLES["en-US"]["account"]
