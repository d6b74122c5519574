"""Each reader gets their language: members privately, the server publicly, reminders as last seen.

The real bot in the fake Discord; interactions carry `locale` (the member's Discord language)
and `guild_locale` (the server's), as Discord sends them. Exact sentences are asserted here
because the language is the point; elsewhere tests assert behaviour.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from discord_layer.texts import Texts
from i18n.catalogue import LOCALES_DIR, Catalogue
from i18n.formats import format_number
from tests.bot_world import (
    ALICE,
    BOB,
    GENERAL,
    GUILD_ID,
    MODERATOR,
    OWNER,
    BotWorld,
    public_result,
)
from tests.fake_discord import Member, SentMessage
from tests.test_e2e_modlog import choose_log_channel, log_line

NBSP = "\u00a0"
# Per language: what a member reads for a refusal, a counted vote, /account status, /links list.
SAYS = {
    "de": {
        "no_link": "Dieser Kanal hat keinen Link zum Abstimmen.",
        "counted": "Deine Stimme wurde gezählt.",
        "status": "Über diesen Bot abgegebene Stimmen: 1.",
        "anonymous": "Kein Tracker-Konto verbunden",
        "listed": "täglich, gemeinsame Stimme erlaubt",
        "limited": "Du hast in den letzten 24 Stunden schon bei `link` abgestimmt.",
    },
    "fr": {
        "no_link": "Ce salon n'a aucun lien sur lequel voter.",
        "counted": "Votre vote a été compté.",
        "status": f"Votes exprimés via ce bot{NBSP}: 1.",
        "anonymous": "Aucun compte tracker connecté",
        "listed": "quotidien, vote partagé autorisé",
        "limited": "Vous avez déjà voté sur `link` ces dernières 24 heures.",
    },
}
LANGUAGES = sorted(SAYS)


def speaking(member: Member, locale: str) -> Member:
    return replace(member, locale=locale)


def buttons(card: SentMessage) -> list[str]:
    return [button["label"] for row in card.components for button in row["components"]]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_member_reads_refusals_confirmations_and_status_in_their_language(
    world: BotWorld, language: str
) -> None:
    says = SAYS[language]
    alice = speaking(ALICE, language)

    refused = await (await world.vote(alice)).final()
    assert refused.ephemeral
    assert refused.content.startswith(says["no_link"])

    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    exchange = await world.vote(alice)
    confirmation = await exchange.final()
    announced = await public_result(exchange)
    assert confirmation.ephemeral
    assert confirmation.content == says["counted"]
    assert "voted on link `link`" in announced.content  # the server speaks English

    again = await (await world.vote(alice)).final()
    assert again.content.startswith(says["limited"])

    status = await world.answer("account", "status", member=alice)
    assert says["status"] in status.content
    anonymous = await world.answer("account", "status", member=speaking(BOB, language))
    assert anonymous.content.startswith(says["anonymous"])


@pytest.mark.parametrize("language", LANGUAGES)
async def test_moderators_list_links_in_their_language(world: BotWorld, language: str) -> None:
    await world.add_link()
    listing = await world.answer("links", "list", member=speaking(MODERATOR, language))
    assert listing.ephemeral
    assert SAYS[language]["listed"] in listing.content


async def test_a_german_server_gets_german_cards_and_announcements_while_members_keep_theirs(
    world: BotWorld,
) -> None:
    world.fake.set_guild_locale(GUILD_ID, "de")
    added = await world.add_link()
    assert added.content.startswith("Link added:")  # the moderator's own language: English
    card = await world.fake.wait_for_channel_message(GENERAL.id, lambda m: bool(m.components))
    assert card.embeds[0]["title"] == "Abstimmung bei Link „link“"
    assert buttons(card) == ["Zeit hinzufügen", "Zeit abziehen", "Zufall", "Statistik"]
    assert [f["name"] for f in card.embeds[0]["fields"]][:2] == ["Heute", "Insgesamt"]

    await world.connect(ALICE, world.demo.voter_token)
    exchange = await world.vote(ALICE)
    assert (await exchange.final()).content == "Your vote was counted."
    announced = await public_result(exchange)
    played = world.sandbox.histories[-1]
    assert announced.content.startswith(f"🗳️ <@{ALICE.id}> hat bei Link `link` abgestimmt: **+")
    assert f"×{format_number(played.multiplier, 'de')}" in announced.content
    assert "neues Ende" in announced.content

    edited = await world.fake.wait_for_channel_message(
        GENERAL.id, lambda m: m.id == card.id and "1 Stimme" in str(m.embeds)
    )
    assert "1 Stimme (1 mit Konto, 0 gemeinsam)" in str(edited.embeds)


async def test_cards_follow_the_server_when_it_changes_its_language(world: BotWorld) -> None:
    await world.add_link()
    card = await world.fake.wait_for_channel_message(GENERAL.id, lambda m: bool(m.components))
    assert buttons(card) == ["Add time", "Remove time", "Random", "Stats"]

    world.fake.set_guild_locale(GUILD_ID, "fr")
    await world.connect(ALICE, world.demo.voter_token)  # any interaction shows the change
    await public_result(await world.vote(ALICE))

    edited = await world.fake.wait_for_channel_message(
        GENERAL.id, lambda m: m.id == card.id and buttons(m)[0] == "Ajouter du temps"
    )
    assert edited.embeds[0]["title"] == f"Vote sur le lien «{NBSP}link{NBSP}»"
    (link,) = await world.db.links_in_guild(GUILD_ID)
    assert link.locale == "fr"


async def test_reminders_speak_the_language_the_member_last_used(world: BotWorld) -> None:
    await world.add_link()
    await world.connect(ALICE, world.demo.voter_token)
    await (await world.vote(ALICE)).final()
    await world.answer("remind", "on", member=speaking(ALICE, "fr"))
    await world.answer("account", "status", member=speaking(ALICE, "de"))  # switched to German

    async def stored() -> str | None:
        (due,) = await world.db.due_reminders(
            now=world.sandbox.now() + timedelta(days=2), window=timedelta(hours=24)
        )
        return due.locale

    world.sandbox.advance(timedelta(hours=25))
    reminder = await world.fake.wait_for_channel_message(world.fake.dm_channel_id(ALICE.id))
    assert reminder.content.startswith("Link `link` in ")
    assert "ist für dich wieder offen" in reminder.content


async def test_synced_commands_carry_german_and_french_descriptions_within_discords_limits(
    world: BotWorld,
) -> None:
    missing: list[str] = []

    def check(item: dict, path: str) -> None:
        assert "name_localizations" not in item or not item["name_localizations"], path
        for language in LANGUAGES:
            text = (item.get("description_localizations") or {}).get(language)
            if not text or text == item["description"] or len(text) > 100:
                missing.append(f"{path} {language}: {text!r}")
        for choice in item.get("choices") or []:
            for language in LANGUAGES:
                text = (choice.get("name_localizations") or {}).get(language)
                if not text or text == choice["name"] or len(text) > 100:
                    missing.append(f"{path} choice {choice['value']} {language}: {text!r}")
        for option in item.get("options") or []:
            check(option, f"{path} {option['name']}")

    commands = world.fake.commands.synced(GUILD_ID)
    assert commands
    for command in commands:
        check(command, f"/{command['name']}")
    assert missing == []


async def test_a_changed_translation_is_synced_and_an_unchanged_one_is_not(
    world: BotWorld, tmp_path: Path
) -> None:
    assert world.fake.commands.sync_count(GUILD_ID) == 1
    await world.restart()
    assert world.fake.commands.sync_count(GUILD_ID) == 1  # nothing changed: no second sync

    changed = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, changed)
    po = changed / "de" / "LC_MESSAGES" / "ctvote.po"
    po.write_text(
        po.read_text(encoding="utf-8").replace(
            'msgstr "Beim Link dieses Kanals abstimmen."', 'msgstr "Abstimmen über den Link."'
        ),
        encoding="utf-8",
    )
    await world.bot.tree.set_translator(Texts(Catalogue.load(changed)))
    assert await world.bot.sync_commands_if_changed()
    assert world.fake.commands.sync_count(GUILD_ID) == 2
    (vote,) = [c for c in world.fake.commands.synced(GUILD_ID) if c["name"] == "vote"]
    assert vote["description_localizations"]["de"] == "Abstimmen über den Link."


async def test_a_server_set_to_german_speaks_german_in_public_and_auto_brings_discords_back(
    world: BotWorld,
) -> None:
    """Discord reports en-US for a server that is not a Community server (the fake's default)."""
    await choose_log_channel(world, MODERATOR)
    await world.add_link()
    card = await world.fake.wait_for_channel_message(GENERAL.id, lambda m: bool(m.components))
    assert buttons(card) == ["Add time", "Remove time", "Random", "Stats"]

    chosen = await world.answer("config", "language", member=MODERATOR, language="de")
    assert chosen.ephemeral
    assert chosen.content == (
        "Public messages are now in German. Cards change at their next update."
    )  # the moderator's own language stays English
    await log_line(world, f"⚙️ <@{MODERATOR.id}> hat Deutsch für öffentliche Nachrichten gewählt.")
    assert (await world.db.guild_settings(GUILD_ID)).language == "de"
    listing = await world.answer("links", "list", member=MODERATOR)
    assert "Public messages are in German, as chosen with" in listing.content

    await world.connect(ALICE, world.demo.voter_token)
    exchange = await world.vote(ALICE)
    assert (await exchange.final()).content == "Your vote was counted."
    announced = await public_result(exchange)
    assert announced.content.startswith(f"🗳️ <@{ALICE.id}> hat bei Link `link` abgestimmt: **+")
    edited = await world.fake.wait_for_channel_message(
        GENERAL.id, lambda m: m.id == card.id and buttons(m)[0] == "Zeit hinzufügen"
    )
    assert edited.embeds[0]["title"] == "Abstimmung bei Link „link“"
    await world.connect(OWNER, world.demo.owner_token)
    await public_result(await world.vote(OWNER))  # the owner's own link: a penalty
    await log_line(world, "⚠️ Strafe bei Link `link` in ")

    back = await world.answer(
        "config", "language", member=speaking(MODERATOR, "fr"), language="auto"
    )
    assert back.content.startswith("Les messages publics suivent désormais la langue du serveur")
    await log_line(world, "let public messages follow Discord's server language: English.")
    assert (await world.db.guild_settings(GUILD_ID)).language is None
    shared = await public_result(await world.vote(BOB))
    assert shared.content.startswith(f"🗳️ <@{BOB.id}> voted with the channel's shared vote on link")
    await world.fake.wait_for_channel_message(
        GENERAL.id, lambda m: m.id == card.id and buttons(m)[0] == "Add time"
    )
