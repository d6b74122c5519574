"""Discord's limits on what a bot sends, so a test fails where production would."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tests.fake_discord.payloads import CHANNEL_TYPES
from tests.fake_discord.wire import Refusal, invalid_form

JSON = Mapping[str, Any]

# Callback types each interaction type accepts (4 message, 5 deferred message,
# 6 deferred update, 7 update message, 8 autocomplete result, 9 modal).
CALLBACK_TYPES = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}
# Message flags a bot may set: suppress embeds, ephemeral, suppress notifications, components v2.
SENDABLE_FLAGS = 4 | 64 | 4096 | 32768
EMBED_TEXT_LIMITS = {"title": 256, "description": 4096}
COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
# InteractionContextType (guild, bot DM, private channel) and ApplicationIntegrationType (guild
# install, user install), as Discord's OpenAPI description lists them.
CONTEXTS = frozenset({0, 1, 2})
INTEGRATION_TYPES = frozenset({0, 1})
# Discord's AvailableLocalesEnum: the only keys a `*_localizations` map may have.
LOCALES = frozenset(
    [
        "ar",
        "bg",
        "cs",
        "da",
        "de",
        "el",
        "en-GB",
        "en-US",
        "es-419",
        "es-ES",
        "fi",
        "fr",
        "he",
        "hi",
        "hr",
        "hu",
        "id",
        "it",
        "ja",
        "ko",
        "lt",
        "nl",
        "no",
        "pl",
        "pt-BR",
        "ro",
        "ru",
        "sv-SE",
        "th",
        "tr",
        "uk",
        "vi",
        "zh-CN",
        "zh-TW",
    ]
)


def is_empty(message: JSON) -> bool:
    keys = ("content", "embeds", "components", "attachments", "sticker_ids", "poll")
    return not any(message.get(key) for key in keys)


def check_message(message: JSON, where: str = "") -> None:
    """Refuse what Discord refuses: a field over a limit (50035), then an empty message (50006)."""
    content = message.get("content") or ""
    if len(content) > 2000:
        raise invalid_form(f"{where}content", "Must be 2000 or fewer in length.")
    embeds = message.get("embeds") or []
    if len(embeds) > 10:
        raise invalid_form(f"{where}embeds", "Must be 10 or fewer in length.")
    if sum(_check_embed(embed, f"{where}embeds.{i}") for i, embed in enumerate(embeds)) > 6000:
        raise invalid_form(f"{where}embeds", "Embed size exceeds maximum size of 6000")
    for path, custom_id in _custom_ids(message.get("components") or [], f"{where}components"):
        if not 1 <= len(custom_id) <= 100:
            raise invalid_form(f"{path}.custom_id", "Must be between 1 and 100 in length.")
    if is_empty(message):
        raise Refusal(400, 50006, "Cannot send an empty message")


def check_callback(interaction_type: int, body: JSON) -> None:
    """Refuse a callback type the interaction cannot take, or a modal/choices over a limit."""
    callback_type = body.get("type")
    if callback_type not in CALLBACK_TYPES.get(interaction_type, set()):
        raise invalid_form("type", f"Interaction response type {callback_type} is invalid here.")
    data = body.get("data") or {}
    if callback_type == 4:
        check_message(data, "data.")
    elif callback_type == 8:
        _check_choices(data.get("choices") or [], "data.choices")
    elif callback_type == 9:
        _check_modal(data)


def check_commands(commands: Sequence[JSON]) -> None:
    """Refuse a bulk overwrite Discord refuses (names, descriptions, option order and counts)."""
    if sum(c.get("type", 1) == 1 for c in commands) > 100:
        raise invalid_form("_", "Maximum number of application commands reached (100).")
    seen: set[tuple[str, int]] = set()
    for i, command in enumerate(commands):
        key = (command.get("name", ""), command.get("type", 1))
        if key in seen:
            raise invalid_form(f"{i}.name", "Application command names must be unique")
        seen.add(key)
        _check_where(command, str(i))
        if key[1] == 1:
            _check_named(command, str(i))
            _check_options(command.get("options") or [], f"{i}.options")


def _check_where(command: JSON, path: str) -> None:
    """`contexts` and `integration_types`: null, or a non-empty set of known values."""
    for field, known in (("contexts", CONTEXTS), ("integration_types", INTEGRATION_TYPES)):
        values = command.get(field)
        if values is None:
            continue
        if not values or len(set(values)) != len(values) or not set(values) <= known:
            raise invalid_form(f"{path}.{field}", f"Value {values} is not a valid {field}.")


def _check_embed(embed: JSON, path: str) -> int:
    size = 0
    for key, limit in EMBED_TEXT_LIMITS.items():
        size += _limited(embed.get(key), limit, f"{path}.{key}")
    fields = embed.get("fields") or []
    if len(fields) > 25:
        raise invalid_form(f"{path}.fields", "Must be 25 or fewer in length.")
    for i, embed_field in enumerate(fields):
        size += _limited(embed_field.get("name"), 256, f"{path}.fields.{i}.name")
        size += _limited(embed_field.get("value"), 1024, f"{path}.fields.{i}.value")
    size += _limited((embed.get("footer") or {}).get("text"), 2048, f"{path}.footer.text")
    size += _limited((embed.get("author") or {}).get("name"), 256, f"{path}.author.name")
    return size


def _limited(text: str | None, limit: int, path: str) -> int:
    if text is not None and len(text) > limit:
        raise invalid_form(path, f"Must be {limit} or fewer in length.")
    return len(text or "")


def _custom_ids(components: Sequence[JSON], path: str) -> Iterator[tuple[str, str]]:
    for i, component in enumerate(components):
        here = f"{path}.{i}"
        if "custom_id" in component:
            yield here, component["custom_id"]
        yield from _custom_ids(component.get("components") or [], f"{here}.components")
        for single in ("component", "accessory"):
            if single in component:
                yield from _custom_ids([component[single]], f"{here}.{single}")


def _check_choices(choices: Sequence[JSON], path: str) -> None:
    if len(choices) > 25:
        raise invalid_form(path, "Must be 25 or fewer in length.")
    for i, choice in enumerate(choices):
        names = {None: choice.get("name", ""), **(choice.get("name_localizations") or {})}
        for locale, name in names.items():
            if not 1 <= len(name) <= 100:
                where = f"{path}.{i}.name" + (f"_localizations.{locale}" if locale else "")
                raise invalid_form(where, "Must be between 1 and 100 in length.")
        _check_locales(choice, f"{path}.{i}")
        if isinstance(choice.get("value"), str) and len(choice["value"]) > 100:
            raise invalid_form(f"{path}.{i}.value", "Must be 100 or fewer in length.")


def _check_modal(data: JSON) -> None:
    if not 1 <= len(data.get("title") or "") <= 45:
        raise invalid_form("data.title", "Must be between 1 and 45 in length.")
    components = data.get("components") or []
    if not 1 <= len(components) <= 5:
        raise invalid_form("data.components", "Must be between 1 and 5 in length.")
    for path, custom_id in _custom_ids(components, "data.components"):
        if not 1 <= len(custom_id) <= 100:
            raise invalid_form(f"{path}.custom_id", "Must be between 1 and 100 in length.")
    for i, top in enumerate(components):
        labelled = [top, *top.get("components", [])]
        for component in labelled:
            if len(component.get("label") or "") > 45:
                raise invalid_form(f"data.components.{i}.label", "Must be 45 or fewer in length.")


def _check_named(item: JSON, path: str) -> None:
    names = {None: item.get("name", ""), **(item.get("name_localizations") or {})}
    for locale, name in names.items():
        where = f"{path}.name" if locale is None else f"{path}.name_localizations.{locale}"
        if not COMMAND_NAME.match(name) or name != name.lower():
            raise invalid_form(where, "Command name is invalid")
    descriptions = {None: item.get("description"), **(item.get("description_localizations") or {})}
    for locale, description in descriptions.items():
        where = (
            f"{path}.description"
            if locale is None
            else f"{path}.description_localizations.{locale}"
        )
        if not 1 <= len(description or "") <= 100:
            raise invalid_form(where, "Must be between 1 and 100 in length.")
    _check_locales(item, path)


def _check_locales(item: JSON, path: str) -> None:
    for field in ("name_localizations", "description_localizations"):
        unknown = set(item.get(field) or {}) - LOCALES
        if unknown:
            raise invalid_form(f"{path}.{field}", f"Invalid locale(s): {sorted(unknown)}")


def _check_options(options: Sequence[JSON], path: str) -> None:
    if len(options) > 25:
        raise invalid_form(path, "Must be 25 or fewer in length.")
    optional_seen = False
    for i, option in enumerate(options):
        here = f"{path}.{i}"
        _check_named(option, here)
        if option["type"] in (1, 2):
            _check_options(option.get("options") or [], f"{here}.options")
            continue
        if option.get("required") and optional_seen:
            raise invalid_form(
                f"{here}.required", "Required options must be placed before non-required options"
            )
        optional_seen = optional_seen or not option.get("required")
        _check_choices(option.get("choices") or [], f"{here}.choices")
        _check_channel_types(option, f"{here}.channel_types")


def _check_channel_types(option: JSON, path: str) -> None:
    """Only a channel option narrows channel types, and only to types Discord has."""
    channel_types = option.get("channel_types")
    if channel_types is None:
        return
    if option["type"] != 7:
        raise invalid_form(path, "Channel types are only valid on channel options.")
    unknown = [kind for kind in channel_types if kind not in CHANNEL_TYPES]
    if unknown or len(set(channel_types)) != len(channel_types):
        raise invalid_form(path, f"Value {channel_types} is not a set of channel types.")
