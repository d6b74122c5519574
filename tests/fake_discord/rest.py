"""Discord's REST routes that discord.py 2.7 uses: login, command sync, interactions, messages."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fake_discord import rules
from tests.fake_discord.payloads import ATTACHMENT_SIZE_LIMIT
from tests.fake_discord.records import EPHEMERAL, LOADING, ApiError, Callback, Exchange, SentMessage
from tests.fake_discord.wire import (
    Refusal,
    json_response,
    read_json,
    read_message_body,
    snowflake_time,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tests.fake_discord.server import FakeDiscord

JSON = dict[str, Any]

API = "/api/v10"
SESSION_STARTS_PER_DAY = 1000
# Discord authenticates these by the interaction token in the path, not the bot token.
TOKEN_ROUTES = (f"{API}/interactions/", f"{API}/webhooks/")
# An edit may change these flags: suppress embeds, components v2.
EDITABLE_FLAGS = 4 | 32768


class Rest:
    """Answer discord.py's HTTP requests from the fake's state, with Discord's status codes."""

    def __init__(self, fake: FakeDiscord) -> None:
        self._fake = fake

    def routes(self) -> list[web.RouteDef]:
        commands = f"{API}/applications/{{application_id}}/commands"
        guild_commands = f"{API}/applications/{{application_id}}/guilds/{{guild_id}}/commands"
        webhook = f"{API}/webhooks/{{application_id}}/{{token}}"
        channel_message = f"{API}/channels/{{channel_id}}/messages/{{message_id}}"
        return [
            web.get(f"{API}/users/@me", self.current_user),
            web.get(f"{API}/oauth2/applications/@me", self.application),
            web.get(f"{API}/gateway", self.gateway),
            web.get(f"{API}/gateway/bot", self.gateway_bot),
            web.put(commands, self.put_commands),
            web.get(commands, self.get_commands),
            web.put(guild_commands, self.put_commands),
            web.get(guild_commands, self.get_commands),
            web.post(f"{API}/interactions/{{interaction_id}}/{{token}}/callback", self.callback),
            web.post(webhook, self.followup),
            web.get(f"{webhook}/messages/{{message_id}}", self.get_webhook_message),
            web.patch(f"{webhook}/messages/{{message_id}}", self.edit_webhook_message),
            web.delete(f"{webhook}/messages/{{message_id}}", self.delete_webhook_message),
            web.post(f"{API}/channels/{{channel_id}}/messages", self.post_channel_message),
            web.get(channel_message, self.get_channel_message),
            web.patch(channel_message, self.edit_channel_message),
            web.delete(channel_message, self.delete_channel_message),
            web.post(f"{API}/users/@me/channels", self.open_dm),
        ]

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Check the bot token, and answer refusals and unknown routes as Discord's JSON errors."""
        route = request.match_info.route.resource
        where = f"{request.method} {route.canonical if route else request.path}"
        self._fake.requests[where] += 1
        try:
            path = request.path
            bot_route = path.startswith(API) and not path.startswith(TOKEN_ROUTES)
            if bot_route and request.headers.get("Authorization") != f"Bot {self._fake.token}":
                raise Refusal(401, 0, "401: Unauthorized")
            if (limited := self._fake.rate_limits.answer(request)) is not None:
                return limited
            return await handler(request)
        except Refusal as refusal:
            self._fake.errors.append(ApiError(refusal.status, refusal.code, refusal.message, where))
            return refusal.response()
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            self._fake.unhandled.append(f"{request.method} {request.path}")
            return Refusal(404, 0, "404: Not Found").response()

    # Login

    async def current_user(self, request: web.Request) -> web.Response:
        me = self._fake.bot.to_json() | {"verified": True, "mfa_enabled": False, "flags": 0}
        return json_response(me)

    async def application(self, request: web.Request) -> web.Response:
        fake = self._fake
        return json_response(
            {
                "id": str(fake.application_id),
                "name": fake.bot.name,
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": {**fake.bot.to_json(), "id": "1", "username": "owner", "bot": False},
                "verify_key": "0" * 64,
                "flags": fake.application_flags,
                "team": None,
                "bot": fake.bot.to_json(),
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "tags": [],
            }
        )

    async def gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self._fake.gateway_url})

    async def gateway_bot(self, request: web.Request) -> web.Response:
        """What the bot may start: `max_concurrency` sessions per 5 s, one per bucket."""
        gateway = self._fake.gateway
        limit = {
            "total": SESSION_STARTS_PER_DAY,
            "remaining": max(0, SESSION_STARTS_PER_DAY - gateway.identify_count),
            "reset_after": 86_400_000,
            "max_concurrency": gateway.max_concurrency,
        }
        return json_response(
            {"url": self._fake.gateway_url, "shards": 1, "session_start_limit": limit}
        )

    # Command sync

    async def put_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        return json_response(self._fake.commands.overwrite(scope, await read_json(request)))

    async def get_commands(self, request: web.Request) -> web.Response:
        return json_response(self._fake.commands.synced(self._scope(request)))

    def _scope(self, request: web.Request) -> int | None:
        if int(request.match_info["application_id"]) != self._fake.application_id:
            raise Refusal(403, 50001, "Missing Access")
        guild_id = request.match_info.get("guild_id")
        if guild_id is None:
            return None
        if not self._fake.bot_is_in(int(guild_id)):
            raise Refusal(403, 50001, "Missing Access")
        return int(guild_id)

    # Interactions

    async def callback(self, request: web.Request) -> web.Response:
        exchange = self._fake.exchange(request.match_info["token"])
        if exchange is None or exchange.id != int(request.match_info["interaction_id"]):
            raise Refusal(404, 10062, "Unknown interaction")
        with exchange.recording_refusals("POST /interactions/{id}/{token}/callback"):
            body = await read_json(request)
            elapsed = asyncio.get_running_loop().time() - exchange.dispatched_at
            if exchange.callback is not None:
                raise Refusal(400, 40060, "Interaction has already been acknowledged.")
            if elapsed > exchange.deadline:
                raise Refusal(404, 10062, "Unknown interaction")
            rules.check_callback(exchange.type, body)
            kind, data = body["type"], body.get("data") or {}
            message = self._callback_message(exchange, kind, data)
            original_id = message.id if message else _component_message_id(exchange)
            exchange.accept(Callback(kind, data, elapsed), original_id)
            if message is not None:
                exchange.keep(message)
        if not _query_flag(request, "with_response"):
            return web.Response(status=204)
        return json_response(self._callback_response(exchange, kind, message))

    def _callback_message(self, exchange: Exchange, kind: int, data: JSON) -> SentMessage | None:
        if kind == 4:
            return self._new_message(exchange.channel_id, data)
        if kind == 5:
            thinking = {"flags": LOADING | (data.get("flags", 0) & EPHEMERAL)}
            return self._new_message(
                exchange.channel_id, thinking, flags_allowed=LOADING | EPHEMERAL
            )
        if kind == 7:
            message_id = _component_message_id(exchange)
            assert message_id is not None, "a component interaction always carries its message"
            return self._edit(self._message(message_id), data)
        return None

    def _callback_response(
        self, exchange: Exchange, kind: int, message: SentMessage | None
    ) -> JSON:
        """The InteractionCallbackResponse Discord returns for `?with_response=true`."""
        interaction: JSON = {
            "id": str(exchange.id),
            "type": exchange.type,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": message is not None and message.ephemeral,
        }
        resource: JSON = {"type": kind}
        if message is not None:
            interaction["response_message_id"] = str(message.id)
            resource["message"] = self.message_json(message)
        return {"interaction": interaction, "resource": resource}

    async def followup(self, request: web.Request) -> web.Response:
        exchange = self._webhook_exchange(request)
        with exchange.recording_refusals("POST /webhooks/{application_id}/{token}"):
            self._check_alive(exchange)
            body, files = await read_message_body(request, _size_limit(exchange))
            rules.check_message(body)
            original = exchange.original
            if original is not None and original.loading:
                # The first follow-up fills the deferral, which keeps its own visibility.
                message = replace(self._edit(original, body), files=tuple(files))
            else:
                message = replace(self._new_message(exchange.channel_id, body), files=tuple(files))
            exchange.keep(message)
        if not _query_flag(request, "wait"):
            return web.Response(status=204)
        return json_response(self.message_json(message))

    async def get_webhook_message(self, request: web.Request) -> web.Response:
        exchange = self._webhook_exchange(request)
        with exchange.recording_refusals("GET /webhooks/{application_id}/{token}/messages/{id}"):
            self._check_alive(exchange)
            message = self._exchange_message(exchange, request.match_info["message_id"])
        return json_response(self.message_json(message))

    async def edit_webhook_message(self, request: web.Request) -> web.Response:
        exchange = self._webhook_exchange(request)
        with exchange.recording_refusals("PATCH /webhooks/{application_id}/{token}/messages/{id}"):
            self._check_alive(exchange)
            message = self._exchange_message(exchange, request.match_info["message_id"])
            body, files = await read_message_body(request, _size_limit(exchange))
            edited = self._edit(message, body)
            if files:
                edited = replace(edited, files=tuple(files))
            exchange.keep(edited)
        return json_response(self.message_json(edited))

    async def delete_webhook_message(self, request: web.Request) -> web.Response:
        exchange = self._webhook_exchange(request)
        with exchange.recording_refusals("DELETE /webhooks/{application_id}/{token}/messages/{id}"):
            self._check_alive(exchange)
            message = self._exchange_message(exchange, request.match_info["message_id"])
            exchange.keep(replace(message, deleted=True))
        return web.Response(status=204)

    def _webhook_exchange(self, request: web.Request) -> Exchange:
        exchange = self._fake.exchange(request.match_info["token"])
        if (
            exchange is None
            or int(request.match_info["application_id"]) != self._fake.application_id
        ):
            raise Refusal(404, 10015, "Unknown Webhook")
        return exchange

    def _check_alive(self, exchange: Exchange) -> None:
        """No webhook exists before Discord accepted a callback; the token dies after 15 minutes."""
        if exchange.callback is None:
            raise Refusal(404, 10015, "Unknown Webhook")
        age = asyncio.get_running_loop().time() - exchange.dispatched_at
        if age > self._fake.token_lifetime:
            raise Refusal(401, 50027, "Invalid Webhook Token")

    def _exchange_message(self, exchange: Exchange, message_id: str) -> SentMessage:
        wanted = exchange.original_id if message_id == "@original" else int(message_id)
        if wanted is None or (message_id != "@original" and not exchange.owns(wanted)):
            raise Refusal(404, 10008, "Unknown Message")
        return self._message(wanted)

    # Channels and DMs

    async def post_channel_message(self, request: web.Request) -> web.Response:
        channel_id = int(request.match_info["channel_id"])
        body = await read_json(request)
        self._fake.check_can_post(channel_id, embeds=bool(body.get("embeds")))
        rules.check_message(body)
        message = self._new_message(
            channel_id, body, flags_allowed=rules.SENDABLE_FLAGS & ~EPHEMERAL
        )
        self._fake.store.post(message)
        return json_response(self.message_json(message))

    async def get_channel_message(self, request: web.Request) -> web.Response:
        return json_response(self.message_json(self._channel_message(request)))

    async def edit_channel_message(self, request: web.Request) -> web.Response:
        edited = self._edit(self._channel_message(request), await read_json(request))
        self._fake.store.put(edited)
        return json_response(self.message_json(edited))

    async def delete_channel_message(self, request: web.Request) -> web.Response:
        self._fake.store.put(replace(self._channel_message(request), deleted=True))
        return web.Response(status=204)

    def _channel_message(self, request: web.Request) -> SentMessage:
        message = self._message(int(request.match_info["message_id"]))
        if message.channel_id != int(request.match_info["channel_id"]) or message.ephemeral:
            raise Refusal(404, 10008, "Unknown Message")
        return message

    async def open_dm(self, request: web.Request) -> web.Response:
        recipient = int((await read_json(request))["recipient_id"])
        return json_response(self._fake.dm_channel_json(recipient))

    # Messages

    def _message(self, message_id: int) -> SentMessage:
        message = self._fake.store.get(message_id)
        if message is None or message.deleted:
            raise Refusal(404, 10008, "Unknown Message")
        return message

    def _new_message(
        self, channel_id: int, body: JSON, flags_allowed: int = rules.SENDABLE_FLAGS
    ) -> SentMessage:
        return SentMessage(
            id=self._fake.snowflakes.next(),
            channel_id=channel_id,
            content=body.get("content") or "",
            embeds=body.get("embeds") or [],
            components=body.get("components") or [],
            flags=body.get("flags", 0) & flags_allowed,
            allowed_mentions=body.get("allowed_mentions"),
        )

    def _edit(self, message: SentMessage, changes: JSON) -> SentMessage:
        """Apply a PATCH (absent keys stay); an edit also fills a deferral's placeholder."""
        shown = {
            "content": message.content,
            "embeds": message.embeds,
            "components": message.components,
        }
        shown |= {key: changes[key] for key in shown if key in changes}
        rules.check_message(shown | {"attachments": changes.get("attachments")})
        flags = changes.get("flags", message.flags) & EDITABLE_FLAGS
        return replace(
            message,
            content=shown["content"] or "",
            embeds=shown["embeds"] or [],
            components=shown["components"] or [],
            flags=(message.flags & EPHEMERAL) | flags,
            allowed_mentions=changes.get("allowed_mentions"),
            edits=message.edits + 1,
        )

    def message_json(self, message: SentMessage) -> JSON:
        data: JSON = {
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "type": 0,
            "author": self._fake.bot.to_json(),
            "content": message.content,
            "timestamp": snowflake_time(message.id),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": message.embeds,
            "components": message.components,
            "flags": message.flags,
            "pinned": False,
        }
        guild_id = self._fake.guild_of(message.channel_id)
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
        return data


def _component_message_id(exchange: Exchange) -> int | None:
    message = exchange.payload.get("message")
    return None if message is None else int(message["id"])


def _size_limit(exchange: Exchange) -> int:
    """The upload limit Discord announced with the interaction."""
    return int(exchange.payload.get("attachment_size_limit", ATTACHMENT_SIZE_LIMIT))


def _query_flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true")
